#!/bin/sh
# episode.sh — the meta-gradient of one episode against an independent
# implementation (bench/ref003.py, PyTorch autograd through the whole unrolled
# inner loop), through `plastcc episode` on saved states; then the checkpointed
# and fully-stored reverse sweeps, and 1 vs 2 threads, must agree bit for bit.
# Skips (77) when Debian's python3-torch is not installed.
set -u
PY=/usr/bin/python3
bench=$top_srcdir/bench
rules=$top_srcdir/tests/runtime/episode/small.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
if ! $PY -c 'import torch, numpy' 2>/dev/null; then
  echo "python3-torch is not installed: skipping the cross-check"; exit 77
fi

check() {   # check RULE FEEDBACK EXPERIMENT SEED
  rm -rf "$work/st" "$work/ref" "$work/out"
  $PY "$bench/make_state.py" --sizes 20,12,8,5 --steps 30 --query 10 --seed "$4" --feedback "$2" \
      --rule "$1" --out "$work/st" >/dev/null || { echo "FAIL: make_state $*"; fail=1; return; }
  $PY "$bench/ref003.py" --state "$work/st" --out "$work/ref" --rule "$1" --feedback "$2" >/dev/null ||
      { echo "FAIL: ref003 $*"; fail=1; return; }
  "$PLASTCC" episode "$rules" --experiment "$3" --state "$work/st" --out "$work/out" >/dev/null ||
      { echo "FAIL: plastcc episode $*"; fail=1; return; }
  echo "== $1, $2 feedback (seed $4)"
  $PY "$bench/compare_npy.py" "$work/ref" "$work/out" --rtol 1e-8 || { echo "FAIL: $*"; fail=1; }
}

check pool random pool_random 11
check pool symmetric pool_symmetric 12
check pool direct pool_direct 13
check fa random fa_random 14
check tanh_error symmetric tanh_symmetric 15
check oja_decay random oja_random 16

# checkpointed (every 3 steps) vs fully stored (every 1000 steps) vs default: identical
rm -rf "$work/st"
$PY "$bench/make_state.py" --sizes 20,12,8,5 --steps 40 --query 10 --seed 21 --feedback random \
    --rule pool --out "$work/st" >/dev/null
for k in 3 1000 0; do
  "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/k$k" --checkpoint $k >/dev/null || fail=1
done
for k in 3 1000; do
  for f in grad_theta meta_loss W1 W2 W3; do
    cmp -s "$work/k0/$f.npy" "$work/k$k/$f.npy" || { echo "FAIL: --checkpoint $k changes $f"; fail=1; }
  done
done
echo "checkpoint every 3, 1000 (all stored) and sqrt(steps): identical results"

# the binomial sweep in 2, 3, 5 and 9 copies of the state, and all stored:
# identical results, every gradient included; the forward steps it reports
# are the steps it ran (the profile's calls of the layer-1 error kernel,
# which runs once per forward step and not in the eval)
for n in 2 3 5 9 1000; do
  PLASTCC_PROFILE=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/s$n" \
      --sweep-states $n > "$work/s$n.txt" 2>&1 || { echo "FAIL: --sweep-states $n"; fail=1; continue; }
  for f in grad_theta meta_loss W1 W2 W3 grad_W1 grad_W2 grad_W3; do
    cmp -s "$work/k0/$f.npy" "$work/s$n/$f.npy" || { echo "FAIL: --sweep-states $n changes $f"; fail=1; }
  done
  said=$(sed -n 's/.* steps (\([0-9]*\) run forward, \([0-9]*\) copies.*/\1 \2/p' "$work/s$n.txt")
  ran=$(awk '$1 ~ /_error1_fwd$/ { print $(NF-3) }' "$work/s$n.txt")
  echo "--sweep-states $n: $said (forward steps, copies), error1_fwd ran $ran times"
  [ -n "$ran" ] && [ "${said%% *}" = "$ran" ] || { echo "FAIL: --sweep-states $n ran $ran forward steps, said $said"; fail=1; }
done
[ "$(sed -n 's/.* steps (\([0-9]*\) run forward.*/\1/p' "$work/s1000.txt")" = 40 ] ||
  { echo "FAIL: all 40 states stored, yet steps ran twice"; fail=1; }

