#!/bin/sh
# episode-hat.sh — one step of HAT's joint scheme (paper 001: biases, the
# rules inside the forward pass, unlabelled samples) through `plastcc
# episode`, against an independent PyTorch autograd implementation
# (bench/ref_hat.py, fp64): the loss, the rule-updated weights and the
# gradients of every weight, bias and meta-parameter agree to 1e-8.
# Skips (77) when Debian's python3-torch is not installed.
set -u
PY=/usr/bin/python3
bench=$top_srcdir/bench
rules=$top_srcdir/tests/runtime/episode/hat.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
if ! $PY -c 'import torch, numpy' 2>/dev/null; then
  echo "python3-torch is not installed: skipping the cross-check"; exit 77
fi

check() {   # check EXPERIMENT SIZES ACT UNLABELLED SEED
  rm -rf "$work/st" "$work/ref" "$work/out"
  $PY "$bench/ref_hat.py" make --sizes "$2" --batch 6 --unlabelled "$4" --seed "$5" --out "$work/st" ||
      { echo "FAIL: ref_hat make $*"; fail=1; return; }
  $PY "$bench/ref_hat.py" step --state "$work/st" --out "$work/ref" --act "$3" --eta-param ||
      { echo "FAIL: ref_hat step $*"; fail=1; return; }
  "$PLASTCC" episode "$rules" --experiment "$1" --state "$work/st" --out "$work/out" >/dev/null ||
      { echo "FAIL: plastcc episode $*"; fail=1; return; }
  echo "== $1, sizes $2, $4 of 6 samples unlabelled (seed $5)"
  $PY "$bench/compare_npy.py" "$work/ref" "$work/out" --rtol 1e-8 || { echo "FAIL: $*"; fail=1; }
}

check hat_step 12,7,4 sigmoid 0 1
check hat_step 12,7,4 sigmoid 2 2
check hat_step_relu 12,7,5,4 relu 1 3

# no labelled sample: the rule still updates the weights, nothing is learned
check hat_step 12,7,4 sigmoid 6 4
for f in grad_W1 grad_W2 grad_bias1 grad_hat_net grad_eta meta_loss; do
  $PY -c "import numpy, sys; sys.exit(int(numpy.any(numpy.load('$work/out/$f.npy') != 0)))" ||
      { echo "FAIL: $f is not zero without labels"; fail=1; }
done
$PY -c "import numpy, sys; sys.exit(int(numpy.array_equal(numpy.load('$work/out/W1.npy'), numpy.load('$work/st/W1.npy'))))" ||
    { echo "FAIL: without labels the rule did not update W1"; fail=1; }
echo "no label: zero loss and gradients, W1 still updated by the rule"

# init output 0: the rule's first update is exactly zero, the output layer of
# its mlp (the last 101 of 501 weights) has a gradient, the others have none
rm -rf "$work/z" "$work/st"
$PY "$bench/ref_hat.py" make --sizes 12,7,4 --batch 6 --seed 6 --out "$work/st" || { echo "FAIL: ref_hat make"; fail=1; }
"$PLASTCC" episode "$rules" --experiment hat_step_zero --state "$work/st" --out "$work/z" > /dev/null || { echo "FAIL: hat_step_zero"; fail=1; }
$PY - "$work" <<'EOP' || { echo "FAIL: init output 0"; fail=1; }
import numpy, sys
w = sys.argv[1]
same = all(numpy.array_equal(numpy.load(w + "/z/W%d.npy" % l), numpy.load(w + "/st/W%d.npy" % l)) for l in (1, 2))
g = numpy.load(w + "/z/grad_hat_zero.npy")
sys.exit(0 if same and numpy.all(g[:400] == 0) and numpy.any(g[400:] != 0) else 1)
EOP
echo "init output 0: the first update is zero, only the mlp's output layer has a gradient"
exit $fail
