#!/bin/sh
# backends-valid.sh — tests/backends over the valid test files (and
# tests/gradcheck when present): every operator, reduction and model kernel.
set -u
files=
for f in "$top_srcdir"/tests/valid/*.rule "$top_srcdir"/tests/gradcheck/*.rule; do
  [ -f "$f" ] && files="$files $f"
done
exec "$top_builddir/tests/backends" $files
