#!/bin/sh
# joint.sh — `plastcc run` on `train joint` experiments (paper 001's scheme):
# the outputs, the same bits for 1 and 2 threads, a kill -9 resumed ends where
# an uninterrupted run ends, the control (a rule that does nothing) is plain
# backprop whether the rules update inside the forward pass or last, a rule
# that leaves the learner without gradient is reported, learned.rule
# carries the meta-MLP's weights: imported, it computes exactly what the
# trained values compute, and the minibatches' episodes reuse their buffers
# (page faults do not grow with the minibatches).
set -u
rules=$top_srcdir/tests/runtime/joint/joint.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
run() { "$PLASTCC" run "$rules" --quiet "$@"; }

# 0. the example of paper 001 checks (it trains on Fashion-MNIST: not run here)
"$PLASTCC" check "$top_srcdir/examples/001-hat/hat.rule" > /dev/null || bad "examples/001-hat/hat.rule does not check"

# 1. a run and its outputs
run --experiment hat --out "$work/a" > "$work/a.out" 2> "$work/a.err" || { cat "$work/a.out" "$work/a.err"; bad "run hat"; }
for f in log.csv test.csv joint-state.txt run.txt learned.rule meta.csv learning-curve.svg train-loss.svg; do
  [ -s "$work/a/$f" ] || bad "run hat did not write $f"
done
[ "$(($(wc -l < "$work/a/log.csv") - 1))" -eq 100 ] || bad "log.csv has $(wc -l < "$work/a/log.csv") lines, expected 1 + 100"
[ "$(($(wc -l < "$work/a/test.csv") - 1))" -eq 11 ] || bad "test.csv: $(wc -l < "$work/a/test.csv") lines, expected 1 + 11"
head -1 "$work/a/log.csv" | grep -q '^batch,epoch,samples,loss,accuracy,grad_norm,learner_grad_norm,clipped,lr,seconds,eta$' ||
  bad "log.csv header: $(head -1 "$work/a/log.csv")"
grep -q '^labelled 1$' "$work/a/run.txt" || bad "run.txt: $(cat "$work/a/run.txt")"
awk -F, 'NR == 2 { a0 = $4 } END { if (!($4 > a0)) exit 1 }' "$work/a/test.csv" || bad "the test accuracy did not rise"
grep -q '<polyline' "$work/a/learning-curve.svg" || bad "learning-curve.svg has no curve"
grep -q 'warning' "$work/a.err" && bad "a learning run printed a warning: $(cat "$work/a.err")"
"$PLASTCC" check "$work/a/learned.rule" > /dev/null || bad "learned.rule does not check"
grep -q 'weights \[' "$work/a/learned.rule" || bad "learned.rule has no mlp weights"
echo "joint: 100 minibatches logged, 11 test evaluations, test accuracy $(sed -n 's/^test_accuracy //p' "$work/a/run.txt")"

# 2. 1 and 2 threads: the same bits
run --experiment hat --out "$work/t2" --threads 2 > /dev/null 2>&1 || bad "run hat, 2 threads"
run --experiment hat --out "$work/t1" --threads 1 > /dev/null 2>&1 || bad "run hat, 1 thread"
cmp -s "$work/t1/joint-state.txt" "$work/t2/joint-state.txt" || bad "1 and 2 threads give different states"
cmp -s "$work/t1/test.csv" "$work/t2/test.csv" || bad "1 and 2 threads give different test accuracies"
echo "1 and 2 threads: identical learner, meta-parameters and test curve"
# plastcc curves: a group of two runs (identical here: median = min = max)
"$PLASTCC" curves --out "$work/cmp.svg" both:"$work/t1" both:"$work/t2" > "$work/cmp.csv" || bad "plastcc curves"
awk -F, 'NR > 1 && ($1 != "both" || $3 != 2 || $4 != $5 || $4 != $6) { bad = 1 } END { exit bad || NR < 3 }' \
  "$work/cmp.csv" || { cat "$work/cmp.csv"; bad "plastcc curves: not a group of 2 identical runs"; }
