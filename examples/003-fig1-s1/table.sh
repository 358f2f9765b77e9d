#!/bin/sh
# table.sh — the numbers of Figs. 1 and S1 from runs/*/ (run.sh writes them):
# per rule, over the evaluation's tasks (mean +- sd; the per-task values are
# in runs/NAME/tasks.csv), the query accuracy after 500, 1000 and all
# training samples, the alignment angles alpha_1..alpha_4 (degrees) and the
# orthonormality errors orth_1..orth_4 at the end of the stream, as Markdown;
# then the angles along the stream (curve.csv).
cd "$(dirname "$0")" || exit 1
echo "| rule | tasks | acc. at 500 | acc. at 1000 | acc. at end (mean +- sd) | alpha_1 | alpha_2 | alpha_3 | alpha_4 | orth_1 | orth_2 | orth_3 | orth_4 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in fa dfa bp bio; do
  [ -f runs/$r/tasks.csv ] || continue
  at() { awk -F, -v s="$1" 'NR > 1 && $2 == s { printf "%.3f", $6 }' runs/$r/curve.csv; }
  a500=$(at 500); a1000=$(at 1000)
  awk -F, -v r="$r" -v a500="$a500" -v a1000="$a1000" '
    NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; next }
    { n++; for (c in col) { x = $col[c]; s[c] += x; q[c] += x * x } }
    function ms(c,  m, v) { m = s[c] / n; v = n > 1 ? (q[c] - n * m * m) / (n - 1) : 0; if (v < 0) v = 0
                            return sprintf("%.3f +- %.3f", m, sqrt(v)) }
    function m1(c, f) { return sprintf(f, s[c] / n) }
    END { printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r, n, a500, a1000,
            ms("query_accuracy"), m1("alpha_1", "%.1f"), m1("alpha_2", "%.1f"), m1("alpha_3", "%.1f"),
            m1("alpha_4", "%.1f"), m1("orth_1", "%.3g"), m1("orth_2", "%.3g"), m1("orth_3", "%.3g"), m1("orth_4", "%.3g") }' runs/$r/tasks.csv
done

# The angles along the stream (Figs. 1b, S1b; runs/NAME/curve.csv): per rule
# and layer, alpha_l (degrees, mean over the tasks) after 0, 500, ..., 3000
# training samples.
echo
echo "| rule | layer | 0 | 500 | 1000 | 1500 | 2000 | 2500 | 3000 |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in fa dfa bp bio; do
  [ -f runs/$r/curve.csv ] || continue
  awk -F, -v r="$r" '
    NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; next }
    $2 % 500 == 0 { n++; s[n] = $2; for (l = 1; l <= 4; l++) a[l, n] = $col["alpha_" l "_mean"] }
    END { for (l = 1; l <= 4; l++) { printf "| %s | %d |", r, l
            for (i = 1; i <= n; i++) printf " %.1f |", a[l, i]
            print "" } }' runs/$r/curve.csv
done
