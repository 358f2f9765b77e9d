#!/bin/sh
# analyze.sh — plastcc analyze: a rule of known form is fitted exactly
# (R^2 = 1, its coefficients to 1e-9), the mean of two files is the mean of
# their rules, the fit is a rule plastcc checks and trains with, and a rule
# reading more than pre.y, w and post.y is refused.
set -u
rules=$top_srcdir/tests/runtime/analyze/known.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$PLASTCC" analyze "$rules" --rule known --out "$work/k" --grid 11 > "$work/k.out" || { cat "$work/k.out"; bad "analyze known"; }
for f in grid.csv slice-pre.svg slice-w.svg slice-post.svg fit.csv fit.rule; do [ -s "$work/k/$f" ] || bad "no $f"; done
[ "$(($(wc -l < "$work/k/grid.csv") - 1))" -eq 1331 ] || bad "grid.csv: $(wc -l < "$work/k/grid.csv") lines, expected 1 + 11^3"
awk -F, 'BEGIN { want["1"] = 0.5; want["post.y"] = 2; want["pre.y*w"] = -0.3; want["w^2"] = 0.25 }
  NR > 1 && $1 != "r2" && $1 !~ /^r2_/ { d = $2 - want[$1]; if (d > 1e-9 || d < -1e-9) { print "coefficient " $1 " = " $2; bad = 1 } }
  $1 == "r2" && ($2 < 1 - 1e-12) { print "R^2 = " $2; bad = 1 }
  END { exit bad }' "$work/k/fit.csv" || bad "the fit of a known quadratic"
"$PLASTCC" check "$work/k/fit.rule" > /dev/null || bad "fit.rule does not check"
echo "known quadratic: R^2 = $(sed -n 's/^r2,//p' "$work/k/fit.csv"), its four coefficients to 1e-9"

# the mean of two files: known and a copy of half renamed known
sed 's/rule half /rule known2 /; s/rule known /rule half2 /; s/rule known2 /rule known /' "$rules" > "$work/other.rule"
"$PLASTCC" analyze "$rules" "$work/other.rule" --rule known --out "$work/m" --grid 5 > /dev/null || bad "analyze, two files"
"$PLASTCC" analyze "$work/other.rule" --rule known --out "$work/o" --grid 5 > /dev/null || bad "analyze other"
"$PLASTCC" analyze "$rules" --rule known --out "$work/k5" --grid 5 > /dev/null || bad "analyze known, grid 5"
paste -d, "$work/k5/grid.csv" "$work/o/grid.csv" "$work/m/grid.csv" |
  awk -F, 'NR > 1 { d = ($4 + $8) / 2 - $12; if (d > 1e-15 || d < -1e-15) bad = 1 } END { exit bad }' ||
  bad "the two files' grid is not the mean of each"
echo "two files: their pointwise mean"

# the fit runs: a joint experiment with it
cat > "$work/run.rule" <<EOR
import "k/fit.rule";
import "$rules";
experiment with_fit { model learner; rule known_fit; updates forward; data blobs n 300 centers 3 project 8;
                      train joint batches 5; inner batch 10; seed 2; }
EOR
"$PLASTCC" run "$work/run.rule" --out "$work/r" --quiet > /dev/null 2>&1 || bad "the fit does not train"
echo "fit.rule trains: $(sed -n 's/^batches //p' "$work/r/run.txt") minibatches"

# refusals
"$PLASTCC" analyze "$rules" --rule reads_e --out "$work/e" 2> "$work/e.err" && bad "a rule reading e was analysed"
grep -q "analyze evaluates rules of pre.y, w and post.y; reads_e_fwd reads 'post_e'" "$work/e.err" ||
  { cat "$work/e.err"; bad "no message for a rule reading e"; }
"$PLASTCC" analyze "$rules" --rule nosuch --out "$work/e" 2> "$work/n.err" && bad "a missing rule was analysed"
grep -q "has no rule 'nosuch'" "$work/n.err" || bad "no message for a missing rule"
"$PLASTCC" analyze "$rules" --rule known --out "$work/e" --w 1:0 2> /dev/null; [ $? -eq 2 ] || bad "an empty range is not a usage error"
echo "refused: a rule reading e, a missing rule, an empty range"
exit $fail
