#!/bin/sh
# survivors.sh EXPERIMENT [LAST] — which pool terms survive, per seed of
# runs/EXPERIMENT-seed*/log.csv, as CSV: each coefficient averaged over the
# last LAST (default 50) logged episodes and divided by the term's size
# relative to F0 at initialisation (the scales `scale theta auto` measures:
# 1, 1, 1, 0.2139, 0.6297, 0.0261, 1, 1, 1, 0.0634), so that the columns
# compare the terms' contributions to dw in units of F0's.  A term survives
# when its contribution is at least a tenth of F0's.
cd "$(dirname "$0")" || exit 1
exp=$1; last=${2:-50}
echo "seed,F0,F1,F2,F3,F4,F5,F6,F7,F8,F9,survivors"
for log in runs/"$exp"-seed*/log.csv; do
  seed=${log#runs/$exp-seed}; seed=${seed%/log.csv}
  awk -F, -v seed="$seed" -v last="$last" '
    BEGIN { split("1 1 1 0.2139 0.6297 0.0261 1 1 1 0.0634", sz, " ") }
    NR == 1 { for (c = 1; c <= NF; c++) if ($c ~ /^theta/) k[++nk] = c; next }
    { n++; ep[n] = $1; for (i = 1; i <= nk; i++) v[n, i] = $k[i] / sz[i] }
    END { for (j = 1; j <= n; j++) if (ep[j] > ep[n] - last) { m++; for (i = 1; i <= nk; i++) s[i] += v[j, i] }
          printf "%s", seed; surv = ""; f0 = s[1] / m; if (f0 < 0) f0 = -f0
          for (i = 1; i <= nk; i++) { a = s[i] / m; printf ",%.5f", a
            if (a >= 0.1 * f0 || a <= -0.1 * f0) surv = surv " F" (i - 1) }
          print "," surv }' "$log"
done | sort -n
