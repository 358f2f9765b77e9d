#!/bin/sh
# table.sh [BURN_IN] — Table 1 from the runs of this folder: for each
# experiment of table1.rule, the alignment angles alpha_0..alpha_2 (degrees)
# averaged over the episodes after BURN_IN (default 100), and the mean
# meta-accuracy over the same episodes, as a Markdown table.
cd "$(dirname "$0")" || exit 1
burn=${1:-100}
echo "| F0 (FA) on | F_eHebb on | alpha_0 | alpha_1 | alpha_2 | meta-accuracy | episodes |"
echo "|---|---|---|---|---|---|---|"
for e in fa_all ehebb_w2 ehebb_w3 ehebb_w12 ehebb_w23 ehebb_w13 ehebb_all; do
  log=runs/$e-seed1/log.csv
  [ -f "$log" ] || continue
  sets=$(sed -n "s/^experiment $e { *# F0 on \(.*\); F_eHebb on \(.*\)$/\1 | \2/p" table1.rule)
  awk -F, -v burn="$burn" -v sets="$sets" '
    NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; next }
    $1 >= burn { n++; acc += $col["meta_accuracy"]; for (l = 0; l < 3; l++) a[l] += $col["alpha_" l] }
    END { if (n) printf "| %s | %.1f | %.1f | %.1f | %.3f | %d |\n", sets, a[0]/n, a[1]/n, a[2]/n, acc/n, n }' "$log"
done
