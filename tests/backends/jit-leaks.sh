#!/bin/sh
# jit-leaks.sh — the LLVM JIT's object lifecycle under valgrind: build,
# optimise, JIT, run and dispose of every kernel of rule files that cover all
# operators, reductions and kinds of kernel, with no definite leak and no
# memory error.  Skips (77) without valgrind, and in ASan builds; takes about
# a minute.
set -u
command -v valgrind >/dev/null 2>&1 || { echo "valgrind is not installed"; exit 77; }
if ldd "$top_builddir/tests/backends/cross_check" 2>/dev/null | grep -q 'libasan\|libtsan'; then
  echo "an AddressSanitizer build: valgrind cannot run it (LeakSanitizer checks it instead)"; exit 77
fi
exec valgrind -q --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite --error-exitcode=1 \
  "$top_builddir/tests/backends/cross_check" --jit-only \
  "$top_srcdir/rules/pool.rule" "$top_srcdir/rules/fa.rule" "$top_srcdir/rules/003.rule" \
  "$top_srcdir/tests/valid/ops_builtins.rule" "$top_srcdir/tests/valid/ops_reductions.rule" \
  "$top_srcdir/tests/valid/lang_tanh_error.rule"
