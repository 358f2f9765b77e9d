#!/bin/sh
# eval-errors.sh — every error path of `plastcc eval`: usage errors (status
# 2); files, experiments and learned rules it cannot use; data sets that no
# task can be drawn from; tasks that diverge (some: left out of the means and
# named; all: nothing written); an output folder that cannot be made, is
# held by another run, or refuses a file.  Status 1 and a message naming the
# file and the problem, never a crash (the sanitizer build runs it too), and
# never a result that was not computed.
set -u
rules=$top_srcdir/tests/runtime/eval/errors.rule
data_errors=$top_srcdir/tests/runtime/run/errors.rule
work=$(mktemp -d)
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

expect() {   # expect STATUS PATTERN -- ARGS...: plastcc eval ARGS exits STATUS with PATTERN on stderr
  want=$1 pattern=$2; shift 3
  "$PLASTCC" eval "$@" > "$work/out" 2> "$work/err"; got=$?
  if [ $got -ne "$want" ] || ! grep -Eq -- "$pattern" "$work/err"; then
    bad "eval $* exited $got (expected $want) with:"; head -5 "$work/err"; return
  fi
  echo "ok ($got): $(grep -E -- "$pattern" "$work/err" | head -1)"
}
# nothing DIR: DIR holds no result (at most the lock file)
nothing() {
  left=$(ls "$1" 2>/dev/null)
  [ -z "$left" ] || bad "$1 holds $left after a failed evaluation"
}

"$PLASTCC" eval "$rules" --experiment ok --tasks 2 --out "$work/ok" --quiet > /dev/null 2> "$work/err" ||
  { cat "$work/err"; bad "the valid experiment fails"; }

# usage errors (and a FILE of several experiments without --experiment)
expect 2 'eval needs a FILE' -- --experiment ok
expect 2 'eval takes one FILE' -- "$rules" "$rules" --experiment ok
expect 2 "unknown option or missing value: '--bogus'" -- "$rules" --experiment ok --bogus
expect 2 "unknown option or missing value: '--tasks'" -- "$rules" --experiment ok --tasks
expect 2 "--tasks wants an integer from 1 to 1000000, not '1e9'" -- "$rules" --experiment ok --tasks 1e9
expect 2 "--first-task wants an integer from 0 to [0-9]+, not '-1'" -- "$rules" --experiment ok --first-task -1
expect 2 "--seed wants an integer from 0 to [0-9]+, not '12abc'" -- "$rules" --experiment ok --seed 12abc
expect 2 "unknown backend 'gpu'" -- "$rules" --experiment ok --backend gpu
expect 2 "unknown precision 'half'" -- "$rules" --experiment ok --precision half

# files and experiments it cannot use
expect 1 "cannot read '$work/none.rule': No such file or directory" -- "$work/none.rule" --out "$work/o"
expect 2 "errors.rule has 4 experiments; choose one with --experiment" -- "$data_errors" --out "$work/o"
expect 1 "errors.rule has no experiment 'nope'" -- "$rules" --experiment nope --out "$work/o"
printf 'rule r { param a = 1; dw = a * pre.q; }\nexperiment e { rule r; }\n' > "$work/broken.rule"
expect 1 "broken.rule:1:[0-9]+: error" -- "$work/broken.rule" --out "$work/o"
expect 1 "the diagnostics of experiment diag run in double precision only" -- \
  "$rules" --experiment diag --precision single --out "$work/o"
expect 1 "model loop: recurrent layers with top-down or lateral projections" -- "$rules" --experiment recurrent --out "$work/o"
expect 1 "no-such-images.gz: No such file or directory" -- "$rules" --experiment missing_data --out "$work/o"
nothing "$work/o"

# learned rules (--rules) it cannot use
printf 'rule fa_sgd { param theta = ; }\n' > "$work/syntax.rule"
printf 'rule fa_sgd { param theta[2] = [1, 2]; dw = - theta[0] * post.e * pre.y; }\n' > "$work/two.rule"
printf 'rule other { param a = 1; dw = a * pre.y; }\n' > "$work/other.rule"
expect 1 "syntax.rule:1:29: error: expected an expression" -- "$rules" --experiment ok --rules "$work/syntax.rule" --out "$work/o"
expect 1 "rule 'fa_sgd' of $work/two.rule declares other parameters than the experiment's \(2 values against 1\)" -- \
  "$rules" --experiment ok --rules "$work/two.rule" --out "$work/o"
expect 1 "$work/other.rule has no rule 'fa_sgd'" -- "$rules" --experiment ok --rules "$work/other.rule" --out "$work/o"
expect 1 "cannot read '$work/gone.rule'" -- "$rules" --experiment ok --rules "$work/gone.rule" --out "$work/o"
nothing "$work/o"

