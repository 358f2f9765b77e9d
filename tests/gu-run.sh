#!/bin/sh
# gu-run.sh — Gu et al. experiments through the command line: plastcc run
# meta-trains a rule with top-down and lateral projections on random
# two-moons tasks whose batches mix labelled and unlabelled samples, the same
# bits on 1 and 2 threads; plastcc eval scores it on new two-moons and
# two-Gaussian tasks with curves against labelled samples seen and draws the
# first task's decision regions.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
cat > "$work/gu.rule" <<EOR
import "$top_srcdir/rules/gu.rule";
model small { input 2; dense 6 tanh; dense 2 softmax; loss cross_entropy; feedback none; init lecun; topdown; lateral; }
experiment ssl {
  model small; rule gu; data moons random noise 0.1; tasks ways 2 train 3 query 20;
  inner batch 8 steps 6 unlabelled 5; meta adam lr 1e-3 episodes 3 batch 2; seed 4;
}
experiment ssl_gaussians {
  model small; rule gu; data gaussians random; tasks ways 2 train 3 query 20;
  inner batch 8 steps 6 unlabelled 5; seed 4;
}
EOR
for t in 1 2; do
  "$PLASTCC" run "$work/gu.rule" --experiment ssl --out "$work/r$t" --threads $t --quiet >/dev/null 2>&1 ||
    bad "plastcc run on $t threads"
done
[ "$(wc -l < "$work/r1/log.csv")" = 4 ] || bad "log.csv has not 3 episodes"
cmp -s "$work/r1/meta-state.txt" "$work/r2/meta-state.txt" || bad "1 and 2 threads give different meta-states"
grep -q 'dw topdown = ' "$work/r1/learned.rule" || bad "learned.rule lacks the rule's dw topdown"
echo "run: 3 episodes of random two-moons tasks with unlabelled samples, the same meta-state on 1 and 2 threads"

for x in ssl ssl_gaussians; do
  "$PLASTCC" eval "$work/gu.rule" --experiment $x --tasks 4 --curve-every 2 --out "$work/e-$x" --quiet \
      --boundary "$work/e-$x/boundary.svg" >/dev/null 2>&1 || { bad "plastcc eval $x"; continue; }
  for f in summary.csv curve.csv boundary.svg curve-accuracy.svg; do [ -s "$work/e-$x/$f" ] || bad "eval $x: no $f"; done
  # a point every 2 steps of 3 labelled (8 - 5) samples: labelled_seen 0, 6, 12, 18
  seen=$(awk -F, 'NR > 1 { printf "%s ", $3 }' "$work/e-$x/curve.csv")
  [ "$seen" = "0 6 12 18 " ] || bad "eval $x: labelled_seen is '$seen'"
  grep -q 'labelled training samples seen' "$work/e-$x/curve-accuracy.svg" || bad "eval $x: the chart's axis"
  grep -q "$x, task" "$work/e-$x/boundary.svg" || bad "eval $x: the boundary's title"
  [ "$(grep -c '<circle' "$work/e-$x/boundary.svg")" = 88 ] || bad "eval $x: 48 training (6 steps of 8) + 40 query samples drawn"
done
echo "eval: two-moons and two-Gaussian tasks, curves against labelled samples seen, the first task's boundary"

# --compare: this evaluation's curves beside another's, labelled by folder
"$PLASTCC" eval "$work/gu.rule" --experiment ssl --tasks 2 --curve-every 2 --out "$work/c" --quiet \
    --compare "$work/e-ssl_gaussians" >/dev/null 2>&1 || bad "plastcc eval --compare"
for f in compare-accuracy.svg compare-train-loss.svg; do
  [ "$(grep -c '<polyline' "$work/c/$f" 2>/dev/null)" -ge 2 ] || bad "--compare: $f has not two curves"
  grep -q '">e-ssl_gaussians</text>' "$work/c/$f" || bad "--compare: $f lacks the label e-ssl_gaussians"
done
"$PLASTCC" eval "$work/gu.rule" --experiment ssl --tasks 2 --out "$work/c2" --quiet --compare "$work/none" \
    >/dev/null 2>"$work/err" && bad "--compare of a missing folder succeeded"
grep -q 'cannot read .*none/curve.csv' "$work/err" || bad "--compare of a missing folder: $(cat "$work/err")"
echo "eval --compare: two evaluations' curves in one chart"
exit $fail
