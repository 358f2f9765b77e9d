#!/usr/bin/env bash
# run-example.sh FOLDER EXPERIMENT [SEED...] — runs one experiment of an
# example folder for each seed (default 1), into FOLDER/runs/EXPERIMENT-seedS,
# with `plastcc run` from build/.  EPISODES=N overrides the episode count.
set -euo pipefail
cd "$(dirname "$0")/.."
folder=$1; exp=$2; shift 2
seeds=${*:-1}
rule=$(ls "examples/$folder"/*.rule | head -1)
for s in $seeds; do
  out="examples/$folder/runs/$exp-seed$s"
  extra=()
  [ -n "${EPISODES:-}" ] && extra+=(--episodes "$EPISODES")
  build/plastcc run "$rule" --experiment "$exp" --seed "$s" --out "$out" --force --threads "${THREADS:-1}" --quiet "${extra[@]}"
done