grep -q '<polyline' "$work/cmp.svg" && grep -q '<polygon' "$work/cmp.svg" || bad "plastcc curves: no line or band in the SVG"
"$PLASTCC" curves --out "$work/cmp2.svg" x:"$work/none" > /dev/null 2> "$work/cmp2.err" && bad "curves of a missing run"
grep -q "$work/none" "$work/cmp2.err" || { cat "$work/cmp2.err"; bad "curves of a missing run: folder not named"; }
echo "plastcc curves: median, min and max of a group of two runs, line and band drawn; a missing run named"

# 3. kill -9 and resume ends where an uninterrupted run ends
run --experiment hat_long --threads 1 --out "$work/full" > /dev/null 2>&1 || bad "hat_long"
"$PLASTCC" run "$rules" --quiet --experiment hat_long --threads 1 --out "$work/k" > /dev/null 2>&1 &
pid=$!   # plastcc itself, not a subshell: kill -9 must stop the run
i=0
while [ $i -lt 300 ]; do
  grep -q '^batches [1-9]' "$work/k/joint-state.txt" 2>/dev/null && break
  sleep 0.05; i=$((i + 1))
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
at=$(sed -n 's/^batches //p' "$work/k/joint-state.txt")
run --experiment hat_long --threads 1 --resume "$work/k" > /dev/null 2>&1 || bad "resume"
cmp -s "$work/full/joint-state.txt" "$work/k/joint-state.txt" || bad "resumed after $at minibatches: a different state"
cmp -s "$work/full/test.csv" "$work/k/test.csv" || bad "resumed: a different test curve"
cut -d, -f1-9 "$work/full/log.csv" > "$work/full.cut"; cut -d, -f1-9 "$work/k/log.csv" > "$work/k.cut"
cmp -s "$work/full.cut" "$work/k.cut" || bad "resumed: log.csv differs (beyond the seconds)"
echo "kill -9 after ${at:-?} of 1500 minibatches, resumed: the uninterrupted run's state, test curve and log"
# SIGTERM stops after the minibatch in flight: exit 143, the state of the
# last logged minibatch saved (not only the last checkpoint), run.txt and
# learned.rule written, --resume named; the resume ends where the full run ends
"$PLASTCC" run "$rules" --quiet --experiment hat_long --threads 1 --out "$work/s" > /dev/null 2> "$work/s.err" &
pid=$!
i=0
while [ $i -lt 300 ]; do
  [ "$(wc -l < "$work/s/log.csv" 2>/dev/null || echo 0)" -gt 3 ] && break
  sleep 0.05; i=$((i + 1))
done
kill -TERM $pid 2>/dev/null; wait $pid; st=$?
[ $st -eq 143 ] || bad "SIGTERM: exit status $st, expected 143"
at=$(sed -n 's/^batches //p' "$work/s/joint-state.txt")
[ "$at" = "$(($(wc -l < "$work/s/log.csv") - 1))" ] || bad "SIGTERM: state of minibatch $at, log.csv has $(($(wc -l < "$work/s/log.csv") - 1)) rows"
[ -s "$work/s/run.txt" ] && [ -s "$work/s/learned.rule" ] || bad "SIGTERM: no run.txt or learned.rule"
grep -q "stopped after minibatch $at; .*continue with --resume" "$work/s.err" || bad "SIGTERM: no --resume hint: $(cat "$work/s.err")"
run --experiment hat_long --threads 1 --resume "$work/s" > /dev/null 2>&1 || bad "resume after SIGTERM"
cmp -s "$work/full/joint-state.txt" "$work/s/joint-state.txt" || bad "resumed after SIGTERM at $at: a different state"
echo "SIGTERM after ${at:-?} minibatches: exit 143, that state saved, resumed to the uninterrupted run's state"
# a finished run: a fresh run into its folder is refused, a resume with
# another seed is refused naming it, a resume as it was reports its result
run --experiment hat_long --threads 1 --out "$work/k" > /dev/null 2> "$work/k.fresh" && bad "a fresh run overwrote $work/k"
grep -q 'holds the results of an earlier run (.*joint-state.txt.*); continue it with --resume' "$work/k.fresh" ||
  { cat "$work/k.fresh"; bad "fresh run into a joint run's folder: no refusal"; }
