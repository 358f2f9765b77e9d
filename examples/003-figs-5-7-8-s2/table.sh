#!/bin/sh
# table.sh — the README's tables from numbers.csv (run.sh writes it): per
# rule and source, the per-seed values and the mean +- sd over the seeds
# (one seed: its value) of the last 50 episodes' meta-accuracy, meta-loss,
# alignment angles, orthonormality errors and coefficients (the angles and
# errors as the mean of the first 10 episodes -> the last 50's, +- sd).
cd "$(dirname "$0")" || exit 1
awk -F, '
  NR == 1 { for (c = 1; c <= NF; c++) name[c] = $c; nf = NF; next }
  $3 == "mean" { g = $1 "," $2; for (c = 4; c <= nf; c++) mu[g, c] = $c; next }
  $3 == "sd"   { g = $1 "," $2; for (c = 4; c <= nf; c++) sd[g, c] = $c; next }
  { g = $1 "," $2; if (!(g in n)) { order[++ng] = g; rule[g] = $1; src[g] = $2 }
    n[g]++; seeds[g] = seeds[g] (n[g] > 1 ? ", " : "") $3
    for (c = 4; c <= nf; c++) per[g, c] = per[g, c] (n[g] > 1 ? ", " : "") ($c == "" ? "" : sprintf("%.3f", $c)) }
  function ms(g, c, f) { return mu[g, c] == "" ? "" : n[g] == 1 ? sprintf(f, mu[g, c]) : sprintf(f " +- " f, mu[g, c], sd[g, c]) }
  function has(g, c) { return mu[g, c] != "" }
  END {
    print "| rule | runs | seeds | meta-accuracy per seed | meta-accuracy | meta-loss |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= ng; i++) { g = order[i]
      printf "| %s | `%s` | %s | %s | **%s** | %s |\n", rule[g], src[g], seeds[g], per[g, 4], ms(g, 4, "%.3f"), ms(g, 5, "%.3f") }
    print ""
    for (t = 0; t < 2; t++) {
      printf "| rule | runs | seeds"; for (l = 1; l <= 4; l++) printf " | %s_%d", t ? "orth" : "alpha", l; print " |"
      print "|---|---|---|---|---|---|---|"
      for (i = 1; i <= ng; i++) { g = order[i]; if (!has(g, 6)) continue
        printf "| %s | `%s` | %s", rule[g], src[g], seeds[g]
        for (l = 0; l < 4; l++) printf " | %s -> %s", sprintf("%.1f", mu[g, 18 + 4 * t + l]), ms(g, 6 + 4 * t + l, "%.1f")
        print " |" }
      print "" }
    print "| rule | runs | seeds | theta (F0 alone) | theta0 | theta2 | theta9 |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= ng; i++) { g = order[i]; if (src[g] ~ /pool_prox/) continue
      printf "| %s | `%s` | %s", rule[g], src[g], seeds[g]
      for (c = 14; c <= 17; c++) printf " | %s", ms(g, c, "%.4f")
      print " |" } }' numbers.csv
