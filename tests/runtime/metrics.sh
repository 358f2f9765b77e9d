#!/bin/sh
# metrics.sh — the representation metrics of libplast (the EMD by optimal
# assignment and at the best orthogonal map, principal components, the
# logistic-regression probe) against scipy-free numpy references
# (tests/runtime/ref_metrics.py: brute force over bijections and a scan of
# orthogonal maps, numpy.linalg.eigh, gradient descent), on three random
# sets.  Skips (77) without numpy.
set -u
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$PY -c 'import numpy' 2>/dev/null || { echo "numpy is not installed: skipping"; exit 77; }
fail=0
for seed in 1 2 3; do
  $PY "$top_srcdir/tests/runtime/ref_metrics.py" make "$work/s$seed" $seed || fail=1
  "$top_builddir/tests/runtime/test_metrics" ref "$work/s$seed" || { echo "FAIL: test_metrics ref"; fail=1; continue; }
  echo "== seed $seed"
  $PY "$top_srcdir/tests/runtime/ref_metrics.py" check "$work/s$seed" || { echo "FAIL: seed $seed"; fail=1; }
done
exit $fail
