#!/bin/sh
# concurrent.sh — several runs started at once into one output folder, then
# several resumes at once of one stopped run: one works, every other is
# refused (the folder is in use, naming the holder, or it holds results),
# and the folder ends as an undisturbed run's, each episode logged once.
. "$top_srcdir/tests/fault/common.sh"
"$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --out "$work/ref" > /dev/null 2>&1 || bad "the undisturbed run"

# four fresh runs at once
pids=
for i in 1 2 3 4; do
  "$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --out "$work/c" > "$work/c$i.out" 2>&1 &
  pids="$pids $!"
done
ok=0 i=0
for p in $pids; do
  i=$((i + 1))
  if wait $p; then ok=$((ok + 1))
  elif ! grep -Eq "is in use by another run \(pid [0-9]+ since |holds the results of an earlier run" "$work/c$i.out"; then
    cat "$work/c$i.out"; bad "concurrent run $i failed without saying why"
  fi
done
[ $ok -ge 1 ] || bad "none of four concurrent runs worked"
same_run "$work/ref" "$work/c" "four concurrent runs" && echo "four runs at once into one folder: $ok ran, $((4 - ok)) refused; the folder is an undisturbed run's"

# a run stopped by SIGTERM, then three resumes at once
"$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --out "$work/s" > /dev/null 2>&1 &
pid=$!
wait_episode "$work/s" 5 $pid || bad "no meta-state to stop after"
kill -TERM $pid; wait $pid
pids=
for i in 1 2 3; do
  "$PLASTCC" run "$rules" --threads 1 --quiet --resume "$work/s" > "$work/s$i.out" 2>&1 &
  pids="$pids $!"
done
ok=0 i=0
for p in $pids; do
  i=$((i + 1))
  if wait $p; then ok=$((ok + 1))
  elif ! grep -Eq "is in use by another run \(pid [0-9]+ since " "$work/s$i.out"; then
    cat "$work/s$i.out"; bad "concurrent resume $i failed without saying why"
  fi
done
[ $ok -ge 1 ] || bad "none of three concurrent resumes worked"
same_run "$work/ref" "$work/s" "three concurrent resumes" && echo "three resumes at once: $ok ran, $((3 - ok)) refused; the undisturbed run's bits"
exit $fail
