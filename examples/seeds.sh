#!/bin/sh
# seeds.sh FOLDER EXPERIMENT [LAST] [UPTO] — per seed, the mean meta-accuracy
# over the last LAST (default 50) episodes of
# examples/FOLDER/runs/EXPERIMENT-seed*/log.csv, of its first UPTO episodes
# when given (a run continued to 500 still gives its numbers at 200:
# seeds.sh 003-pool-l1 EXPERIMENT 50 200) (episodes a `nonfinite skip` run
# skipped are not in the log: `finite` counts those that are), and the final
# value of each log column named in $PARAMS (e.g. PARAMS=theta), as CSV on
# stdout, then a line `mean,sd` over the seeds for each numeric column.
cd "$(dirname "$0")/$1" || exit 1
exp=$2; last=${3:-50}; upto=${4:-0}
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
hdr="experiment,seed,mean_accuracy_last$last,finite_episodes,last_episode"
for p in ${PARAMS:-}; do hdr="$hdr,$p"; done
echo "$hdr"
for log in runs/"$exp"-seed*/log.csv; do
  [ -f "$log" ] || continue
  seed=${log#runs/$exp-seed}; seed=${seed%/log.csv}
  awk -F, -v ex="$exp" -v seed="$seed" -v last="$last" -v upto="$upto" -v params="${PARAMS:-}" '
    NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; n = 1; np = split(params, pn, " ")
              for (k = 1; k <= np; k++) if (!(pn[k] in col)) { printf "seeds.sh: %s has no column %s\n", FILENAME, pn[k] > "/dev/stderr"; exit 1 }
              next }
    upto > 0 && $1 >= upto { next }
    { n++; ep[n] = $1; acc[n] = $col["meta_accuracy"]; for (k = 1; k <= np; k++) pv[k] = $col[pn[k]] }
    END { if (n < 2) exit; end = ep[n]; s = 0; c = 0
          for (i = 2; i <= n; i++) if (ep[i] > end - last) { s += acc[i]; c++ }
          printf "%s,%s,%.4f,%d,%d", ex, seed, c ? s / c : 0, n - 1, end
          for (k = 1; k <= np; k++) printf ",%.6g", pv[k]
          printf "\n" }' "$log" || exit 1
done | sort -t, -k2n | tee "$tmp"
awk -F, '{ for (c = 3; c <= NF; c++) { x[NR, c] = $c; s[c] += $c } nf = NF }
  END { printf "mean,sd"
        for (c = 3; c <= nf; c++) { if (c == 4 || c == 5) continue
          m = s[c] / NR; v = 0; for (i = 1; i <= NR; i++) v += (x[i, c] - m) ^ 2
          sd = NR > 1 ? sqrt(v / (NR - 1)) : 0; printf ",%.4g,%.4g", m, sd }
        printf ",n=%d\n", NR }' "$tmp"
