#!/bin/sh
# seeds.sh EXPERIMENT [LAST] [UPTO] — per seed, the mean meta-accuracy over the last
# LAST (default 50) episodes of runs/EXPERIMENT-seed*/log.csv, of its first
# UPTO episodes when given (a run continued to 500 still gives its numbers
# at 200: seeds.sh EXPERIMENT 50 200) (episodes a
# `nonfinite skip` run skipped are not in the log: `finite` counts those
# that are), as CSV on stdout, then a line `mean,sd` over the seeds.
cd "$(dirname "$0")" || exit 1
exp=$1; last=${2:-50}; upto=${3:-0}
echo "experiment,seed,mean_accuracy_last$last,finite_episodes,last_episode"
for log in runs/"$exp"-seed*/log.csv; do
  [ -f "$log" ] || continue
  seed=${log#runs/$exp-seed}; seed=${seed%/log.csv}
  awk -F, -v ex="$exp" -v seed="$seed" -v last="$last" -v upto="$upto" '
    NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; n = 1; next }
    upto > 0 && $1 >= upto { next }
    { n++; ep[n] = $1; acc[n] = $col["meta_accuracy"] }
    END { end = ep[n]; s = 0; k = 0
          for (i = 2; i <= n; i++) if (ep[i] > end - last) { s += acc[i]; k++ }
          printf "%s,%s,%.4f,%d,%d\n", ex, seed, k ? s / k : 0, n - 1, end }' "$log"
done | sort -t, -k2n | tee /tmp/seeds.$$ 
awk -F, '{ x[NR] = $3; s += $3 } END { m = s / NR; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2
  sd = (NR > 1) ? sqrt(v / (NR - 1)) : 0; printf "mean,sd,%.4f,%.4f,n=%d\n", m, sd, NR }' /tmp/seeds.$$
rm -f /tmp/seeds.$$
