#!/bin/sh
# mlp-paths.sh — every rule with a meta-MLP down the path it does not take
# by default (compiler/build_rule.c: MLPs of at most 64 weights are
# inlined, larger ones called; PLASTCC_MLP_INLINE_MAX moves the line):
#   all called: JIT, emitted C and object file agree bit for bit on 1, 2 and
#   4 threads (cross_check; also at the JIT's narrower vector widths, in
#   single precision, and on matrices that wake several threads), and
#   every adjoint passes gradcheck (JIT);
#   inlined up to 1000 weights (HAT's 501, Gu's 455): gradcheck (JIT).
set -u
src=$top_srcdir
files=
for f in "$src"/rules/*.rule "$src"/tests/valid/*.rule "$src"/tests/gradcheck/*.rule; do
  grep -q '^ *mlp ' "$f" && files="$files $f"
done
[ -n "$files" ] || { echo "no rule with a meta-MLP found"; exit 1; }
status=0
echo "== every meta-MLP called"
PLASTCC_MLP_INLINE_MAX=0 "$top_builddir/tests/backends/cross_check" $files || status=1
for f in $files; do
  if ! out=$(PLASTCC_MLP_INLINE_MAX=0 "$PLASTCC" gradcheck --backend jit "$f" 2>&1); then
    echo "FAIL (called): $f"; echo "$out" | grep -v ' ok ' | head -40; status=1
  else
    echo "$out" | grep -E '^[A-Za-z0-9_]+: ok' | sed "s|^|called: $(basename "$f"): |"
  fi
done
# The JIT's other vector widths with every MLP called: AVX2's 4 doubles with
# a scalar remainder, SSE2's 2, none (the parameters' adjoints then go one
# column at a time into partial sum j mod 8).
for setting in "PLASTCC_VECTOR_TAIL=scalar PLASTCC_VECTOR_BITS=256" "PLASTCC_VECTOR_BITS=128" "PLASTCC_VECTOR_BITS=64"; do
  echo "== every meta-MLP called, $setting"
  env PLASTCC_MLP_INLINE_MAX=0 $setting "$top_builddir/tests/backends/cross_check" "$src/rules/hat.rule" \
    "$src/rules/gu.rule" "$src/tests/gradcheck/mlp_call.rule" || status=1
done
echo "== every meta-MLP called, single precision (16 partial sums per weight)"
PLASTCC_MLP_INLINE_MAX=0 "$top_builddir/tests/backends/cross_check" --single "$src/rules/hat.rule" "$src/rules/gu.rule" \
  "$src/tests/gradcheck/mlp_call.rule" || status=1
echo "== every meta-MLP called, matrices large enough for several threads (the fused passes' stage matrices)"
PLASTCC_MLP_INLINE_MAX=0 "$top_builddir/tests/backends/cross_check" --large "$src/rules/hat.rule" "$src/rules/gu.rule" \
  "$src/tests/gradcheck/mlp_call.rule" || status=1
PLASTCC_MLP_INLINE_MAX=0 "$top_builddir/tests/backends/cross_check" --large --single "$src/rules/hat.rule" || status=1
echo "== the same when the fused passes cannot allocate their arrays (the loops run apart)"
PLASTCC_FAULT_STAGE_ALLOC=1 PLASTCC_MLP_INLINE_MAX=0 "$top_builddir/tests/backends/cross_check" --large \
  "$src/rules/hat.rule" "$src/rules/kcap_hebb.rule" || status=1
echo "== meta-MLPs of up to 1000 weights inlined"
for f in "$src/rules/hat.rule" "$src/rules/gu.rule"; do
  if ! out=$(PLASTCC_MLP_INLINE_MAX=1000 "$PLASTCC" gradcheck --backend jit "$f" 2>&1); then
    echo "FAIL (inlined): $f"; echo "$out" | grep -v ' ok ' | head -40; status=1
  else
    echo "$out" | grep -E '^[A-Za-z0-9_]+: ok' | sed "s|^|inlined: $(basename "$f"): |"
  fi
done
exit $status
