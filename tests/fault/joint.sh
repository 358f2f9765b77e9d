#!/bin/sh
# joint.sh — faults in a run of the joint scheme (`train joint`): SIGTERM
# and SIGINT stop it after the minibatch in flight with everything written
# (status 128 + the signal) and a resume ends bit for bit where an
# undisturbed run ends; two signals at once stop it at once and the state
# it kept still resumes to the same end; kill -9 at random moments in a
# loop, each continued with --resume, the same.  (tests/runtime/joint.sh has one
# kill -9 and the refusals of a changed experiment.)  Damaged joint-states
# are refused naming the line, and change nothing.  A full disk (a small
# tmpfs, when a mount namespace can be had) stops a run naming the file,
# with no claim of results, and what it kept resumes to the same bits.
. "$top_srcdir/tests/fault/common.sh"
rules=$top_srcdir/tests/runtime/joint/joint.rule
run() { "$PLASTCC" run "$rules" --experiment hat_long --threads 1 --quiet "$@"; }
if [ "${1:-}" = --inside ]; then   # in a mount namespace: a file system of size $2 at $3, a run into it
  mount -t tmpfs -o size="$2" tmpfs "$3" || exit 99
  run --out "$3/o" > "$3.out" 2> "$3.err"
  echo $? > "$3.rc"
  cp -a "$3/o" "$3.copy" 2>/dev/null
  exit 0
fi
batches() { sed -n 's/^batches //p' "$1/joint-state.txt" 2>/dev/null; }
# wait_batches DIR N PID: until DIR's joint-state has N or more minibatches
wait_batches() { wait_count "$1/joint-state.txt" batches "$2" "$3"; }
# same_joint DIR WHAT: DIR ends where the undisturbed run ended
same_joint() {
  same=0
  for f in joint-state.txt test.csv learned.rule meta.csv; do
    cmp -s "$work/ref/$f" "$1/$f" || { bad "$2: $f differs from the undisturbed run's"; same=1; }
  done
  cut -d, -f1-9 "$work/ref/log.csv" > "$work/ref.cols"; cut -d, -f1-9 "$1/log.csv" > "$work/got.cols"
  cmp -s "$work/ref.cols" "$work/got.cols" || { bad "$2: log.csv differs (beyond the seconds)"; same=1; }
  [ -z "$(find "$1" -name '*.tmp')" ] || { bad "$2: a temporary was left: $(find "$1" -name '*.tmp')"; same=1; }
  return $same
}
run --out "$work/ref" > /dev/null 2>&1 || bad "the undisturbed run"
total=$(batches "$work/ref")

# 1. SIGTERM, then SIGINT: a clean stop each time, every output written
i=0
for sig in TERM INT; do
  i=$((i + 1))
  [ $sig = TERM ] && want=143 || want=130
  [ $i -eq 1 ] && set -- --out "$work/s" || set -- --resume "$work/s"
  before=$(batches "$work/s")
  "$PLASTCC" run "$rules" --experiment hat_long --threads 1 --quiet "$@" > "$work/s.out" 2> "$work/s.err" &
  pid=$!
  wait_batches "$work/s" $(( ${before:-0} + 40 )) $pid || bad "SIG$sig: the run saved no state"
  kill -$sig $pid; wait $pid; rc=$?
  [ $rc -eq $want ] || { cat "$work/s.err"; bad "SIG$sig: exit status $rc, expected $want"; }
  at=$(batches "$work/s")
  grep -q "stopped after minibatch $at; the results so far are in $work/s; continue with --resume $work/s" "$work/s.err" ||
    { cat "$work/s.err"; bad "SIG$sig: no message of where it stopped"; }
  [ "$at" -lt "$total" ] || bad "SIG$sig came too late to test a stop ($at of $total)"
  for f in log.csv test.csv joint-state.txt run.txt learned.rule meta.csv learning-curve.svg train-loss.svg; do
    [ -s "$work/s/$f" ] || bad "SIG$sig: $f not written"
  done
  grep -q "^batches $at\$" "$work/s/run.txt" || bad "SIG$sig: run.txt is not the state's ($at minibatches)"
  [ "$(($(wc -l < "$work/s/log.csv") - 1))" -eq "$at" ] || bad "SIG$sig: log.csv has other rows than the $at minibatches done"
  echo "SIG$sig: stopped after minibatch $at with every file written (status $rc)"
done
run --resume "$work/s" > /dev/null 2>&1 || bad "the resume after the signals"
same_joint "$work/s" "stopped by SIGTERM and SIGINT, resumed"

# 2. two signals at once: it stops at once; what it kept resumes to the same end
"$PLASTCC" run "$rules" --experiment hat_long --threads 1 --quiet --out "$work/d" > /dev/null 2>&1 &
pid=$!
wait_batches "$work/d" 20 $pid || bad "two signals: the run saved no state"
kill -TERM $pid; kill -TERM $pid; wait $pid; rc=$?
[ $rc -eq 143 ] || bad "two signals: exit status $rc, expected 143"
run --resume "$work/d" > /dev/null 2>&1 || bad "the resume after two signals"
same_joint "$work/d" "stopped at once by two signals, resumed"
echo "two SIGTERMs: stopped at once; the resume ends as the undisturbed run"

