#!/bin/sh
# paths.sh — the LLVM back end's other code paths against the
# emitted C, on rules that use every operator and reduction: the scalar
# remainder loop of machines without AVX-512 (PLASTCC_VECTOR_TAIL=scalar),
# SSE2's two lanes, no vectors at all, and single precision.
set -u
b="$top_builddir/tests/backends/cross_check"
files="$top_srcdir/rules/pool.rule $top_srcdir/tests/valid/ops_builtins.rule $top_srcdir/tests/valid/ops_reductions.rule"
status=0
for setting in "PLASTCC_VECTOR_TAIL=scalar PLASTCC_VECTOR_BITS=256" "PLASTCC_VECTOR_BITS=128" "PLASTCC_VECTOR_BITS=64"; do
  echo "== $setting"
  env $setting "$b" $files || status=1
done
echo "== single precision"
"$b" --single $files || status=1
exit $status
