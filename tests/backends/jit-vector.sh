#!/bin/sh
# jit-vector.sh — the optimised IR of the pool rule computes its per-synapse
# loops (the outlined parallel bodies, @pool_*.par*) on vectors of doubles
# (<2 x double> with SSE2, <4 x ...> with AVX, <8 x ...> with AVX-512), and
# on vectors of floats in single precision.
set -u
tmp=${TMPDIR:-/tmp}/jit-vector.$$
trap 'rm -f "$tmp".*' EXIT
status=0
for prec in double float; do
  p=$prec; [ "$prec" = float ] && p=single
  "$PLASTCC" emit-llvm "$top_srcdir/rules/pool.rule" --precision $p -o "$tmp.ll" || { echo "FAIL: emit-llvm"; exit 1; }
  n=$(awk -v t="x $prec>" '/^define .*@pool_(fwd|adj)\.par[0-9]+/ { inside = 1 } inside && index($0, t) { n++ }
                           /^}/ { inside = 0 } END { print n + 0 }' "$tmp.ll")
  echo "$prec: $n lines of vector code in the per-synapse loops"
  [ "$n" -gt 0 ] || { echo "FAIL: no <N x $prec> in the per-synapse loops"; status=1; }
done
exit $status
