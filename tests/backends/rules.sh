#!/bin/sh
# rules.sh — the rule library through every back end: the LLVM JIT,
# the emitted C (system compiler) and an LLVM object file compute the same
# outputs and adjoints, and the same bits with 1, 2 and 4 threads
# (tests/backends/cross_check.c).
set -u
exec "$top_builddir/tests/backends/cross_check" "$top_srcdir"/rules/*.rule
