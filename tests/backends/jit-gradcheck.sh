#!/bin/sh
# jit-gradcheck.sh — every adjoint kernel, compiled by the LLVM JIT, against
# finite differences of its forward kernel (plastcc gradcheck --backend jit).
set -u
status=0
for f in "$top_srcdir"/rules/*.rule "$top_srcdir"/tests/valid/*.rule "$top_srcdir"/tests/gradcheck/*.rule; do
  [ -f "$f" ] || continue
  if ! out=$("$PLASTCC" gradcheck --backend jit "$f" 2>&1); then
    echo "FAIL: $f"; echo "$out" | grep -v ' ok ' | head -40; status=1
  else
    echo "$out" | grep -E '^[A-Za-z0-9_]+: ok' | sed "s|^|$(basename "$f"): |"
  fi
done
exit $status