# data sets no task can be drawn from: every task fails the same way, and
# nothing is written (no table of NaN taken for a result)
expect 1 "all 3 tasks failed, so nothing was written; task 0: moons: class 0 has only 5 samples, but a task takes K\+Q = 30" -- \
  "$data_errors" --experiment few_samples --tasks 3 --out "$work/d1"
expect 1 "all 3 tasks failed, so nothing was written; task 0: moons: 5-way tasks need 5 classes, but the data set has only 2" -- \
  "$data_errors" --experiment ways_over_classes --tasks 3 --out "$work/d2"
expect 1 "all 3 tasks failed, so nothing was written; task 0: blobs: 2-way tasks need 2 classes, but the data set has only 1" -- \
  "$data_errors" --experiment one_center --tasks 3 --out "$work/d3"
for d in d1 d2 d3; do nothing "$work/$d"; done

# diverging tasks: all (nothing written), or some (left out of the means,
# the first named; the rest are the results)
printf 'rule explode { param a = 1; dw = a * exp(50 * w) * pre.y; }\n' > "$work/boom.rule"
printf 'rule explode { param a = 1e-18; dw = a * exp(50 * w) * pre.y; }\n' > "$work/some.rule"
expect 1 "all 3 tasks failed, so nothing was written; task 0: the weight update became NaN or Inf at inner step 1" -- \
  "$rules" --experiment diverge --rules "$work/boom.rule" --tasks 3 --out "$work/v1"
nothing "$work/v1"
expect 0 "3 of 6 tasks failed \(left out of the means\); task 2: the weight update became NaN or Inf at inner step 10" -- \
  "$rules" --experiment diverge --rules "$work/some.rule" --tasks 6 --threads 2 --out "$work/v2"
/usr/bin/python3 - "$work/v2" <<'PY' || bad "some tasks failed: tasks.csv and summary.csv do not say which"
import csv, math, sys
d = sys.argv[1]
tasks = list(csv.DictReader(open(d + "/tasks.csv")))
failed = [int(t["task"]) for t in tasks if math.isnan(float(t["query_loss"]))]
assert len(tasks) == 6 and len(failed) == 3 and failed[0] == 2, (len(tasks), failed)
summ = {r["metric"]: r for r in csv.DictReader(open(d + "/summary.csv"))}
assert all(int(summ[m]["n"]) == 3 and math.isfinite(float(summ[m]["mean"])) for m in summ), summ
PY

# the output folder: not a folder, held by another run, a file it cannot write
touch "$work/file"
expect 1 "cannot create $work/file/out: Not a directory" -- "$rules" --experiment ok --out "$work/file/out"
mkdir -p "$work/held"
echo "pid 1 since 2026-01-01 00:00:00: plastcc run elsewhere" > "$work/held/.plastcc.lock"
flock "$work/held/.plastcc.lock" sleep 60 & holder=$!
i=0
while [ $i -lt 100 ] && flock -n "$work/held/.plastcc.lock" true; do sleep 0.05; i=$((i + 1)); done
expect 1 "$work/held is in use by another run \(pid 1 since 2026-01-01 00:00:00: plastcc run elsewhere\)" -- \
  "$rules" --experiment ok --tasks 2 --out "$work/held"
kill "$holder"; holder=
nothing_but_lock=$(ls "$work/held")
[ -z "$nothing_but_lock" ] || bad "a refused evaluation wrote $nothing_but_lock"
for f in tasks.csv curve.csv summary.csv curve-accuracy.svg curve-loss.svg; do
  # NAME.tmp, where the file is written first, is a folder with a file: the
  # write fails, named, and the files written before it are whole
  rm -rf "$work/w" && mkdir -p "$work/w/$f.tmp/x"
  expect 1 "^plastcc: cannot write $work/w/$f: Is a directory" -- "$rules" --experiment ok --tasks 2 --out "$work/w"
  grep -q "results in" "$work/out" && bad "a failed write of $f still said 'results in'"
  [ ! -e "$work/w/$f" ] || bad "$f was written"
done
cmp -s "$work/ok/tasks.csv" "$work/w/tasks.csv" || bad "tasks.csv, written before the failed curve-loss.svg, is not whole"
rm -rf "$work/r" && mkdir -p "$work/r/tasks.csv/x"
expect 1 "^plastcc: --force: cannot remove $work/r/tasks.csv: Directory not empty" -- \
  "$rules" --experiment ok --tasks 2 --out "$work/r" --force
exit $fail