# thread counts
OMP_NUM_THREADS=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/t1" >/dev/null || fail=1
OMP_NUM_THREADS=2 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/t2" >/dev/null || fail=1
for f in grad_theta meta_loss W1 W2 W3; do
  cmp -s "$work/t1/$f.npy" "$work/t2/$f.npy" || { echo "FAIL: 1 and 2 threads differ in $f"; fail=1; }
done
echo "1 and 2 threads: identical results"

# Switches that change how the kernels or the engine run, never the bits:
# same_as_t1 OUT WHAT ENV... [-- OPTION...] runs the episode of t1 with the
# environment ENV (and plastcc OPTIONs) into OUT, and compares every output
# with t1's by cmp.
same_as_t1() {
  out=$1 what=$2; shift 2
  envs=""; while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs="$envs $1"; shift; done
  [ $# -gt 0 ] && shift
  env $envs OMP_NUM_THREADS=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" \
      --out "$work/$out" "$@" >/dev/null || { echo "FAIL: $what: the episode failed"; fail=1; return; }
  for f in grad_theta meta_loss W1 W2 W3 grad_W1 grad_W2 grad_W3; do
    cmp -s "$work/t1/$f.npy" "$work/$out/$f.npy" || { echo "FAIL: $what changes $f"; fail=1; }
  done
}

# the pool adjoint's one-sample passes (lower_one_pass: its nests 3-5 and
# 13-15 as one pass each, for a batch of one on one thread) against its
# loops as scheduled for other batches
same_as_t1 n1 "PLASTCC_NO_ONE_PASS" PLASTCC_NO_ONE_PASS=1
echo "one-sample passes and the loops as scheduled: identical results"

# reductions placed as late as possible (lower.c, sink_reductions: the pool
# adjoint's level-1 row sum in level 2's loop) against each at its
# argument's level
same_as_t1 sink0 "PLASTCC_NO_SINK" PLASTCC_NO_SINK=1
echo "reductions sunk to later passes and at their arguments' levels: identical results"

# the serial per-neuron nests on vectors of neurons, with their sums in the
# scalar loop's order (llgen_loop.c, vector_nest), against one neuron at a time
same_as_t1 sn1 "PLASTCC_SCALAR_NESTS" PLASTCC_SCALAR_NESTS=1
echo "per-neuron nests on vectors and one neuron at a time: identical results"

# Each update call of a step also runs the next step's dense layer over the
# updated weights in the same pass (RULE_step_M_denseL, for a batch of one;
# the next step skips its dense calls): the same episode as every call
# apart, in the JIT and in the emitted C (which runs the fused kernel's
# loops one after the other)
same_as_t1 u1 "PLASTCC_NO_FUSED_DENSE" PLASTCC_NO_FUSED_DENSE=1
same_as_t1 c1 "the emitted C's fused kernels" -- --backend c
echo "updates fused with the next step's dense layers, apart, and in the emitted C: identical results"

# The inner loop and the sweep's runs write S_{t+1} over S_t (every update
# kernel's next_in_place: plan_in_place in runtime/episode.c, and a sweep
# plan whose runs hold one copy): the same bits as stepping between two
# copies, and with only two copies of the state for the whole sweep
OMP_NUM_THREADS=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/ip1" \
    >"$work/ip1.txt" || fail=1
grep -q ', updated in place)' "$work/ip1.txt" || { echo "FAIL: the pool's episode did not update in place"; fail=1; }
PLASTCC_NO_NEXT_IN_PLACE=1 OMP_NUM_THREADS=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" \
    --out "$work/ip0" >"$work/ip0.txt" || fail=1
grep -q ', updated in place)' "$work/ip0.txt" && { echo "FAIL: PLASTCC_NO_NEXT_IN_PLACE=1 still updated in place"; fail=1; }
same_as_t1 ip0 "PLASTCC_NO_NEXT_IN_PLACE" PLASTCC_NO_NEXT_IN_PLACE=1
same_as_t1 ip2 "two copies of the state, in place" -- --sweep-states 2
same_as_t1 ipc "the emitted C, in place" -- --backend c --sweep-states 3
echo "the state updated in place, and between two copies: identical results"

# W1's update runs the rule's adjoint without the adjoints of its presynaptic
# y and z, which are the input x (pool_adj_input, sched_adj_input): the
# same bits as the whole adjoint with those outputs sent to the junk buffer
same_as_t1 in0 "PLASTCC_NO_ADJ_INPUT" PLASTCC_NO_ADJ_INPUT=1
PLASTCC_NO_ADJ_INPUT=1 PLASTCC_PROFILE=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" \
    --out "$work/in1" >/dev/null 2>"$work/profile_in" || fail=1
grep -q -F "pool_adj_input " "$work/profile_in" && { echo "FAIL: PLASTCC_NO_ADJ_INPUT=1 still ran pool_adj_input"; fail=1; }
echo "the input layer's adjoint without the input's adjoints, and with them: identical results"

# The pool's adjoint reads its seed adj(S_{t+1}) in place (plast_kdesc
# .seed_in_place): the same bits as with every seed copied apart first
same_as_t1 copied "the seed read in place" PLASTCC_SEED_COPY=1
echo "seeds in place and copied apart: identical results"

# PLASTCC_PROFILE: a line per kernel the episode ran (the rule's step and
# adjoint, every dense layer), the driver's share, and the same results
PLASTCC_PROFILE=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/p" \
    >/dev/null 2>"$work/profile" || fail=1
for k in "profile: " "pool_step " "pool_step_small_random_dense1 " "pool_adj " "pool_adj_input " "_dense1_fwd " "_dense3_adj " "(driver: "; do
  grep -q -F -- "$k" "$work/profile" || { echo "FAIL: PLASTCC_PROFILE printed no '$k' line"; cat "$work/profile"; fail=1; }
done
cmp -s "$work/t1/grad_theta.npy" "$work/p/grad_theta.npy" || { echo "FAIL: PLASTCC_PROFILE changes the gradient"; fail=1; }
"$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/p" >/dev/null 2>"$work/quiet" || fail=1
[ ! -s "$work/quiet" ] || { echo "FAIL: an episode without PLASTCC_PROFILE printed to stderr"; cat "$work/quiet"; fail=1; }
echo "PLASTCC_PROFILE: $(grep -c ' calls ' "$work/profile") kernels timed"
grep -q -E '^  pool_step +20x12 ' "$work/profile" || { echo "FAIL: PLASTCC_PROFILE has no row for pool_step at 20x12"; fail=1; }

# --repeat: the later runs reuse the first's buffers and must give its bits;
# the outputs are those of one run
OMP_NUM_THREADS=1 "$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/r" --repeat 3 \
    >"$work/repeat" || { echo "FAIL: --repeat 3"; fail=1; }
grep -q "s (median of the 2 runs after it, same bits)" "$work/repeat" ||
  { echo "FAIL: --repeat 3 printed no median of the later runs"; cat "$work/repeat"; fail=1; }
for f in meta_loss grad_theta W1 grad_W1; do
  cmp -s "$work/t1/$f.npy" "$work/r/$f.npy" || { echo "FAIL: --repeat 3 changes $f"; fail=1; }
done
"$PLASTCC" episode "$rules" --experiment pool_random --state "$work/st" --out "$work/r" --repeat 0 >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --repeat 0 is not a usage error"; fail=1; }
echo "--repeat 3: $(sed -n 's/.*, \([0-9.]* s (the first run), [0-9.]* s\) (median.*/\1/p' "$work/repeat"), the bits of one run"

# Calls whose outputs nobody reads do not run (episode.c, prune_step): the
# pool reads the input layer's error (pre.e), so its error1 kernels run;
# feedback alignment reads none, so its error1 kernels do not (its
# meta-gradient against PyTorch is fa_random above).
grep -q -F "_error1_fwd " "$work/profile" || { echo "FAIL: the pool's episode ran no error1 kernel"; fail=1; }
rm -rf "$work/st"
$PY "$bench/make_state.py" --sizes 20,12,8,5 --steps 10 --query 10 --seed 22 --feedback random \
    --rule fa --out "$work/st" >/dev/null
PLASTCC_PROFILE=1 "$PLASTCC" episode "$rules" --experiment fa_random --state "$work/st" --out "$work/f" \
    >/dev/null 2>"$work/profile" || fail=1
grep -q -F "_dense1_fwd " "$work/profile" || { echo "FAIL: no profile of the fa episode"; cat "$work/profile"; fail=1; }
if grep -q -F "_error1_" "$work/profile"; then
  echo "FAIL: feedback alignment's episode computed the input layer's error, which nothing reads"; fail=1
else
  echo "unread calls: fa's episode runs no error1 kernel, the pool's does"
fi
exit $fail
