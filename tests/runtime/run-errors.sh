#!/bin/sh
# run-errors.sh — every error path of `plastcc run`: the exit status, the
# message that names the problem, and no crash (each case runs under ASan and
# UBSan in the sanitizer build).  Paths that once crashed on uninitialised
# memory some of the time run three times.
set -u
rules=$top_srcdir/tests/runtime/run/errors.rule
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
expect 1 "cannot resume: $work/none: No such file or directory" 3 -- \
  "$PLASTCC" run "$rules" --experiment ok --resume "$work/none" --quiet
mkdir "$work/empty"
expect 1 "cannot resume: $work/empty/meta-state.txt: No such file or directory" 3 -- \
  "$PLASTCC" run "$rules" --experiment ok --resume "$work/empty" --quiet

# options parsed strictly: usage errors (status 2) naming the option
for bad_opt in "--episodes abc" "--episodes 12abc" "--episodes 0" "--threads -1" "--threads 0" "--seed 1e23" \
               "--seed -5" "--seed 99999999999999999999"; do
  set -- $bad_opt
  expect 2 "^plastcc: $1 wants an integer from [0-9]+ to [0-9]+, not '$2'" 1 -- \
    "$PLASTCC" run "$rules" --experiment ok --out "$work/opt" $bad_opt
done
expect 2 "--resume DIR is the output folder; --out is not needed" 1 -- \
  "$PLASTCC" run "$rules" --experiment ok --out "$work/opt" --resume "$work/opt"
expect 2 "unknown option or missing value: '--episodes'" 1 -- "$PLASTCC" run "$rules" --experiment ok --episodes
[ ! -e "$work/opt" ] || bad "a usage error created the output folder"
# options of the experiment: located errors
bad_options=$top_srcdir/tests/runtime/run/bad-options.rule
expect 1 "bad-options.rule:[0-9]+:[0-9]+: error: the learning rate must be greater than 0, not -1" 1 -- \
  "$PLASTCC" run "$bad_options" --experiment bad_lr --out "$work/lr"
expect 1 "bad-options.rule:[0-9]+:[0-9]+: error: the inner batch of 64 is larger than the 20 training samples of a task" 1 -- \
  "$PLASTCC" run "$bad_options" --experiment big_batch --out "$work/bb"
[ ! -e "$work/lr" ] && [ ! -e "$work/bb" ] || bad "an experiment with errors created its output folder"

# out of memory: a model whose W1 is 6.9 GB under a 4 GB address-space
# limit is reported with the size and the matrix (a sanitizer build cannot
# run under the limit at all: skipped there)
if (ulimit -v 4000000 && "$PLASTCC" --version) > /dev/null 2>&1; then
  expect 1 "run stopped: episode 0: cannot allocate 6866 MB for W1 \(30000 x 30000 doubles\)" 1 -- \
    sh -c "ulimit -v 4000000 && exec \"\$0\" \"\$@\"" "$PLASTCC" run "$top_srcdir/tests/runtime/run/oom.rule" --out "$work/oom" --quiet --threads 1
else
  echo "ulimit -v 4000000 is not possible here (a sanitizer build?): out-of-memory case skipped"
fi

# an output folder with results: refused (the files stay as they were),
# --force replaces them; --force with --resume is a usage error
"$PLASTCC" run "$rules" --experiment ok --out "$work/res" --quiet > /dev/null 2>&1 || bad "run ok"
cp -r "$work/res" "$work/res.before"
expect 1 "$work/res holds the results of an earlier run \(log.csv, meta-state.txt, learned.rule, meta.csv\); continue it with --resume $work/res, or replace them with --force" 1 -- \
  "$PLASTCC" run "$rules" --experiment ok --out "$work/res" --quiet --episodes 2
for f in log.csv meta-state.txt learned.rule meta.csv meta-accuracy.svg; do
  cmp -s "$work/res/$f" "$work/res.before/$f" || bad "the refused run changed $f"
done
"$PLASTCC" run "$rules" --experiment ok --out "$work/res" --quiet --episodes 2 --force > /dev/null 2>&1 || bad "--force"
[ "$(wc -l < "$work/res/log.csv")" -eq 3 ] || bad "--force did not replace log.csv"
expect 2 '--force starts a run again; --resume continues it' 1 -- \
  "$PLASTCC" run "$rules" --experiment ok --resume "$work/res" --force

# two runs into one folder: the second is refused with the holder's pid, and
# the first's log holds its own rows only
"$PLASTCC" run "$rules" --experiment ok --episodes 100000 --threads 1 --out "$work/busy" --quiet > /dev/null 2>&1 &
pid=$!
i=0
# (wait until it holds the folder and has logged an episode, so that the
# check of its log below has rows to check, however slow this build)
while [ $i -lt 1200 ] && ! { grep -q "^pid $pid " "$work/busy/.plastcc.lock" 2>/dev/null &&
        [ "$(wc -l < "$work/busy/log.csv" 2>/dev/null || echo 0)" -ge 2 ]; }; do sleep 0.05; i=$((i + 1)); done
expect 1 "$work/busy is in use by another run \(pid $pid since [-0-9]+ [0-9:]+: plastcc run .*errors.rule --experiment ok\)" 1 -- \
  "$PLASTCC" run "$rules" --experiment ok --out "$work/busy" --quiet --force
expect 1 "$work/busy is in use by another run \(pid $pid " 1 -- \
  "$PLASTCC" run "$rules" --experiment ok --resume "$work/busy" --quiet
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
awk -F, 'NR > 1 && $1 != NR - 2 { exit 1 }' "$work/busy/log.csv" || bad "the first run's log.csv has foreign rows"
exit $fail
