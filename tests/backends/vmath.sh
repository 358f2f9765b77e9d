#!/bin/sh
# vmath.sh — the emitted C's exp and log1p (compiler/vmath.h) against glibc:
# tests/backends/vmath_accuracy.c, built with the kernels of a rule file.
set -u
tmp=${TMPDIR:-/tmp}/vmath.$$
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
"$PLASTCC" emit-c "$top_srcdir/tests/golden/pool.rule" -o "$tmp/k.c" || exit 1
${CC:-cc} -std=c99 -O2 -D_DEFAULT_SOURCE -I"$tmp" -o "$tmp/vmath" "$top_srcdir/tests/backends/vmath_accuracy.c" -lm -fopenmp ||
  exit 1
exec "$tmp/vmath"
