#!/bin/sh
# table.sh [BURN_IN] — Table 1 from the runs of this folder: for each
# experiment of table1.rule and each seed of runs/EXPERIMENT-seedS, the
# alignment angles alpha_0..alpha_2 (degrees) averaged over the episodes
# after BURN_IN (default 100) and the mean meta-accuracy over the same
# episodes, written to seeds.csv; then, on stdout, the table as Markdown:
# mean +- standard deviation (n - 1) over the seeds.
cd "$(dirname "$0")" || exit 1
burn=${1:-100}
tmp=$(mktemp seeds.csv.XXXXXX) || exit 1
trap 'rm -f "$tmp"' EXIT
echo "experiment,seed,alpha_0,alpha_1,alpha_2,meta_accuracy,episodes" > "$tmp"
for e in fa_all ehebb_w2 ehebb_w3 ehebb_w12 ehebb_w23 ehebb_w13 ehebb_all; do
  for log in runs/$e-seed*/log.csv; do
    [ -f "$log" ] || continue
    seed=${log#runs/$e-seed}; seed=${seed%/log.csv}
    awk -F, -v burn="$burn" -v e="$e" -v seed="$seed" '
      NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; next }
      $1 >= burn { n++; acc += $col["meta_accuracy"]; for (l = 0; l < 3; l++) a[l] += $col["alpha_" l] }
      END { if (n) printf "%s,%s,%.2f,%.2f,%.2f,%.4f,%d\n", e, seed, a[0]/n, a[1]/n, a[2]/n, acc/n, n }' "$log"
  done | sort -t, -k2n >> "$tmp"
done
mv "$tmp" seeds.csv
echo "| F0 (FA) on | F_eHebb on | alpha_0 | alpha_1 | alpha_2 | meta-accuracy | seeds |"
echo "|---|---|---|---|---|---|---|"
for e in fa_all ehebb_w2 ehebb_w3 ehebb_w12 ehebb_w23 ehebb_w13 ehebb_all; do
  sets=$(sed -n "s/^experiment $e { *# F0 on \(.*\); F_eHebb on \(.*\)$/\1 | \2/p" table1.rule)
  awk -F, -v e="$e" -v sets="$sets" '
    $1 == e { n++; for (c = 3; c <= 6; c++) { x[n, c] = $c; s[c] += $c } }
    END { if (!n) exit
          printf "| %s", sets
          for (c = 3; c <= 6; c++) { m = s[c] / n; v = 0; for (i = 1; i <= n; i++) v += (x[i, c] - m) ^ 2
            sd = n > 1 ? sqrt(v / (n - 1)) : 0
            if (c < 6) printf " | %.1f +- %.1f", m, sd; else printf " | %.3f +- %.3f", m, sd }
          printf " | %d |\n", n }' seeds.csv
done
