#!/bin/sh
# params.sh EXPERIMENT — 003 Fig. 4d per seed: the coefficient trajectories
# of runs/EXPERIMENT-seed*/log.csv, each a moving average over 11 episodes
# (the paper's smoothing), with the paper's survivors F0, F2 and F9
# (theta[0], theta[2], theta[9]) bold and the seven others faint, into
# runs/EXPERIMENT-seedS/meta-params-survivors.svg.
set -eu
cd "$(dirname "$0")"
plastcc=../../build/plastcc
for dir in runs/"$1"-seed*; do
  [ -f "$dir/log.csv" ] || continue
  $plastcc curves --params "$dir" --out "$dir/meta-params-survivors.svg" --smooth 11 \
    --mark 'theta[0],theta[2],theta[9]' --title "$1 seed ${dir##*-seed}, F0 F2 F9 bold"
done
