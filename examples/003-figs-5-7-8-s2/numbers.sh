#!/bin/sh
# numbers.sh — per run, the means over the last 50 of 200 episodes of the
# meta-accuracy, the meta-loss, the alignment angles alpha_1..alpha_4, the
# orthonormality errors orth_1..orth_4 (Eq. 10) and the coefficients (empty
# where a run has no such column), and of the angles and errors over the
# first 10 episodes (`_first10`), as CSV; then per rule and source the mean
# and the standard deviation (n - 1) over its seeds (seed `mean`, `sd`).
# FA and F_bio's meta-accuracy comes from ../003-pool-l1 (five seeds, the
# same settings without diagnostics), their diagnostics from runs/ here.
# Episodes after the 200th (episode numbers 200 and up: they count from 0)
# are left out (the pool's runs there go on to 500).
cd "$(dirname "$0")" || exit 1
diag="alpha_1 alpha_2 alpha_3 alpha_4 orth_1 orth_2 orth_3 orth_4"
cols="meta_accuracy meta_loss $diag theta theta0 theta2 theta9"
pool=../003-pool-l1/runs
row() {  # row RULE DIR (a run still going, without learned.rule, is left out)
  [ -f "$2/learned.rule" ] || return 0
  seed=${2##*-seed}
  awk -F, -v rule="$1" -v src="${2%-seed*}" -v seed="$seed" -v cols="$cols" -v diag="$diag" '
    NR == 1 { for (c = 1; c <= NF; c++) at[$c] = c; next }
    $1 >= 200 { next }   # episodes count from 0: the first 200 are 0-199
    { n++; for (c = 1; c <= NF; c++) v[n, c] = $c }
    function mean(c, from, to,   s, k, r) { if (!c) return ""
      for (r = from; r <= to; r++) if (r >= 1 && r <= n) { s += v[r, c]; k++ }
      return sprintf("%.6g", s / k) }
    END { nc = split(cols, name, " "); nd = split(diag, dn, " "); printf "%s,%s,%s", rule, src, seed
          for (i = 1; i <= nc; i++) printf ",%s", mean(at[name[i]], n - 49, n)
          for (i = 1; i <= nd; i++) printf ",%s", mean(at[dn[i]], 1, 10)
          print "" }' "$2/log.csv"
}
echo "rule,source,seed,$(echo $cols | tr ' ' ','),$(echo $diag | sed 's/ /_first10 /g; s/$/_first10/' | tr ' ' ',')" |
  sed 's/meta_accuracy/accuracy_last50/; s/meta_loss/loss_last50/'
{
  for d in runs/ehebb-seed*; do row F_eHebb "$d"; done
  for d in runs/oja-seed*; do row F_Oja "$d"; done
  for d in runs/bp-seed*; do row BP "$d"; done
  for d in $pool/fa-seed*; do row FA "$d"; done
  for d in runs/fa-seed*; do row FA "$d"; done
  for d in $pool/bio-seed*; do row F_bio "$d"; done
  for d in runs/bio-seed*; do row F_bio "$d"; done
  for d in $pool/pool_prox_sumsyn-seed*; do row pool "$d"; done
} | sort -t, -k1,2 -k3n | tee /tmp/numbers.$$
awk -F, '{ g = $1 "," $2; if (!(g in n)) order[++ng] = g; n[g]++
           for (c = 4; c <= NF; c++) if ($c != "") { s[g, c] += $c; ss[g, c] += $c * $c; k[g, c]++ }; nf = NF }
  END { for (i = 1; i <= ng; i++) { g = order[i]; m = g ",mean"; d = g ",sd"
          for (c = 4; c <= nf; c++) {
            if (!k[g, c]) { m = m ","; d = d ","; continue }
            mu = s[g, c] / k[g, c]; var = k[g, c] > 1 ? (ss[g, c] - k[g, c] * mu * mu) / (k[g, c] - 1) : 0
            m = m sprintf(",%.6g", mu); d = d sprintf(",%.6g", var > 0 ? sqrt(var) : 0) }
          print m; print d } }' /tmp/numbers.$$
rm -f /tmp/numbers.$$
