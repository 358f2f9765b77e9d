#!/bin/sh
# concurrent.sh — several runs started at once into one output folder, then
# several resumes at once of one stopped run: one works, every other is
# refused (the folder is in use, naming the holder, or it holds results),
# and the folder ends as an undisturbed run's, each episode logged once.
. "$top_srcdir/tests/fault/common.sh"
"$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --out "$work/ref" > /dev/null 2>&1 || bad "the undisturbed run"

# four fresh runs at once
at_once 4 run "is in use by another run \(pid [0-9]+ since |holds the results of an earlier run" -- \
  --experiment quick --out "$work/c"
same_run "$work/ref" "$work/c" "four concurrent runs" && echo "four runs at once into one folder: $ok ran, $((4 - ok)) refused; the folder is an undisturbed run's"

# a run stopped by SIGTERM, then three resumes at once
"$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --out "$work/s" > /dev/null 2>&1 &
pid=$!
wait_episode "$work/s" 5 $pid || bad "no meta-state to stop after"
kill -TERM $pid; wait $pid
at_once 3 resume "is in use by another run \(pid [0-9]+ since " -- --resume "$work/s"
same_run "$work/ref" "$work/s" "three concurrent resumes" && echo "three resumes at once: $ok ran, $((3 - ok)) refused; the undisturbed run's bits"
exit $fail
