#!/bin/sh
# run-resume.sh — stopping and resuming `plastcc run`: SIGTERM stops after
# the episode in flight with every file written, and a resume without
# options continues with the run's own (--episodes, --seed) to the numbers of
# an uninterrupted run; a second signal stops at once and the state still
# resumes; a resume of a changed experiment is refused naming what changed;
# a resume that fails writes nothing.
. "$top_srcdir/tests/fault/common.sh"   # work, bad, snapshot, wait_episode
sed "s|\"../../../rules/|\"$top_srcdir/rules/|" "$top_srcdir/tests/runtime/run/resume.rule" > "$work/resume.rule"
rules=$work/resume.rule
run() { "$PLASTCC" run "$rules" --threads 1 --quiet "$@"; }

# 1. SIGTERM: a clean stop after the episode in flight (exit 143), the log,
#    the meta-state and learned.rule all at the same episode; then a resume
#    without options runs on to --episodes 300 with --seed 9, as the run was
#    told, and ends with the uninterrupted run's meta-state and log
run --experiment quick --episodes 300 --seed 9 --out "$work/full" > /dev/null 2>&1 || bad "uninterrupted run"
"$PLASTCC" run "$rules" --threads 1 --quiet --experiment quick --episodes 300 --seed 9 --out "$work/t" \
    > /dev/null 2> "$work/t.err" &
pid=$!
wait_episode "$work/t" 3 $pid || bad "no meta-state to stop after"
kill -TERM $pid; wait $pid; rc=$?
[ $rc -eq 143 ] || { cat "$work/t.err"; bad "SIGTERM: exit status $rc, expected 143"; }
done_n=$(sed -n 's/^episode //p' "$work/t/meta-state.txt")
grep -q "stopping after the episode in flight" "$work/t.err" || bad "no message on SIGTERM"
grep -q "the results of the $done_n episodes done are in $work/t; continue with --resume $work/t" "$work/t.err" ||
  { cat "$work/t.err"; bad "no message saying what the stopped run kept"; }
[ "$(($(wc -l < "$work/t/log.csv") - 1))" -eq "$done_n" ] || bad "log.csv and meta-state.txt disagree after SIGTERM"
grep -q "after $done_n episodes" "$work/t/learned.rule" || bad "learned.rule is not of episode $done_n"
[ "$done_n" -lt 300 ] || bad "the run ended before SIGTERM (nothing tested)"
run --resume "$work/t" > "$work/t2.out" 2>&1 || { cat "$work/t2.out"; bad "resume without options"; }
cmp -s "$work/full/meta-state.txt" "$work/t/meta-state.txt" || bad "SIGTERM + resume ends elsewhere than the uninterrupted run"
cmp -s "$work/full/learned.rule" "$work/t/learned.rule" || bad "learned.rule differs after the resume"
cut -d, -f1-3,8- "$work/full/log.csv" > "$work/full.cols"; cut -d, -f1-3,8- "$work/t/log.csv" > "$work/t.cols"
cmp -s "$work/full.cols" "$work/t.cols" || bad "log.csv differs after SIGTERM and resume"
echo "SIGTERM after $done_n episodes: stopped cleanly; resumed without options to 300 with seed 9: same bits"

