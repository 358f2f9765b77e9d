#!/bin/sh
# eval.sh — `plastcc eval`: fixed rules over new tasks.  Its summary agrees
# with its own per-task rows, the curves end where the tasks end, threads do
# not change a bit, a rule that cannot learn gives flat curves, a learned.rule
# changes the numbers (and a wrong one is refused), outputs are not
# overwritten without --force, bad options are usage errors, and the
# diagnostics (alignment angles, orthonormality errors) follow the stream.
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

# 6. the diagnostics along the stream (curve.csv's alpha_l and orth_l, mean
#    and se over the tasks at every point): the last point is the mean of
#    tasks.csv's end-of-stream values, symmetric feedback is at 0 degrees at
#    every point, the angles move with random feedback, 2 threads give the
#    same bits, and the charts (per layer, and --compare's on one chart)
cat > "$work/diag.rule" <<EOR
import "$top_srcdir/tests/runtime/run/tiny.rule";
model m3fa { input 2; dense 12 softplus(10); dense 8 softplus(10); dense 2 softmax; loss cross_entropy; feedback random; }
model m3bp { input 2; dense 12 softplus(10); dense 8 softplus(10); dense 2 softmax; loss cross_entropy; feedback symmetric; }
experiment dfa { model m3fa; rule fa_sgd; data moons n 400 noise 0.1; tasks ways 2 train 20 query 10; inner online;
  diagnostics alignment orthonormality; seed 3; }
experiment dbp { model m3bp; rule fa_sgd; data moons n 400 noise 0.1; tasks ways 2 train 20 query 10; inner online;
  diagnostics alignment orthonormality; seed 3; }
EOR
printf 'rule fa_sgd { param theta = 0.05; dw = - theta * post.e * pre.y; }\n' > "$work/fast.rule"
for x in dfa dbp; do
  for t in 1 2; do
    "$PLASTCC" eval "$work/diag.rule" --experiment $x --rules "$work/fast.rule" --tasks 6 --curve-every 8 \
      --threads $t --out "$work/$x-$t" --quiet > "$work/$x-$t.out" 2>&1 || { cat "$work/$x-$t.out"; bad "eval $x"; }
  done
  cmp -s "$work/$x-1/curve.csv" "$work/$x-2/curve.csv" || bad "$x: curve.csv differs on 2 threads"
  for f in curve-alignment.svg curve-orthonormality.svg; do [ -s "$work/$x-1/$f" ] || bad "$x: no $f"; done
done
$py - "$work/dfa-1" "$work/dbp-1" <<'PY' || bad "the diagnostics along the stream are wrong"
import csv, sys
def load(d):
    return list(csv.DictReader(open(d + "/tasks.csv"))), list(csv.DictReader(open(d + "/curve.csv")))
names = ["alpha_0", "alpha_1", "alpha_2", "orth_1", "orth_2"]
for d in sys.argv[1:]:
    tasks, curve = load(d)
    assert [int(r["steps"]) for r in curve] == [0, 8, 16, 24, 32, 40], [r["steps"] for r in curve]
    for n in names:
        assert n + "_mean" in curve[0] and n + "_se" in curve[0], (d, n, list(curve[0]))
        end = sum(float(t[n]) for t in tasks) / len(tasks)          # tasks.csv: 6 significant digits
        assert abs(float(curve[-1][n + "_mean"]) - end) <= 1e-5 * max(1, abs(end)), (d, n, curve[-1][n + "_mean"], end)
fa, bp = load(sys.argv[1])[1], load(sys.argv[2])[1]
for r in bp:
    for n in names[:3]:
        assert abs(float(r[n + "_mean"])) < 1e-4, ("symmetric feedback is not at 0 degrees", r["steps"], n, r[n + "_mean"])
for n in names[1:]:
    v = [float(r[n + "_mean"]) for r in fa]
    assert max(v) - min(v) > 1e-3, ("flat along the stream", n, v)
    assert all(float(r[n + "_se"]) > 0 for r in fa[1:]), ("no spread over tasks", n)
for r in fa:
    assert 0 < float(r["alpha_2_mean"]) < 180, r["alpha_2_mean"]
PY
"$PLASTCC" eval "$work/diag.rule" --experiment dfa --rules "$work/fast.rule" --tasks 6 --curve-every 8 --out "$work/cmp" \
  --label FA --compare BP="$work/dbp-1" --quiet > "$work/cmp.out" 2>&1 || { cat "$work/cmp.out"; bad "eval --compare"; }
for s in "FA alpha_1" "FA alpha_2" "BP alpha_1" "BP alpha_2"; do
  grep -q ">$s<" "$work/cmp/compare-alignment.svg" 2>/dev/null || bad "compare-alignment.svg has no curve '$s'"
done
say "eval: alignment angles and orthonormality errors at every curve point, per layer and compared"
exit $fail
