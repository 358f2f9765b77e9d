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
"$PLASTCC" check "$top_srcdir/examples/002-gu-ssl/gu-ssl.rule" > /dev/null || bad "examples/002-gu-ssl/gu-ssl.rule does not check"
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

# --compare NAME=DIR: runs of one name make one curve, the mean over the runs
# and the standard error over them: accuracies 0.6 and 0.8 -> 0.7 +- 0.1,
# 0.5 and 0.9 -> 0.7 +- 0.2; losses 1 and 2 -> 1.5 +- 0.5
fake() {   # fake DIR ACC0 ACC1 LOSS [POINTS]
  mkdir -p "$1"
  { echo "steps,samples_seen,labelled_seen,query_loss_mean,query_loss_se,query_accuracy_mean,query_accuracy_se,train_loss_mean,train_loss_se,train_accuracy_mean,train_accuracy_se"
    for k in $(seq 0 $((${5:-4} - 1))); do
      acc=$2; [ $k -ge 1 ] && acc=$3
      echo "$((2 * k)),$((16 * k)),$((6 * k)),0.5,0.01,$acc,0.05,$4,0.02,0.9,0.01"
    done; } > "$1/curve.csv"
}
fake "$work/f1" 0.6 0.5 1; fake "$work/f2" 0.8 0.9 2; fake "$work/f3" 0.8 0.9 2 3
"$PLASTCC" eval "$work/gu.rule" --experiment ssl --tasks 2 --curve-every 2 --out "$work/g" --quiet --label mine \
    --compare "A=$work/f1" --compare "A=$work/f2" >/dev/null 2>"$work/err" || bad "eval --compare A=DIR: $(cat "$work/err")"
got=$(awk -F, '$1 == "A" { printf "%s %s %g %g %g %g;", $2, $3, $4, $5, $6, $7 }' "$work/g/compare.csv")
[ "$got" = "2 0 0.7 0.1 1.5 0.5;2 6 0.7 0.2 1.5 0.5;2 12 0.7 0.2 1.5 0.5;2 18 0.7 0.2 1.5 0.5;" ] ||
  bad "--compare A=f1 A=f2: compare.csv has '$got'"
[ "$(awk -F, '$1 == "mine"' "$work/g/compare.csv" | wc -l)" = 4 ] || bad "--label mine: no curve named mine"
grep -q 'standard error over the runs of a method' "$work/g/compare-accuracy.svg" || bad "grouped chart's title"
[ "$(grep -c '<polyline' "$work/g/compare-accuracy.svg")" -ge 2 ] || bad "grouped chart: not two curves"
"$PLASTCC" eval "$work/gu.rule" --experiment ssl --tasks 2 --curve-every 2 --out "$work/g2" --quiet \
    --compare "A=$work/f1" --compare "A=$work/f3" >/dev/null 2>"$work/err" && bad "runs of 4 and 3 points merged"
grep -q "the runs named 'A' have curves of 4 and 3 points" "$work/err" || bad "runs of other points: $(cat "$work/err")"
echo "eval --compare NAME=DIR: the runs of a name merged (mean and standard error over them), compare.csv"
exit $fail
