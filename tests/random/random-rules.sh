#!/bin/sh
# random-rules.sh — differential testing on random valid programs
# (tests/random/gen_rules.py): for each seed, a file of 6 rules and 2 models
# built from every part of the language must pass `plastcc check`, every
# adjoint must match finite differences with the kernels from the JIT and
# from the emitted C (`plastcc gradcheck`), and the JIT, the emitted C and an
# LLVM object must compute the same bits, with 1, 2 and 4 threads
# (tests/backends/cross_check).  RANDOM_RULES_SEEDS="1 2 3" picks the seeds (the CI adds
# one of the day); a failure names its seed, and
#   tests/random/gen_rules.py SEED > x.rule
# gives the program back.  Skips (77) without python3.
set -u
PY=/usr/bin/python3
seeds=${RANDOM_RULES_SEEDS:-"11 12"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
[ -x "$PY" ] || { echo "python3 is not installed: skipping"; exit 77; }

step() {   # step SEED WHAT COMMAND...: run COMMAND, report a failure with the seed
  seed=$1 what=$2; shift 2
  if "$@" > "$work/out" 2>&1; then return 0; fi
  echo "FAIL: seed $seed: $what"; head -40 "$work/out"; fail=1
  return 1
}

for seed in $seeds; do
  f=$work/random$seed.rule
  $PY "$top_srcdir/tests/random/gen_rules.py" "$seed" > "$f" || { echo "FAIL: gen_rules.py $seed"; fail=1; continue; }
  step "$seed" "plastcc check" "$PLASTCC" check "$f" || continue
  summary=$(head -1 "$work/out")
  step "$seed" "gradcheck, JIT" "$PLASTCC" gradcheck --backend jit "$f"
  jit=$(grep -c ': ok' "$work/out")
  step "$seed" "gradcheck, emitted C" "$PLASTCC" gradcheck --backend c "$f"
  step "$seed" "JIT = C = object, 1, 2, 4 threads" "$top_builddir/tests/backends/cross_check" "$f"
  echo "seed $seed: ${summary#*: }; $jit kernels pass gradcheck (JIT and C); $(tail -1 "$work/out" | sed 's/^[^:]*: //')"
done
exit $fail
