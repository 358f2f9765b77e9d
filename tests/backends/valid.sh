#!/bin/sh
# valid.sh — tests/backends/cross_check over the valid test files and the
# gradcheck rules: every operator, reduction and model kernel.  Files whose
# kernels are the rule library's (lang_hat.rule is rules/hat.rule) are
# left to rules.sh: the C compiler takes a minute over HAT.
set -u
tmp=${TMPDIR:-/tmp}/backends-valid.$$
trap 'rm -f "$tmp"' EXIT
kernels() { "$PLASTCC" emit-c "$1" 2>/dev/null | tail -n +2 | cksum; }
for f in "$top_srcdir"/rules/*.rule; do kernels "$f"; done > "$tmp"
files=
for f in "$top_srcdir"/tests/valid/*.rule "$top_srcdir"/tests/gradcheck/*.rule; do
  [ -f "$f" ] || continue
  if grep -qx "$(kernels "$f")" "$tmp"; then echo "$f: the kernels of a rules/ file (rules.sh)"; continue; fi
  files="$files $f"
done
exec "$top_builddir/tests/backends/cross_check" $files
