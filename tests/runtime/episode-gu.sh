#!/bin/sh
# episode-gu.sh — the meta-gradient of Gu et al. episodes (a per-neuron
# meta-MLP, plastic top-down and lateral projections, labelled and unlabelled
# samples) against an independent implementation (bench/gu_ref.py, PyTorch
# autograd, float64) through `plastcc episode` on saved states: every final
# weight matrix, its gradient, the meta-loss and the gradient of every
# meta-MLP weight within 1e-8.  Then the checkpointed and fully stored reverse
# sweeps, and 1 vs 2 threads, must agree bit for bit; --boundary draws the
# final network's decision regions as NumPy computes them (tests/runtime/boundary.py).
# Skips (77) when Debian's python3-torch is not installed.
set -u
PY=/usr/bin/python3
bench=$top_srcdir/bench
rules=$top_srcdir/tests/runtime/episode/gu.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
if ! $PY -c 'import torch, numpy' 2>/dev/null; then
  echo "python3-torch is not installed: skipping the cross-check"; exit 77
fi

check() {   # check EXPERIMENT SIZES STEPS BATCH SEED
  rm -rf "$work/st" "$work/ref" "$work/out"
  $PY "$bench/make_gu_state.py" --sizes "$2" --steps "$3" --batch "$4" --query 10 --seed "$5" \
      --out "$work/st" >/dev/null || { echo "FAIL: make_gu_state $*"; fail=1; return; }
  $PY "$bench/gu_ref.py" --state "$work/st" --out "$work/ref" --batch "$4" >/dev/null ||
      { echo "FAIL: gu_ref $*"; fail=1; return; }
  "$PLASTCC" episode "$rules" --experiment "$1" --state "$work/st" --out "$work/out" --batch "$4" >/dev/null ||
      { echo "FAIL: plastcc episode $*"; fail=1; return; }
  echo "== $1, sizes $2, $3 steps of $4 (seed $5)"
  $PY "$bench/compare_npy.py" "$work/ref" "$work/out" --rtol 1e-8 || { echo "FAIL: $*"; fail=1; }
}

check gu_episode 3,6,3 20 4 3
check gu_episode 3,6,3 50 10 4
check gu_deep_episode 3,5,4,3 30 5 5

# checkpointed (every 3 steps) vs fully stored vs default: identical
for k in 3 1000 0; do
  "$PLASTCC" episode "$rules" --experiment gu_deep_episode --state "$work/st" --out "$work/k$k" --checkpoint $k \
      --batch 5 >/dev/null || fail=1
done
for k in 3 1000; do
  for f in grad_gu_net.W1 grad_Wtop0 grad_Wlat1 meta_loss W1; do
    cmp -s "$work/k0/$f.npy" "$work/k$k/$f.npy" || { echo "FAIL: --checkpoint $k changes $f"; fail=1; }
  done
done
echo "checkpoint every 3, 1000 (all stored) and the default: identical results"

# the decision regions of the final network: every cell of the SVG's grid
# the class NumPy computes from the final weights, every sample drawn
check gu_2d_episode 2,6,2 30 10 7
"$PLASTCC" episode "$rules" --experiment gu_2d_episode --state "$work/st" --out "$work/b" --batch 10 \
    --boundary "$work/b.svg" >/dev/null || { echo "FAIL: plastcc episode --boundary"; fail=1; }
$PY "$top_srcdir/tests/runtime/boundary.py" "$work/st" "$work/b" "$work/b.svg" 2 || { echo "FAIL: the boundary SVG"; fail=1; }
rm -rf "$work/st"
$PY "$bench/make_gu_state.py" --sizes 3,5,4,3 --steps 30 --batch 5 --query 10 --seed 5 --out "$work/st" >/dev/null

for t in 1 2; do
  OMP_NUM_THREADS=$t "$PLASTCC" episode "$rules" --experiment gu_deep_episode --state "$work/st" \
      --out "$work/t$t" --batch 5 >/dev/null || fail=1
done
for f in grad_gu_net.W1 grad_gu_net.b2 grad_Wtop1 grad_Wlat0 meta_loss; do
  cmp -s "$work/t1/$f.npy" "$work/t2/$f.npy" || { echo "FAIL: 1 and 2 threads differ in $f"; fail=1; }
done
echo "1 and 2 threads: identical results"
exit $fail
