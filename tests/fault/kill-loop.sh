#!/bin/sh
# kill-loop.sh — kill -9 at random moments, again and again, each time
# continuing the run as a user would (--resume once a meta-state exists,
# else starting again with --force): every file stays whole after each kill,
# and the run ends bit for bit where an undisturbed run ends.  Every fourth
# kill lands at a random moment of the start (compiling, loading, locking);
# the others at a random moment after the training has written a new
# meta-state (an episode, a log row, a meta-state being written).
. "$top_srcdir/tests/fault/common.sh"
episodes=2000   # enough training (2-3 s) for the kills to land in it: 600 took 0.7 s
run() { "$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --episodes $episodes "$@"; }
run --out "$work/ref" > /dev/null 2>&1 || bad "the undisturbed run"

seed=${KILL_SEED:-12345}   # a reproducible sequence of delays, from the test's own LCG
random_ms() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); echo "$(( seed / 65536 % $1 ))"; }
pause() { ms=$(random_ms "$1"); sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"; }
episode() { sed -n 's/^episode //p' "$work/k/meta-state.txt" 2>/dev/null; }

kills=0 in_training=0 rounds=0
while [ $rounds -lt 60 ] && [ $kills -lt 16 ]; do
  rounds=$((rounds + 1))
  if [ -f "$work/k/meta-state.txt" ]; then set -- --resume "$work/k"; else set -- --out "$work/k" --force; fi
  before=$(episode)
  "$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --episodes $episodes "$@" > "$work/out" 2>&1 &
  pid=$!
  if [ $((rounds % 4)) -eq 0 ]; then pause 800
  elif wait_episode "$work/k" "$(( ${before:-0} + 1 ))" $pid; then pause 150
  fi
  if kill -9 $pid 2>/dev/null; then
    wait $pid 2>/dev/null
    kills=$((kills + 1))
    [ "$(episode)" != "$before" ] && in_training=$((in_training + 1))
    [ -d "$work/k" ] && whole "$work/k" "after kill $kills"
  else
    wait $pid || { cat "$work/out"; bad "a run between kills failed"; break; }
    [ "$(episode)" = $episodes ] && break
  fi
done
[ -f "$work/k/meta-state.txt" ] && set -- --resume "$work/k" || set -- --out "$work/k" --force
run "$@" > "$work/out" 2>&1 || { cat "$work/out"; bad "the final resume"; }
[ $in_training -ge 6 ] || bad "only $in_training kills landed in the training"
same_run "$work/ref" "$work/k" "$kills kills -9 and resumes" &&
  echo "$kills kills -9 at random moments ($in_training in the training; delays from seed ${KILL_SEED:-12345}), each resumed: the undisturbed run's bits"
exit $fail
