#!/bin/sh
# run-errors.sh — every error path of `plastcc run`: the exit status, the
# message that names the problem, and no crash (each case runs under ASan and
# UBSan in the sanitizer build).  Paths that once crashed on uninitialised
# memory some of the time run three times.
set -u
rules=$top_srcdir/tests/run/errors.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# expect STATUS PATTERN REPEAT -- COMMAND...: COMMAND exits STATUS (each of
# REPEAT times) with a line matching PATTERN on stderr
expect() {
  want=$1 pattern=$2 repeat=$3; shift 4
  i=0
  while [ $i -lt "$repeat" ]; do
    "$@" > "$work/out" 2> "$work/err"; got=$?
    if [ $got -ne "$want" ] || ! grep -Eq -- "$pattern" "$work/err"; then
      bad "$* exited $got (expected $want) with:"; cat "$work/err"; return
    fi
    i=$((i + 1))
  done
  echo "ok ($got): $(grep -E -- "$pattern" "$work/err" | head -1)"
}

# the data cannot make the tasks
expect 1 'class [0-9]+ has only [0-9]+ samples, but a task takes K\+Q = 30 of each class' 3 -- \
  "$PLASTCC" run "$rules" --experiment few_samples --out "$work/few" --quiet
expect 1 '5-way tasks need 5 classes, but the data set has only 2' 3 -- \
  "$PLASTCC" run "$rules" --experiment ways_over_classes --out "$work/ways" --quiet
expect 1 '2-way tasks need 2 classes, but the data set has only 1' 3 -- \
  "$PLASTCC" run "$rules" --experiment one_center --out "$work/one" --quiet

# resume: a folder that does not exist, a folder without a meta-state
expect 1 "cannot resume: $work/none/meta-state.txt: No such file or directory" 3 -- \
  "$PLASTCC" run "$rules" --experiment ok --resume "$work/none" --quiet
mkdir "$work/empty"
expect 1 "cannot resume: $work/empty/meta-state.txt: No such file or directory" 3 -- \
  "$PLASTCC" run "$rules" --experiment ok --resume "$work/empty" --quiet
exit $fail