run --experiment hat_long --threads 1 --resume "$work/k" --seed 99 > /dev/null 2> "$work/k.seed" && bad "resume with another seed ran"
grep -q "seed: '4' in the run, '99' now" "$work/k.seed" || { cat "$work/k.seed"; bad "resume with another seed: not named"; }
run --experiment hat_long --threads 1 --resume "$work/k" > "$work/k.again" 2>&1 || bad "resume of a finished run"
grep -q 'test accuracy 0\.[0-9]' "$work/k.again" || { cat "$work/k.again"; bad "resume of a finished run: no test accuracy"; }
cmp -s "$work/full/joint-state.txt" "$work/k/joint-state.txt" || bad "resume of a finished run changed its state"
echo "finished joint run: fresh run refused, other seed refused, resume reports the result unchanged"

# 4. the control is backprop: the same learner with its rule inside the
#    forward pass or after the loss (the bits of the weights and biases)
run --experiment control --out "$work/c" > /dev/null 2>&1 || bad "control"
run --experiment control_last --out "$work/cl" > /dev/null 2>&1 || bad "control_last"
section() { awk -v b="$1" '/^buffer / { on = $2 == b } on' "$2"; }
for b in W1 W2 bias1 bias2; do
  section $b "$work/c/joint-state.txt" > "$work/c.$b"
  section $b "$work/cl/joint-state.txt" > "$work/cl.$b"
  [ -s "$work/c.$b" ] && cmp -s "$work/c.$b" "$work/cl.$b" || bad "the control's $b differs with updates last"
done
echo "control: plain backprop (updates forward and updates last give the same weights and biases)"

# 5. labelled fraction
run --experiment hat_half --out "$work/h" > /dev/null 2>&1 || bad "hat_half"
grep -q '^labelled 0.5$' "$work/h/run.txt" || bad "hat_half: run.txt says $(grep labelled "$work/h/run.txt")"
run --experiment hat_half --out "$work/h2" > /dev/null 2>&1 || bad "hat_half again"
cmp -s "$work/h/joint-state.txt" "$work/h2/joint-state.txt" || bad "the labels depend on more than the seed"
echo "labelled 0.5: runs, the same labels for the same seed"

# 6. a rule that kills learning at initialisation is reported (both schemes)
run --experiment flooded --out "$work/f" > /dev/null 2> "$work/f.err" || bad "flooded"
grep -q 'warning: at the first minibatch the loss (1.09861229) has no gradient at all' "$work/f.err" ||
  { cat "$work/f.err"; bad "no report of a learner without gradient"; }
run --experiment flooded_episodes --out "$work/fe" > /dev/null 2> "$work/fe.err" || bad "flooded_episodes"
grep -q 'warning: at the first episode the loss (1.09861229) has no gradient at all' "$work/fe.err" ||
  { cat "$work/fe.err"; bad "no report in episodic training"; }
echo "no gradient at initialisation: reported ($(grep -c warning "$work/f.err") lines)"

# 7. a NaN or Inf minibatch stops the run with its number, the state of the
#    minibatch before it kept; with `nonfinite skip` the run goes on
run --experiment diverge --out "$work/d" > /dev/null 2> "$work/d.err" && bad "a diverging run ended with status 0"
grep -q 'run stopped: minibatch 3: the inner loss became NaN or Inf' "$work/d.err" || { cat "$work/d.err"; bad "diverge: no message"; }
grep -qx 'batches 2' "$work/d/joint-state.txt" || bad "diverge: the state of minibatch 2 was not kept"
[ "$(($(wc -l < "$work/d/log.csv") - 1))" -eq 2 ] || bad "diverge: log.csv has $(wc -l < "$work/d/log.csv") lines"
run --experiment diverge_skip --out "$work/ds" > "$work/ds.out" 2> "$work/ds.err" || bad "diverge_skip stopped"
grep -q 'minibatches skipped for a NaN or Inf' "$work/ds.out" || bad "diverge_skip: no count of the skipped"
echo "NaN/Inf: stops at minibatch 3 with the state of 2 kept; skip: $(grep -c skipped "$work/ds.err") skipped"
run --experiment too_many_classes --out "$work/tm" > /dev/null 2> "$work/tm.err" && bad "5 classes for 3 outputs ran"
grep -q 'the data have 5 classes, but the network.s output layer has 3 neurons' "$work/tm.err" ||
  { cat "$work/tm.err"; bad "no message for too many classes"; }

