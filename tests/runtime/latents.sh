#!/bin/sh
# latents.sh — plastcc latents (paper 000's measures of a representation):
# a network whose representation is its 2-D input (W1 = I) gives latents
# equal to the data, an aligned EMD of 0 against it and a probe that reads
# moons as a linear classifier does; --train writes the loss curve and the
# final weights; --combine gives the mean of its folders and their loss
# curves; bad folders are named.
set -u
rules=$top_srcdir/tests/runtime/latents/latents.rule
PY=/usr/bin/python3
$PY -c "import numpy" 2>/dev/null || { echo "numpy is not installed: skipping"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# the example of paper 000 checks (it runs for half an hour: not run here)
"$PLASTCC" check "$top_srcdir/examples/000-kcap/kcap.rule" > /dev/null || bad "examples/000-kcap/kcap.rule does not check"
bash -n "$top_srcdir/examples/000-kcap/run.sh" || bad "examples/000-kcap/run.sh"

mkdir -p "$work/st"
$PY -c "
import numpy as np
np.save('$work/st/W1.npy', np.eye(2)); np.save('$work/st/W2.npy', np.eye(2))" || bad "numpy"
"$PLASTCC" latents "$rules" --experiment ident --state "$work/st" --out "$work/id" --samples 200 --points 60 \
  --repeats 4 --labels 2,8,64 > "$work/id.out" 2>&1 || { cat "$work/id.out"; bad "latents ident"; }
for f in latents.npy labels.npy data2d.npy latent2d.npy probe.csv summary.csv latents.svg data.svg probe.svg; do
  [ -s "$work/id/$f" ] || bad "no $f"
done
$PY -c "
import numpy as np, sys
lat = np.load('$work/id/latents.npy'); d2 = np.load('$work/id/data2d.npy'); y = np.load('$work/id/labels.npy')
assert lat.shape == (200, 2) and y.shape[0] == 200, (lat.shape, y.shape)
# the representation is the input: the 2-D original itself (data2d.npy: the
# EMD's first P points, centred and at a unit RMS radius)
assert d2.shape == (60, 2), d2.shape
c = lat[:60] - lat[:60].mean(0)
c /= np.sqrt((c ** 2).sum(1).mean())
assert np.abs(c - d2).max() < 1e-12, np.abs(c - d2).max()
# the probe's final accuracy: a logistic regression of moons, about 0.85
import csv
rows = list(csv.DictReader(open('$work/id/summary.csv')))
acc = float(rows[0]['probe_accuracy']); emd = float(rows[0]['emd_aligned'])
assert 0.75 < acc < 0.95, acc
assert emd < 1e-9, emd
print('ident: latents = data to 1e-12, aligned EMD %.2g, probe %.3f' % (emd, acc))
" || bad "the identity network's measures"

# 'standardise': the data's features at mean 0 and variance 1 (the representation is the input)
for e in ident_std ident_raw; do
  "$PLASTCC" latents "$rules" --experiment $e --state "$work/st" --out "$work/$e" --samples 600 --points 20 \
    --repeats 2 --labels 2 > "$work/$e.out" 2>&1 || { cat "$work/$e.out"; bad "latents $e"; }
done
$PY -c "
import numpy as np
s = np.load('$work/ident_std/latents.npy'); r = np.load('$work/ident_raw/latents.npy')
assert np.abs(s.mean(0)).max() < 1e-9 and np.abs(s.std(0) - 1).max() < 1e-9, (s.mean(0), s.std(0))
assert np.abs(r.std(0) - 1).max() > 0.5, r.std(0)
print('standardise: feature means %s, sds %s (raw sds %s)' % (np.round(s.mean(0), 12), s.std(0).round(12), r.std(0).round(3)))
" || bad "data ... standardise"

"$PLASTCC" latents "$rules" --experiment train --train 20 --curve-every 5 --out "$work/t1" --samples 100 --points 40 \
  --repeats 2 --labels 2,16 > "$work/t1.out" 2>&1 || { cat "$work/t1.out"; bad "latents --train"; }
"$PLASTCC" latents "$rules" --experiment train --train 20 --curve-every 5 --out "$work/t2" --samples 100 --points 40 \
  --repeats 2 --labels 2,16 --seed 4 > /dev/null 2>&1 || bad "latents --train --seed 4"
[ -s "$work/t1/final/W1.npy" ] && [ -s "$work/t1/curve.csv" ] && [ -s "$work/t1/loss.svg" ] || bad "--train outputs"
[ "$(($(wc -l < "$work/t1/curve.csv") - 1))" -eq 5 ] || bad "curve.csv: $(cat "$work/t1/curve.csv")"
last=$(tail -1 "$work/t1/curve.csv" | cut -d, -f3)
first=$(sed -n 2p "$work/t1/curve.csv" | cut -d, -f3)
loss=$($PY -c "import csv; print(list(csv.DictReader(open('$work/t1/summary.csv')))[0]['loss'])")
$PY -c "assert abs($last - $loss) <= 1e-9 * abs($loss), ($last, $loss); assert $last < $first, ($first, $last)" ||
  bad "the curve's last loss $last is not the summary's $loss, or it did not fall from $first"
echo "train: loss $first -> $last in 20 steps, final weights written"

"$PLASTCC" latents --combine "$work/c" --group a "$work/t1" "$work/t2" --group b "$work/t1" > /dev/null 2>&1 ||
  bad "combine"
for f in probe.csv probe.svg summary.csv loss.csv loss.svg; do [ -s "$work/c/$f" ] || bad "combine: no $f"; done
$PY -c "
import csv
def s(d): return [float(r['emd_aligned']) for r in csv.DictReader(open(d + '/summary.csv'))]
c = {r['group']: r for r in csv.DictReader(open('$work/c/summary.csv'))}
a, b = s('$work/t1')[0], s('$work/t2')[0]
assert abs(float(c['a']['emd_aligned']) - (a + b) / 2) < 1e-9 and c['a']['runs'] == '2'
assert abs(float(c['a']['emd_aligned_se']) - abs(a - b) / 2) < 1e-9
assert float(c['b']['emd_aligned_se']) == 0
rows = [r for r in csv.DictReader(open('$work/c/loss.csv')) if r['group'] == 'a']
assert len(rows) == 5
print('combine: mean %.4f and s.e. %.4f of two runs; loss curves %d points' % (float(c['a']['emd_aligned']), float(c['a']['emd_aligned_se']), len(rows)))
" || bad "combined numbers"

# refusals: a missing state, a folder that is not a latents folder, curves that differ
"$PLASTCC" latents "$rules" --experiment ident --state "$work/none" --out "$work/e1" 2> "$work/e1.err" &&
  bad "a missing state was read"
grep -q "W1.npy" "$work/e1.err" || { cat "$work/e1.err"; bad "no message naming W1.npy"; }
"$PLASTCC" latents --combine "$work/e2" --group a "$work/st" 2> "$work/e2.err" && bad "a state folder was combined"
grep -q "cannot read $work/st/probe.csv" "$work/e2.err" || { cat "$work/e2.err"; bad "no message for a non-latents folder"; }
cp -r "$work/t2" "$work/t3"; sed -i '$d' "$work/t3/curve.csv"
"$PLASTCC" latents --combine "$work/e3" --group a "$work/t1" "$work/t3" 2> "$work/e3.err" && bad "curves of other points combined"
grep -q "t3/curve.csv has other points than" "$work/e3.err" || { cat "$work/e3.err"; bad "no message for other curve points"; }
echo "refused: a missing state, a folder without probe.csv, curves of other points"
exit $fail
