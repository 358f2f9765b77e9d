#!/bin/sh
# episode-kcap.sh — k-cap RNNs (paper 000): the meta-gradient of one episode
# of tests/runtime/episode/kcap.rule (a recurrent k-cap layer unrolled 3 steps, a
# rule per projection reading its unrolled steps and neighbours, the
# autoencoding loss, a readout with and without the cap) against an
# independent PyTorch autograd implementation with the same straight-through
# surrogate (bench/ref_kcap.py), fp64, relative difference <= 1e-8 on the
# meta-loss, every meta-parameter's gradient, the final weights and the
# gradients of the initial weights; backprop through the steps as a rule
# with symmetric feedback (= autograd's BPTT) and random feedback (feedback
# alignment through a fixed Brec1); then the checkpointed and fully stored
# reverse sweeps, 1 and 2 threads and the C back end must agree bit for bit.
# Skips (77) when Debian's python3-torch is not installed.
set -u
PY=/usr/bin/python3
ref=$top_srcdir/bench/ref_kcap.py
rules=$top_srcdir/tests/runtime/episode/kcap.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
if ! $PY -c 'import torch, numpy' 2>/dev/null; then
  echo "python3-torch is not installed: skipping the cross-check"; exit 77
fi

check() {   # check EXPERIMENT READOUT SEED STEPS BATCH [ref_kcap run options]
  e=$1 r=$2 seed=$3 steps=$4 b=$5
  shift 5
  rm -rf "$work/st" "$work/ref" "$work/out"
  $PY "$ref" make --out "$work/st" --seed "$seed" --steps "$steps" --batch "$b" >/dev/null ||
      { echo "FAIL: ref_kcap make $e"; fail=1; return; }
  $PY "$ref" run --state "$work/st" --out "$work/ref" --readout "$r" --batch "$b" "$@" >/dev/null ||
      { echo "FAIL: ref_kcap run $e $*"; fail=1; return; }
  "$PLASTCC" episode "$rules" --experiment "$e" --state "$work/st" --out "$work/out" --batch "$b" >/dev/null ||
      { echo "FAIL: plastcc episode $e"; fail=1; return; }
  echo "== $e (readout $r, seed $seed, $steps steps of $b samples) $*"
  $PY "$top_srcdir/bench/compare_npy.py" "$work/ref" "$work/out" --rtol 1e-8 || { echo "FAIL: $e"; fail=1; }
}

check kcap_linear identity 11 12 2
check kcap_cap kcap 12 12 2
check kcap_linear identity 13 30 1
check kcap_cap kcap 14 9 3
# the feedback pathway through the steps: symmetric = BPTT (autograd), random = feedback alignment
check sgd_bp identity 15 12 2 --rules sgd --feedback symmetric --act kcap
check sgd_fa identity 16 12 2 --rules sgd --feedback random --act tanh

# checkpointed (every 2 steps), fully stored and default sweeps; threads; the C back end
rm -rf "$work/st"
$PY "$ref" make --out "$work/st" --seed 21 --steps 25 --batch 2 >/dev/null
run() {   # run OUT [options]
  out=$1; shift
  "$PLASTCC" episode "$rules" --experiment kcap_cap --state "$work/st" --out "$work/$out" "$@" >/dev/null || fail=1
}
run k0
run k2 --checkpoint 2
run k1000 --checkpoint 1000
OMP_NUM_THREADS=1 run t1
OMP_NUM_THREADS=2 run t2
run c --backend c
for o in k2 k1000 t1 t2 c; do
  for f in meta_loss grad_k_in.a grad_k_rec.b grad_k_out.c W1 Wrec1 W2 grad_W1 grad_Wrec1 grad_W2; do
    cmp -s "$work/k0/$f.npy" "$work/$o/$f.npy" || { echo "FAIL: $o changes $f"; fail=1; }
  done
done
echo "checkpoint every 2, 1000 and default; 1 and 2 threads; JIT and C: identical results"
exit $fail
