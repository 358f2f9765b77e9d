#!/bin/sh
# alignment.sh — the alignment angles and orthonormality errors of 003
# (runtime/diagnostics.c, `diagnostics alignment orthonormality;`) against an
# independent NumPy computation (tests/runtime/alignment.py) on the final weights of
# an episode, for random, symmetric and direct feedback; then `plastcc run`
# logs them per episode and plots them.  Skips (77) without NumPy.
set -u
PY=/usr/bin/python3
$PY -c 'import numpy, torch' 2>/dev/null || { echo "python3-numpy/python3-torch are not installed: skipping"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
for fb in random symmetric direct; do
  $PY "$top_srcdir/bench/make_state.py" --sizes 20,12,8,5 --steps 30 --query 10 --seed 31 --feedback $fb \
      --rule pool --out "$work/st-$fb" >/dev/null || { echo "FAIL: make_state $fb"; fail=1; continue; }
  "$PLASTCC" episode "$top_srcdir/tests/runtime/episode/small.rule" --experiment diag_$fb --state "$work/st-$fb" \
      --out "$work/out-$fb" >/dev/null || { echo "FAIL: plastcc episode diag_$fb"; fail=1; continue; }
  echo "== $fb feedback"
  $PY "$top_srcdir/tests/runtime/alignment.py" "$work/st-$fb" "$work/out-$fb" $fb || fail=1
done

# plastcc run: the columns, one value per layer and episode, and the plots
cat > "$work/run.rule" <<EOR
import "$top_srcdir/tests/runtime/run/tiny.rule";
model moons3 { input 2; dense 16 softplus(10); dense 8 softplus(10); dense 2 softmax; loss cross_entropy; feedback random; }
experiment d {
  model moons3; rule fa_sgd; data moons n 400 noise 0.1; tasks ways 2 train 20 query 10; inner online;
  meta adam lr 3e-4 episodes 4; diagnostics alignment orthonormality; seed 3;
}
EOR
"$PLASTCC" run "$work/run.rule" --experiment d --out "$work/run" --quiet >/dev/null || { echo "FAIL: plastcc run"; fail=1; }
head -1 "$work/run/log.csv" | grep -q ',alpha_0,alpha_1,alpha_2,orth_1,orth_2$' ||
  { echo "FAIL: log.csv header: $(head -1 "$work/run/log.csv")"; fail=1; }
rows=$(awk -F, 'NR > 1 && $(NF-4) > 0 && $(NF-4) < 180 && $NF >= 0 { n++ } END { print n + 0 }' "$work/run/log.csv")
[ "$rows" = 4 ] || { echo "FAIL: expected 4 episodes with angles in (0, 180), got $rows"; fail=1; }
for f in alignment.svg orthonormality.svg; do
  grep -q '<polyline' "$work/run/$f" 2>/dev/null || { echo "FAIL: $f missing or empty"; fail=1; }
done
grep -q 'alpha_' "$work/run/meta-params.svg" && { echo "FAIL: the diagnostics are plotted as meta-parameters"; fail=1; }
[ $fail = 0 ] && echo "plastcc run logs and plots the diagnostics"
exit $fail
