#!/bin/sh
# gradcheck.sh — every generated adjoint against central finite differences.
#
# Runs `plastcc gradcheck --backend c` on every rule file of the rule library
# (rules/) and of tests/gradcheck/ (small rules that together reach every
# operator of compiler/ops.def, every reduction, neuron values, lets, params,
# meta-MLPs with each activation, and small models), prints the per-kernel
# summary lines, and fails if any kernel fails.  On a failure the whole
# gradcheck output of that file is printed (every failing value is in it).
set -u
plastcc=${PLASTCC:-plastcc}
src=${top_srcdir:-.}
tmp=${TMPDIR:-/tmp}/gradcheck.$$
trap 'rm -f "$tmp"' EXIT
status=0
for f in "$src"/rules/*.rule "$src"/tests/gradcheck/*.rule; do
  name=${f#"$src"/}
  if "$plastcc" gradcheck --backend c "$f" >"$tmp" 2>&1; then
    echo "== $name"
    grep -E '^[A-Za-z_][A-Za-z0-9_]*: (ok|FAILED)' "$tmp"
  else
    echo "== $name: FAIL"
    cat "$tmp"
    status=1
  fi
done
exit $status
