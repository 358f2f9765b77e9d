#!/bin/sh
# eval.sh — `plastcc eval`: fixed rules over new tasks.  Its summary agrees
# with its own per-task rows, the curves end where the tasks end, threads do
# not change a bit, a rule that cannot learn gives flat curves, a learned.rule
# changes the numbers (and a wrong one is refused), outputs are not
# overwritten without --force, and bad options are usage errors.
set -u
rules=$top_srcdir/tests/runtime/run/tiny.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
say() { echo "$*"; }
bad() { echo "FAIL: $*"; fail=1; }
py=/usr/bin/python3

# 1. outputs, and a summary that is the mean of tasks.csv (recomputed here)
"$PLASTCC" eval "$rules" --experiment tiny --tasks 12 --curve-every 5 --out "$work/a" --threads 1 --quiet \
  > "$work/a.out" 2>&1 || { cat "$work/a.out"; bad "eval tiny"; }
for f in tasks.csv curve.csv summary.csv curve-accuracy.svg curve-loss.svg; do
  [ -s "$work/a/$f" ] || bad "eval did not write $f"
done
$py - "$work/a" <<'PY' || bad "summary.csv, curve.csv and tasks.csv disagree"
import csv, math, sys
d = sys.argv[1]
tasks = list(csv.DictReader(open(d + "/tasks.csv")))
summ = {r["metric"]: r for r in csv.DictReader(open(d + "/summary.csv"))}
curve = list(csv.DictReader(open(d + "/curve.csv")))
assert len(tasks) == 12, len(tasks)
for m in ("query_loss", "query_accuracy", "train_loss", "train_accuracy"):
    v = [float(t[m]) for t in tasks]
    mean = sum(v) / len(v)
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))
    assert abs(mean - float(summ[m]["mean"])) < 1e-9, (m, mean, summ[m])
    assert abs(sd - float(summ[m]["sd"])) < 1e-9, (m, sd, summ[m])
    assert abs(sd / math.sqrt(len(v)) - float(summ[m]["se"])) < 1e-9
# 40 online steps, a point every 5: 0, 5, ..., 40; the last is the end of the inner loop
assert [int(r["steps"]) for r in curve] == list(range(0, 41, 5)), [r["steps"] for r in curve]
for m in ("query_loss", "query_accuracy", "train_loss", "train_accuracy"):
    assert abs(float(curve[-1][m + "_mean"]) - float(summ[m]["mean"])) < 1e-9, m
PY
say "eval: 12 tasks, summary = mean/sd/se of tasks.csv, the last curve point = the end of the inner loop"

# 2. the same bits on 2 threads
"$PLASTCC" eval "$rules" --experiment tiny --tasks 12 --curve-every 5 --out "$work/b" --threads 2 --quiet >/dev/null 2>&1 ||
  bad "eval on 2 threads"
for f in tasks.csv curve.csv summary.csv; do cmp -s "$work/a/$f" "$work/b/$f" || bad "$f differs on 2 threads"; done
say "eval: 1 and 2 threads give identical results"

# 3. a rule with a zero learning rate cannot learn: every curve point is the first
cat > "$work/zero.rule" <<'R'
rule fa_sgd {
  param theta = 0;
  dw = - theta * post.e * pre.y;
}
R
"$PLASTCC" eval "$rules" --experiment tiny --tasks 4 --curve-every 10 --rules "$work/zero.rule" --out "$work/z" \
  --quiet >/dev/null 2>&1 || bad "eval with a zero rule"
$py - "$work/z/curve.csv" <<'PY' || bad "a rule that cannot learn moved the curves"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for key in rows[0]:
    if key.endswith("_mean") or key.endswith("_se"):
        assert all(r[key] == rows[0][key] for r in rows), key
PY
# 4. --rules changes the numbers (the rules' meta-parameters are used), and
#    the same first task gives the same tasks
cmp -s "$work/a/tasks.csv" "$work/z/tasks.csv" && bad "--rules did not change the results"
"$PLASTCC" eval "$rules" --experiment tiny --tasks 4 --curve-every 10 --rules "$work/zero.rule" --out "$work/z2" \
  --first-task 7 --quiet >/dev/null 2>&1 || bad "eval --first-task"
cmp -s "$work/z/tasks.csv" "$work/z2/tasks.csv" && bad "--first-task 7 gave the default's tasks"
say "eval: a zero learning rate gives flat curves; --rules and --first-task change the results"

# 5. refusals: a learned.rule without the experiment's rule, results in the
#    folder, bad options
printf 'rule other { param a = 1; dw = a * pre.y; }\n' > "$work/other.rule"
"$PLASTCC" eval "$rules" --experiment tiny --tasks 2 --rules "$work/other.rule" --out "$work/o" --quiet \
  > "$work/o.out" 2>&1 && bad "a learned.rule without the rule was accepted"
grep -q "has no rule 'fa_sgd'" "$work/o.out" || { cat "$work/o.out"; bad "no message for the missing rule"; }
cp "$work/a/tasks.csv" "$work/keep.csv"
"$PLASTCC" eval "$rules" --experiment tiny --tasks 2 --out "$work/a" --quiet > "$work/r.out" 2>&1 && bad "results overwritten"
grep -q "holds the results of an earlier evaluation" "$work/r.out" || { cat "$work/r.out"; bad "no refusal message"; }
cmp -s "$work/a/tasks.csv" "$work/keep.csv" || bad "a refused evaluation changed tasks.csv"
"$PLASTCC" eval "$rules" --experiment tiny --tasks 2 --out "$work/a" --force --quiet >/dev/null 2>&1 || bad "--force"
[ "$(($(wc -l < "$work/a/tasks.csv") - 1))" -eq 2 ] || bad "--force did not replace tasks.csv"
for opt in "--tasks 0" "--tasks abc" "--curve-every -1" "--threads 0" "--bogus"; do
  "$PLASTCC" eval "$rules" --experiment tiny $opt --out "$work/u" >/dev/null 2>&1
  [ $? -eq 2 ] || bad "eval $opt is not a usage error"
done
say "eval: refusals and usage errors"
exit $fail