# 2. a resume of a changed experiment is refused, saying what changed, and
#    changes nothing; the same with --episodes more continues
snapshot "$work/t" > "$work/t.sum"
refused() {   # refused PATTERN -- RUN-ARGS...: the resume exits 1 naming the change
  pattern=$1; shift 2
  run "$@" > "$work/r.out" 2>&1 && { bad "resume of a changed experiment exited 0 ($*)"; return; }
  grep -q "cannot resume: the experiment differs from the run in $work/t:" "$work/r.out" &&
    grep -Eq -- "$pattern" "$work/r.out" || { cat "$work/r.out"; bad "the refusal does not say '$pattern'"; }
  snapshot "$work/t" | cmp -s - "$work/t.sum" || bad "a refused resume changed $work/t ($*)"
  echo "refused: $(grep -E -- "$pattern" "$work/r.out" | head -1)"
}
refused "seed: '9' in the run, '10' now" -- --resume "$work/t" --seed 10
refused "precision: 'double' in the run, 'single' now" -- --resume "$work/t" --precision single
sed 's/meta adam lr 1e-3 episodes 300/meta adam lr 2e-3 episodes 300/' "$rules" > "$work/lr.rule"
sed 's/dw = - theta \* post.e \* pre.y;/dw = - theta * post.e * pre.y - theta * w;/' "$rules" > "$work/rule.rule"
sed 's/tasks ways 2 train 10 query 5;/tasks ways 2 train 12 query 5;/' "$rules" > "$work/tasks.rule"
sed 's/dense 8 softplus(10);/dense 9 softplus(10);/' "$rules" > "$work/model.rule"
for v in lr rule tasks model; do cp "$work/$v.rule" "$work/v-$v.rule"; done
rules=$work/v-lr.rule refused "meta: 'lr 0.001 [^']*' in the run, 'lr 0.002 [^']*' now" -- --resume "$work/t"
rules=$work/v-rule.rule refused "rule own: its text differs from the run's" -- --resume "$work/t"
rules=$work/v-tasks.rule refused "tasks: 'ways 2 train 10 query 5' in the run, 'ways 2 train 12 query 5' now" -- --resume "$work/t"
rules=$work/v-model.rule refused "model moons_net: 'input 2 dense 8 [^']*' in the run, 'input 2 dense 9 " -- --resume "$work/t"
run --resume "$work/t" --episodes 305 > "$work/more.out" 2>&1 || { cat "$work/more.out"; bad "resume with more episodes"; }
grep -q '^episode 305$' "$work/t/meta-state.txt" || bad "resume --episodes 305 did not run to 305"
echo "a resume may run longer: --episodes 305 continued"

# 3. a resume that fails (a hand-edited meta-state) names the line and
#    writes nothing
sed -i 's/^adam_steps .*/adam_steps -3/' "$work/t/meta-state.txt"
snapshot "$work/t" > "$work/t.sum"
run --resume "$work/t" --episodes 310 > "$work/c.out" 2>&1 && bad "resume of a corrupt meta-state exited 0"
grep -Eq "cannot resume: $work/t/meta-state.txt:[0-9]+: adam_steps -3 is out of range" "$work/c.out" ||
  { cat "$work/c.out"; bad "no located message for a corrupt meta-state"; }
snapshot "$work/t" | cmp -s - "$work/t.sum" || bad "a failed resume changed $work/t"
echo "corrupt meta-state: $(grep -o 'cannot resume: .*' "$work/c.out" | head -1)"

# 4. a second SIGTERM stops at once, in the middle of an episode: no final
#    message, every file whole, and the state resumes to the uninterrupted end
rules=$work/resume.rule
run --experiment slow --out "$work/sfull" > /dev/null 2>&1 || bad "slow run"
"$PLASTCC" run "$rules" --threads 1 --quiet --experiment slow --out "$work/s" > /dev/null 2> "$work/s.err" &
pid=$!
wait_episode "$work/s" 1 $pid || bad "no meta-state to stop after (slow)"
kill -TERM $pid; sleep 0.05; kill -TERM $pid; wait $pid; rc=$?
[ $rc -eq 143 ] || bad "two SIGTERMs: exit status $rc, expected 143"
grep -q "episodes done are in" "$work/s.err" && bad "the second SIGTERM did not stop at once"
run --resume "$work/s" > "$work/s2.out" 2>&1 || { cat "$work/s2.out"; bad "resume after two SIGTERMs"; }
cmp -s "$work/sfull/meta-state.txt" "$work/s/meta-state.txt" || bad "two SIGTERMs + resume ends elsewhere"
echo "two SIGTERMs: stopped at once; resumed to the same bits"
exit $fail
