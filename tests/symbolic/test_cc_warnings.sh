#!/bin/sh
# test_cc_warnings.sh — the emitted C of every rule and model of rules/ (and
# of tests/golden/ and tests/gradcheck/, which reach every operator) compiles
# warning-free, in double and single precision:
#     gcc -std=c99 -O2 -Wall -Wextra -Werror -fopenmp -c
# GCC is the compiler users meet first; exit 77 (skip) when there is none.
# WARN_CC overrides the compiler.
set -u
plastcc=${PLASTCC:-plastcc}
src=${top_srcdir:-.}
cc=${WARN_CC:-gcc}
command -v "$cc" >/dev/null 2>&1 || { echo "SKIP: no $cc"; exit 77; }
tmp=${TMPDIR:-/tmp}/test_cc_warnings.$$
trap 'rm -f "$tmp".*' EXIT
status=0
for f in "$src"/rules/*.rule "$src"/tests/golden/*.rule "$src"/tests/gradcheck/*.rule; do
  for prec in double single; do
    name="${f#"$src"/} ($prec)"
    if ! "$plastcc" emit-c "$f" --precision $prec -o "$tmp.c" 2>"$tmp.err"; then
      echo "FAIL: $name: emit-c failed"; cat "$tmp.err"; status=1; continue
    fi
    if "$cc" -std=c99 -O2 -Wall -Wextra -Werror -fopenmp -c "$tmp.c" -o "$tmp.o" 2>"$tmp.err"; then
      echo "ok: $name"
    else
      echo "FAIL: $name:"; head -40 "$tmp.err"; status=1
    fi
  done
done
exit $status
