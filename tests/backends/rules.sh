#!/bin/sh
# rules.sh — the rule library through every back end: the LLVM JIT,
# the emitted C (system compiler) and an LLVM object file compute the same
# outputs and adjoints, and the same bits with 1, 2 and 4 threads
# (tests/backends/cross_check.c), on small matrices (one thread runs them)
# and on large ones (several threads: the chunked loops and the JIT's
# fused passes with their stage matrices).
set -u
status=0
"$top_builddir/tests/backends/cross_check" "$top_srcdir"/rules/*.rule || status=1
echo "== --large"
"$top_builddir/tests/backends/cross_check" --large "$top_srcdir"/rules/*.rule || status=1
exit $status
