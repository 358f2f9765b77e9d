#!/bin/sh
# weights-from.sh — 'weights from "DIR" on W1, ...;': every task's network
# starts from the saved weights named (plastcc latents --train saves them in
# its final/ folder), the other buffers drawn exactly as without the
# statement; a frozen rule keeps them; a missing or misshapen file is named;
# a resume whose 'weights from' changed is refused.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
cp "$top_srcdir/tests/runtime/weights/weights.rule" "$work/"
rules=$work/weights.rule
lat() { "$PLASTCC" latents "$rules" --samples 100 --points 20 --repeats 2 --labels 2,8 --force "$@" > "$work/lat.out" 2>&1; }

# saved weights: those of a network trained 20 steps
lat --experiment pre --train 20 --out "$work/o1" || { cat "$work/lat.out"; bad "latents pre"; }
mkdir -p "$work/w"
cp "$work/o1/final/W1.npy" "$work/o1/final/W2.npy" "$work/w/" 2>/dev/null || bad "no final weights"

# W1 given and frozen: the final W1 is the file, byte for byte; W2 trained
lat --experiment post --train 20 --out "$work/o2" || { cat "$work/lat.out"; bad "latents post"; }
cmp -s "$work/o2/final/W1.npy" "$work/w/W1.npy" || bad "W1 is not the saved W1"
cmp -s "$work/o2/final/W2.npy" "$work/o1/final/W2.npy" && bad "W2 was not trained from its own draw"

# the other buffers are drawn as without the statement
lat --experiment still_given --train 1 --out "$work/g" || { cat "$work/lat.out"; bad "latents still_given"; }
lat --experiment still_drawn --train 1 --out "$work/d" || { cat "$work/lat.out"; bad "latents still_drawn"; }
cmp -s "$work/g/final/W2.npy" "$work/d/final/W2.npy" || bad "W2 drawn differently when W1 is given"
cmp -s "$work/g/final/W1.npy" "$work/d/final/W1.npy" && bad "W1 drawn, not given"
cmp -s "$work/g/final/W1.npy" "$work/w/W1.npy" || bad "W1 of still_given is not the file"

# plastcc run and eval take it too
"$PLASTCC" run "$rules" --experiment post --out "$work/run" --quiet --threads 1 > "$work/run.out" 2>&1 ||
  { cat "$work/run.out"; bad "run post"; }
"$PLASTCC" eval "$rules" --experiment post --tasks 4 --out "$work/ev" --quiet --threads 1 > "$work/ev.out" 2>&1 ||
  { cat "$work/ev.out"; bad "eval post"; }

# errors: a file missing, a file of the wrong shape, each named
expect_error() {   # expect_error PATTERN ARGS...: exit status 1 and PATTERN in the message
  pattern=$1; shift
  "$PLASTCC" "$@" > "$work/err" 2>&1
  rc=$?
  if [ "$rc" -ne 1 ] || ! grep -qE -- "$pattern" "$work/err"; then bad "$* (status $rc): $(cat "$work/err")"
  else echo "ok: $(grep -E -- "$pattern" "$work/err" | head -1)"; fi
}
mkdir -p "$work/bad" && cp "$work/w/W2.npy" "$work/bad/W1.npy"
expect_error "weights from: .*/bad/W1.npy has shape \(2, 6\), but W1 is 6 x 2" eval "$rules" --experiment wrong --tasks 2 --out "$work/e1" --quiet
rm "$work/w/W1.npy"
expect_error "weights from: .*/w/W1.npy: No such file" eval "$rules" --experiment post --tasks 2 --out "$work/e2" --quiet
[ -e "$work/e2/summary.csv" ] && bad "an evaluation that could not start wrote results"

# a resume after the statement changed is refused, naming it
cp "$work/o1/final/W1.npy" "$work/w/"
sed 's/weights from "w" on W1;/weights from "w2" on W1;/' "$rules" > "$work/changed.rule"
mkdir -p "$work/w2" && cp "$work/w/W1.npy" "$work/w2/"
cp "$work/changed.rule" "$rules"
expect_error "weights: 'from .*/w\" on W1' in the run, 'from .*/w2\" on W1' now" run "$rules" --experiment post --resume "$work/run" --episodes 3 --quiet
exit $fail