# 8. learned.rule imported computes exactly what the trained values compute:
#    one HAT step (plastcc episode) with the trained meta-parameters given as
#    files, and with them from the imported learned.rule, bit for bit
PY=/usr/bin/python3
if $PY -c 'import torch, numpy' 2>/dev/null; then
  st=$work/st
  $PY "$top_srcdir/bench/ref_hat.py" make --sizes 8,12,3 --batch 10 --hidden 8 --unlabelled 3 --seed 5 --out "$st" ||
      bad "ref_hat make"
  rm -f "$st/hat_net.npy"
  mkdir -p "$work/st1" && cp "$st"/*.npy "$work/st1/" && rm -f "$st/eta.npy"
  $PY - "$work/a/meta.csv" "$work/st1" <<'EOF' || bad "meta.csv to .npy"
import csv, sys, numpy
rows = list(csv.DictReader(open(sys.argv[1])))
numpy.save(sys.argv[2] + "/hat_small.npy", numpy.array([float(r["value"]) for r in rows if r["name"].startswith("hat_small.")]))
numpy.save(sys.argv[2] + "/eta.npy", numpy.array(float([r["value"] for r in rows if r["name"] == "eta"][0])))
EOF
  cat > "$work/again.rule" <<EOF
import "a/learned.rule";
model learner { input 8; dense 12 sigmoid bias; dense 3 softmax bias; loss cross_entropy; }
experiment again { model learner; rule hat; updates forward; train joint; inner batch 10; }
EOF
  "$PLASTCC" episode "$rules" --experiment hat --state "$work/st1" --out "$work/e1" > /dev/null || bad "episode, trained values"
  "$PLASTCC" episode "$work/again.rule" --experiment again --state "$st" --out "$work/e2" > /dev/null || bad "episode, learned.rule"
  n=0
  for f in "$work/e1"/*.npy; do
    cmp -s "$f" "$work/e2/$(basename "$f")" || bad "learned.rule: $(basename "$f") differs"
    n=$((n + 1))
  done
  echo "learned.rule imported: the same $n results of a HAT step as the trained values, bit for bit"
else
  echo "python3-torch is not installed: the learned.rule import check is skipped"
fi
# 9. one episode per minibatch reuses the last one's buffers: page faults
#    hardly grow with the minibatches (they were ~1600 per minibatch of a
#    784-183-10 learner, batch 50, its buffers mapped afresh; ~120 now)
cat > "$work/faults.rule" <<EOF
mlp m { in 3; dense 4 relu; dense 1; init output 0; }
rule hat { param eta = 0.01 fixed; dw = eta * mean_batch(m(pre.y, w, post.y)); }
model learner { input 784; dense 183 sigmoid bias; dense 10 softmax bias; loss cross_entropy; }
experiment f3 { model learner; rule hat; updates forward; data blobs n 800 centers 10 std 2 project 784;
  train joint batches 3 test every 1000; inner batch 50; seed 1; }
experiment f13 { model learner; rule hat; updates forward; data blobs n 800 centers 10 std 2 project 784;
  train joint batches 13 test every 1000; inner batch 50; seed 1; }
EOF
faults() {   # minor page faults of a run of experiment $1
  /usr/bin/python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt)' "$PLASTCC" run "$work/faults.rule" --experiment "$1" \
    --out "$work/faults-$1" --threads 1 --quiet
}
case "${EMBED_CFLAGS:-}" in
  *-fsanitize=address*) asan=1 ;;   # ASan's allocator maps and faults memory of its own
  *) asan=0 ;;
esac
if [ "$asan" = 1 ]; then
  echo "page faults per minibatch: not counted in the AddressSanitizer build"
elif f3=$(faults f3) && f13=$(faults f13); then
  per=$(( (f13 - f3) / 10 ))
  [ "$per" -lt 400 ] || bad "$per page faults per minibatch (3 minibatches: $f3, 13: $f13): the buffers are mapped afresh"
  echo "page faults: $f3 for 3 minibatches, $f13 for 13: $per per minibatch"
else
  bad "the page-fault runs failed"
fi
exit $fail
