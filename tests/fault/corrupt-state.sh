#!/bin/sh
# corrupt-state.sh — a meta-state edited by hand or damaged (cut, emptied,
# garbled, a byte flipped, values out of range, another experiment's) is
# refused by a resume with the file and line, and nothing in the folder
# changes; a log.csv that lost rows still resumes to the undisturbed run.
. "$top_srcdir/tests/fault/common.sh"
run() { "$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet "$@"; }
run --out "$work/ref" > /dev/null 2>&1 || bad "the undisturbed run"
run --out "$work/half" --episodes 100 > /dev/null 2>&1 || bad "the first half"
cp "$work/half/meta-state.txt" "$work/state.good"
n=$(wc -l < "$work/state.good")

# damage NAME PATTERN COMMAND: COMMAND edits meta-state.txt; a resume exits 1
# with PATTERN and leaves the folder as it was
damage() {
  name=$1 pattern=$2; shift 2
  cp "$work/state.good" "$work/half/meta-state.txt"
  (cd "$work/half" && eval "$*")
  snapshot "$work/half" > "$work/before"
  run --resume "$work/half" > "$work/out" 2>&1; rc=$?
  if [ $rc -ne 1 ] || ! grep -Eq -- "$pattern" "$work/out"; then cat "$work/out"; bad "$name: exit $rc"; return; fi
  snapshot "$work/half" | cmp -s - "$work/before" || bad "$name: the failed resume changed the folder"
  echo "$name: $(grep -Eo -- "$pattern.*" "$work/out" | head -1)"
}
damage "cut in half" "meta-state.txt:[0-9]+: " "head -c $(($(wc -c < "$work/state.good") / 2)) meta-state.txt > x && mv x meta-state.txt"
damage "emptied" "meta-state.txt:1: the file ends here" ": > meta-state.txt"
damage "binary garbage" "meta-state.txt:1: not a meta-state file" "head -c 300 /dev/urandom | tr '\n' x > meta-state.txt"
damage "a digit made a letter" "meta-state.txt:$n: theta of theta is '[^']*', not a number" "sed -i '\$s/^0 \([0-9.-]*\)[0-9]/0 \1q/' meta-state.txt"
damage "NaN theta" "meta-state.txt:$n: theta of theta is nan" "sed -i '\$s/^0 [^ ]*/0 nan/' meta-state.txt"
damage "negative second moment" "meta-state.txt:$n: the Adam second moment of theta is -" "sed -i '\$s/^0 \([^ ]*\) \([^ ]*\) \([^ ]*\) [^ ]*/0 \1 \2 \3 -0.5/' meta-state.txt"
damage "zero scale" "meta-state.txt:$n: the scale of theta is 0" "sed -i '\$s/^0 \([^ ]*\) \([^ ]*\) \([^ ]*\) \([^ ]*\) [^ ]*/0 \1 \2 \3 \4 0/' meta-state.txt"
damage "episode -1" "meta-state.txt:[0-9]+: episode -1 is out of range" "sed -i 's/^episode .*/episode -1/' meta-state.txt"
damage "absurd episode" "meta-state.txt:[0-9]+: episode 99999999999 is out of range" "sed -i 's/^episode .*/episode 99999999999/' meta-state.txt"
damage "lr_factor NaN" "meta-state.txt:[0-9]+: the value of lr_factor is nan" "sed -i 's/^lr_factor .*/lr_factor nan/' meta-state.txt"
damage "another rule" "meta-state.txt:[0-9]+: rule oja, but the experiment's rule 1 is fa_sgd" "sed -i 's/^rule fa_sgd 1$/rule oja 1/' meta-state.txt"
damage "another experiment" "the experiment differs from the run in $work/half:" "sed -i 's/^seed 6$/seed 7/' meta-state.txt"
damage "a line added" "meta-state.txt:$((n + 1)): unexpected text after the last rule" "echo 1 2 3 >> meta-state.txt"

# a log that lost its last rows and ends in a cut one still resumes: the
# meta-parameters end where the undisturbed run's end, the cut row is gone
cp "$work/state.good" "$work/half/meta-state.txt"
head -n 80 "$work/half/log.csv" > "$work/x" && printf '80,0.6' >> "$work/x" && mv "$work/x" "$work/half/log.csv"
run --resume "$work/half" --episodes 200 > "$work/out" 2>&1 || { cat "$work/out"; bad "resume after the log lost rows"; }
same_numbers "$work/ref" "$work/half" || bad "resume after the log lost rows ends elsewhere"
grep -q '^80,0.6$' "$work/half/log.csv" && bad "the cut row stayed in log.csv"
[ "$(($(wc -l < "$work/half/log.csv") - 1))" -eq 179 ] || bad "log.csv: $(wc -l < "$work/half/log.csv") lines, expected 180"
echo "a log cut at row 79 with a partial row: resumed to the undisturbed run's meta-state"
exit $fail