# 3. kill -9 at random moments (a seeded LCG), each continued with --resume
seed=${KILL_SEED:-777}
random_ms() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); echo "$(( seed / 65536 % $1 ))"; }
kills=0 rounds=0
while [ $rounds -lt 30 ] && [ $kills -lt 6 ]; do
  rounds=$((rounds + 1))
  if [ -f "$work/k/joint-state.txt" ]; then set -- --resume "$work/k"; else set -- --out "$work/k" --force; fi
  before=$(batches "$work/k")
  "$PLASTCC" run "$rules" --experiment hat_long --threads 1 --quiet "$@" > "$work/k.out" 2>&1 &
  pid=$!
  wait_batches "$work/k" $(( ${before:-0} + 1 )) $pid
  ms=$(random_ms 400); sleep "0.$(printf %03d "$ms")"
  if kill -9 $pid 2>/dev/null; then
    wait $pid 2>/dev/null
    kills=$((kills + 1))
  else
    wait $pid || { cat "$work/k.out"; bad "a run between kills failed"; break; }
    [ "$(batches "$work/k")" = "$total" ] && break
  fi
done
[ -f "$work/k/joint-state.txt" ] && set -- --resume "$work/k" || set -- --out "$work/k" --force
run "$@" > "$work/k.out" 2>&1 || { cat "$work/k.out"; bad "the final resume"; }
same_joint "$work/k" "$kills kill -9 at random moments, each resumed"
echo "$kills kill -9 at random moments ($rounds runs): the resume ends as the undisturbed run"
# 4. damaged joint-states: each refused naming the file, its line and what
#    is wrong, and nothing in the folder changed
corrupt() {   # corrupt PATTERN SED-SCRIPT: a copy of the finished run, edited, must be refused saying PATTERN
  rm -rf "$work/c" && cp -r "$work/ref" "$work/c"
  sed -i "$2" "$work/c/joint-state.txt"
  snapshot "$work/c" > "$work/c.before"
  run --resume "$work/c" > "$work/c.out" 2>&1 && { bad "a joint-state edited by '$2' was resumed"; return; }
  grep -Eq "cannot resume: $work/c/joint-state.txt:$1" "$work/c.out" || { cat "$work/c.out"; bad "'$2': no message '$1'"; }
  snapshot "$work/c" > "$work/c.after"
  cmp -s "$work/c.before" "$work/c.after" || bad "'$2': a refused resume changed the folder"
  echo "refused ($2): $(grep -o 'joint-state.txt:.*' "$work/c.out" | head -1)"
}
corrupt "[0-9]+: batches -3 is out of range" 's/^batches .*/batches -3/'
corrupt "[0-9]+: expected an integer after batches, found 'many'" 's/^batches .*/batches many/'
corrupt "[0-9]+: lr_factor 0 is out of range" 's/ lr_factor 1 / lr_factor 0 /'
corrupt "[0-9]+: learner_adam_steps 9999 is out of range" 's/^learner_adam_steps [0-9]*/learner_adam_steps 9999/'
corrupt "20: theta of [a-z_]+ is nan" '20s/^0 [^ ]*/0 nan/'
corrupt "20: the scale of [a-z_]+ is 0; expected a value > 0" '20s/ 1$/ 0/'
corrupt "64: the Adam second moment of W1\[0\] is -1; expected a value >= 0" '64s/ [^ ]*$/ -1/'
corrupt "64: the value of W1\[0\] is inf" '64s/^[^ ]*/inf/'
corrupt "63: buffer W9, but the learner's next buffer is W1" '63s/W1/W9/'
corrupt "[0-9]+: the file ends here; expected a learner value's line" '$d'
corrupt "[0-9]+: unexpected text after the last buffer" '$a extra'

# 5. full disks: the log, the state, learned.rule, a plot meet the end of a small tmpfs
mkdir "$work/probe"
if unshare -rm sh -c "mount -t tmpfs -o size=16k tmpfs '$work/probe'" 2>/dev/null; then
  for size in 12k 40k 100k 136k 160k; do
    m=$work/full$size
    mkdir "$m"
    unshare -rm sh "$0" --inside "$size" "$m" || { bad "$size: could not mount"; continue; }
    rc=$(cat "$m.rc")
    if [ "$rc" -eq 0 ]; then echo "full disk $size: room enough"; same_joint "$m.copy" "full disk $size"; continue; fi
    [ "$rc" -eq 1 ] || { cat "$m.err"; bad "full disk $size: exit status $rc"; continue; }
    grep -Eq "cannot write $m/o/[a-z.-]+: No space left on device" "$m.err" ||
      { cat "$m.err"; bad "full disk $size: no message naming the file"; }
    grep -q 'results in' "$m.out" && bad "full disk $size: it claims 'results in'"
    [ ! -f "$m.copy/learned.rule" ] || "$PLASTCC" check "$m.copy/learned.rule" > /dev/null 2>&1 ||
      bad "full disk $size: learned.rule is not whole"
    what="nothing to resume"
    if [ -f "$m.copy/joint-state.txt" ]; then
      grep -q "keeps the state last saved; continue with --resume $m/o" "$m.err" || bad "full disk $size: no word of the state kept"
      run --resume "$m.copy" > "$m.resume" 2>&1 || { cat "$m.resume"; bad "full disk $size: resume"; }
      same_joint "$m.copy" "full disk $size, resumed on a disk with room" && what="resumed to the same bits"
    fi
    full=$(grep -Eo "cannot write [^ ]+: No space" "$m.err" | sed "s|cannot write $m/o/||; s|: No space||" | sort -u | tr '\n' ' ')
    echo "full disk $size: no space for ${full}; $what"
  done
else
  echo "no mount namespace here (unshare -rm and mount -t tmpfs are refused): the full-disk cases are skipped"
fi
exit $fail
