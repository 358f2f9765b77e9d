#!/bin/sh
# precision.sh — single precision (`precision single;`, --precision single):
# the meta-gradient and meta-loss of an episode in float against double on
# the states of tests/runtime/episode.sh (relative differences printed, bound 1e-3);
# single-precision results bit for bit the same for 1 and 2 threads and for
# any checkpoint interval; `plastcc run` in single writes a complete, finite
# log that follows the double run's.  Skips (77) without numpy.
set -u
PY=/usr/bin/python3
bench=$top_srcdir/bench
rules=$top_srcdir/tests/runtime/episode/small.rule
tiny=$top_srcdir/tests/runtime/run/tiny.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
if ! $PY -c 'import numpy' 2>/dev/null; then
  echo "numpy is not installed: skipping"; exit 77
fi

# rel DIR_DOUBLE DIR_SINGLE: |g_s - g_d| / |g_d| over every grad_*.npy, and
# |L_s - L_d| / |L_d|; exits 1 above 1e-3.
rel() {
  $PY - "$1" "$2" <<'PYEOF'
import glob, os, sys
import numpy as np
d, s = sys.argv[1], sys.argv[2]
gd, gs = [], []
for f in sorted(glob.glob(os.path.join(d, "grad_*.npy"))):
    gd.append(np.atleast_1d(np.load(f)).ravel())
    gs.append(np.atleast_1d(np.load(os.path.join(s, os.path.basename(f)))).ravel())
gd, gs = np.concatenate(gd), np.concatenate(gs)
g = np.linalg.norm(gs - gd) / np.linalg.norm(gd)
ld, ls = float(np.load(os.path.join(d, "meta_loss.npy"))), float(np.load(os.path.join(s, "meta_loss.npy")))
l = abs(ls - ld) / abs(ld)
print("single vs double: gradient rel %.2e (norm %.6g vs %.6g), meta-loss rel %.2e" %
      (g, np.linalg.norm(gs), np.linalg.norm(gd), l))
sys.exit(0 if g <= 1e-3 and l <= 1e-3 else 1)
PYEOF
}

check() {   # check RULE FEEDBACK EXPERIMENT SEED
  rm -rf "$work/st" "$work/d" "$work/s"
  $PY "$bench/make_state.py" --sizes 20,12,8,5 --steps 30 --query 10 --seed "$4" --feedback "$2" \
      --rule "$1" --out "$work/st" >/dev/null || { bad "make_state $*"; return; }
  "$PLASTCC" episode "$rules" --experiment "$3" --state "$work/st" --out "$work/d" >/dev/null ||
      { bad "episode double $*"; return; }
  "$PLASTCC" episode "$rules" --experiment "$3" --state "$work/st" --out "$work/s" --precision single \
      > "$work/s.out" || { bad "episode single $*"; return; }
  grep -q ' single, ' "$work/s.out" || bad "episode --precision single did not run in single: $(cat "$work/s.out")"
  printf '%s, %s feedback: ' "$1" "$2"
  rel "$work/d" "$work/s" || bad "single and double differ by more than 1e-3 ($*)"
}

check pool random pool_random 11
check pool symmetric pool_symmetric 12
check pool direct pool_direct 13
check fa random fa_random 14
check tanh_error symmetric tanh_symmetric 15
check oja_decay random oja_random 16

# single precision: checkpoint intervals and thread counts change nothing
rm -rf "$work/st"
$PY "$bench/make_state.py" --sizes 20,12,8,5 --steps 40 --query 10 --seed 21 --feedback random \
    --rule pool --out "$work/st" >/dev/null
for k in 3 1000 0; do
  "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/k$k" --checkpoint $k \
      --precision single >/dev/null || bad "single, checkpoint $k"
done
OMP_NUM_THREADS=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/t1" \
    --precision single >/dev/null || bad "single, 1 thread"
OMP_NUM_THREADS=2 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/t2" \
    --precision single >/dev/null || bad "single, 2 threads"
for f in grad_theta meta_loss W1 W2 W3; do
  for k in 3 1000; do cmp -s "$work/k0/$f.npy" "$work/k$k/$f.npy" || bad "single: --checkpoint $k changes $f"; done
  cmp -s "$work/t1/$f.npy" "$work/t2/$f.npy" || bad "single: 1 and 2 threads differ in $f"
done
echo "single: checkpoint every 3, 1000 and the default, and 1 and 2 threads: identical results"

# plastcc run: `precision single;` in the experiment, and --precision single
"$PLASTCC" run "$tiny" --experiment tiny --out "$work/rd" --threads 1 --quiet >/dev/null 2>&1 || bad "run tiny (double)"
"$PLASTCC" run "$tiny" --experiment tiny_single --out "$work/rs" --threads 1 --quiet >/dev/null 2>&1 ||
  bad "run tiny_single"
"$PLASTCC" run "$tiny" --experiment tiny --precision single --out "$work/rc" --threads 1 --quiet >/dev/null 2>&1 ||
  bad "run tiny --precision single"
# the numbers of a meta-state, after the fingerprint (which names the experiment and the options)
numbers() { sed -n '/^episode /,$p' "$1"; }
[ "$(numbers "$work/rs/meta-state.txt")" = "$(numbers "$work/rc/meta-state.txt")" ] ||
  bad "precision single in the experiment and --precision single give different runs"
"$PLASTCC" run "$tiny" --experiment tiny_single --precision double --out "$work/rdd" --threads 1 --quiet \
    >/dev/null 2>&1 || bad "run tiny_single --precision double"
[ "$(numbers "$work/rd/meta-state.txt")" = "$(numbers "$work/rdd/meta-state.txt")" ] ||
  bad "--precision double does not override the experiment"
for f in log.csv meta-state.txt learned.rule meta.csv meta-loss.svg; do
  [ -s "$work/rs/$f" ] || bad "single run did not write $f"
done
$PY - "$work/rd/log.csv" "$work/rs/log.csv" <<'PYEOF' || bad "the single-precision log is not sane"
import csv, math, sys
d = list(csv.DictReader(open(sys.argv[1])))
s = list(csv.DictReader(open(sys.argv[2])))
assert len(s) == len(d) == 12, (len(d), len(s))
worst = 0
for a, b in zip(d, s):
    for k in ("meta_loss", "meta_accuracy", "grad_norm", "theta"):
        assert math.isfinite(float(b[k])), (k, b[k])
    worst = max(worst, abs(float(a["meta_loss"]) - float(b["meta_loss"])) / abs(float(a["meta_loss"])))
print("run in single: 12 finite rows; meta-loss within %.1e (rel) of the double run's" % worst)
assert worst < 1e-3, worst
PYEOF
"$PLASTCC" run "$rules" --experiment diag_random --precision single --out "$work/dg" --quiet >"$work/dg.out" 2>&1 &&
  bad "diagnostics in single precision ran"
grep -q 'double precision only' "$work/dg.out" || bad "no message for diagnostics in single: $(cat "$work/dg.out")"
exit $fail
