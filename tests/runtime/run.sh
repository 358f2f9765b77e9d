#!/bin/sh
# run.sh — `plastcc run` as a user meets it: the outputs of a run, the learned
# rule checks clean, a kill -9 resumed ends where an uninterrupted run ends,
# a diverging run stops with the episode and keeps its log, data errors name
# the file, and the same seed gives the same numbers for 1 and 2 threads.
set -u
rules=$top_srcdir/tests/runtime/run/tiny.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
say() { echo "$*"; }
bad() { echo "FAIL: $*"; fail=1; }

# 1. a complete run and its outputs
"$PLASTCC" run "$rules" --experiment tiny --out "$work/a" --quiet > "$work/a.out" 2>&1 || { cat "$work/a.out"; bad "run tiny"; }
for f in log.csv meta-state.txt learned.rule meta.csv meta-accuracy.svg meta-loss.svg meta-params.svg; do
  [ -s "$work/a/$f" ] || bad "run tiny did not write $f"
done
rows=$(($(wc -l < "$work/a/log.csv") - 1))
[ "$rows" -eq 12 ] || bad "log.csv has $rows rows, expected 12"
head -1 "$work/a/log.csv" | grep -q '^episode,meta_loss,meta_accuracy,grad_norm,clipped,lr,seconds,theta$' ||
  bad "log.csv header: $(head -1 "$work/a/log.csv")"
"$PLASTCC" check "$work/a/learned.rule" >/dev/null || bad "learned.rule does not check"
grep -q '<polyline' "$work/a/meta-accuracy.svg" || bad "meta-accuracy.svg has no curve"
grep -q 'mean meta-accuracy over the last' "$work/a.out" || bad "no summary line"
say "run: 12 episodes logged, learned.rule checks, plots written"

# 1b. the progress line: off a terminal a plain line (here the last one) with
#     episode/total, meta-loss, meta-accuracy, episodes per second and ETA
"$PLASTCC" run "$rules" --experiment tiny --out "$work/pr" > /dev/null 2> "$work/pr.err" || bad "run with progress"
grep -Eq '^episode 12/12  meta-loss [0-9.]+  meta-accuracy [0-9.]+  [0-9.]+ ep/s  ETA ' "$work/pr.err" ||
  { cat "$work/pr.err"; bad "no progress line"; }
grep -q "$(printf '\033')" "$work/pr.err" && bad "terminal escapes in the progress written to a file"
say "progress: $(tail -1 "$work/pr.err")"

# 2. same seed, 1 and 2 threads: identical meta-state
"$PLASTCC" run "$rules" --experiment tiny_batch --out "$work/t1" --threads 1 --quiet >/dev/null 2>&1 || bad "tiny_batch 1 thread"
"$PLASTCC" run "$rules" --experiment tiny_batch --out "$work/t2" --threads 2 --quiet >/dev/null 2>&1 || bad "tiny_batch 2 threads"
cmp -s "$work/t1/meta-state.txt" "$work/t2/meta-state.txt" || bad "1 and 2 threads give different meta-parameters"
say "meta-batch of 3 tasks: 1 and 2 threads give identical meta-parameters"
# the pool's kernels run their row and column sums in one pass on one thread
# (and inside the meta-batch's parallel region), apart on several
for t in 1 2; do
  "$PLASTCC" run "$rules" --experiment tiny_pool_batch --out "$work/p$t" --threads $t --quiet >/dev/null 2>&1 ||
    bad "tiny_pool_batch $t threads"
done
cmp -s "$work/p1/meta-state.txt" "$work/p2/meta-state.txt" || bad "the pool, meta-batch 2: 1 and 2 threads differ"
PLASTCC_NO_FUSE=1 "$PLASTCC" run "$rules" --experiment tiny_pool_batch --out "$work/p3" --threads 1 --quiet \
    >/dev/null 2>&1 || bad "tiny_pool_batch PLASTCC_NO_FUSE"
cmp -s "$work/p1/meta-state.txt" "$work/p3/meta-state.txt" || bad "the pool: fused and separate passes differ"
"$PLASTCC" run "$rules" --experiment tiny_pool_batch --out "$work/p4" --threads 1 --quiet --sweep-states 2 \
    >/dev/null 2>&1 || bad "tiny_pool_batch --sweep-states 2"
cmp -s "$work/p1/meta-state.txt" "$work/p4/meta-state.txt" || bad "the pool: --sweep-states 2 changes the run"
cut -d, --complement -f7 "$work/p1/log.csv" > "$work/p1.cols"   # all but the seconds
cut -d, --complement -f7 "$work/p4/log.csv" | cmp -s "$work/p1.cols" - || bad "the pool: --sweep-states 2 changes log.csv"
awk -F, 'NR > 1 && $4 + 0 != $4 + 0 { exit 1 }' "$work/p2/log.csv" || bad "the pool, meta-batch 2: a non-finite gradient norm"
say "the pool, meta-batch of 2: 1 and 2 threads, PLASTCC_NO_FUSE and --sweep-states 2 give identical meta-parameters"

# 3. kill -9 and resume ends with the uninterrupted result
"$PLASTCC" run "$rules" --experiment tiny --episodes 300 --threads 1 --out "$work/full" --quiet >/dev/null 2>&1 || bad "full run"
"$PLASTCC" run "$rules" --experiment tiny --episodes 300 --threads 1 --out "$work/k" --quiet >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 200 ]; do   # wait for a saved meta-state, then kill
  [ -f "$work/k/meta-state.txt" ] && grep -q '^episode [1-9]' "$work/k/meta-state.txt" && break
  sleep 0.05; i=$((i + 1))
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
killed_at=$(($(wc -l < "$work/k/log.csv") - 1))
if grep -q '^episode 300$' "$work/k/meta-state.txt"; then
  say "(the run finished before the kill; resuming a finished run)"
fi
"$PLASTCC" run "$rules" --experiment tiny --episodes 300 --threads 1 --resume "$work/k" --quiet >/dev/null 2>&1 || bad "resume"
cmp -s "$work/full/meta-state.txt" "$work/k/meta-state.txt" || bad "resumed run ends with other meta-parameters"
cut -d, -f1-3 "$work/full/log.csv" > "$work/full.cols"
cut -d, -f1-3 "$work/k/log.csv" > "$work/k.cols"
cmp -s "$work/full.cols" "$work/k.cols" || bad "resumed log.csv differs from the uninterrupted one"
say "kill -9 after $killed_at logged episodes, then resume: same meta-parameters and log as uninterrupted"

# 4. divergence: stops, names the episode, keeps the log
"$PLASTCC" run "$rules" --experiment diverge --out "$work/d" --quiet > "$work/d.out" 2>&1 && bad "diverging run exited 0"
grep -Eq 'episode [0-9]+: the (weight update|inner loss) became NaN or Inf at inner step [0-9]+' "$work/d.out" ||
  { cat "$work/d.out"; bad "no divergence message"; }
[ "$(wc -l < "$work/d/log.csv")" -ge 2 ] || bad "the diverging run's log lost its rows"
say "divergence: $(grep -Eo 'episode [0-9]+: [^,]*' "$work/d.out" | head -1)"

# 4b. nonfinite backtrack: the run goes on; each diverging episode undoes the
#     meta-step before it and halves the learning rate, which log.csv shows
#     (its lr column is 0.1 * 0.5^(backtracks before the episode))
"$PLASTCC" run "$rules" --experiment diverge_backtrack --out "$work/bt" --threads 1 --quiet > "$work/bt.out" 2>&1 ||
  { cat "$work/bt.out"; bad "the backtracking run failed"; }
grep -Eo 'episode [0-9]+: the meta-step before it undone' "$work/bt.out" | grep -Eo '[0-9]+' > "$work/bt.eps"
[ -s "$work/bt.eps" ] || { cat "$work/bt.out"; bad "no backtrack message"; }
awk -F, 'FNR == NR { back[++nb] = $1; next }
         FNR > 1 { k = 0; for (q = 1; q <= nb; q++) if (back[q] < $1) k++
                   want = 0.1 * 0.5 ^ k; if ($6 < want * (1 - 1e-9) || $6 > want * (1 + 1e-9)) { print "episode " $1 ": lr " $6 ", expected " want; bad = 1 }
                   rows++ }
         END { if (rows < 2) { print "only " rows " rows"; bad = 1 }; exit bad }' "$work/bt.eps" "$work/bt/log.csv" ||
  { cat "$work/bt/log.csv"; bad "backtracking learning rates"; }
say "nonfinite backtrack: $(wc -l < "$work/bt.eps") meta-steps undone, the learning rate halved each time"

# 5. missing data names the file
"$PLASTCC" run "$rules" --experiment missing_data --out "$work/m" --quiet > "$work/m.out" 2>&1 && bad "missing data exited 0"
grep -q 'no-such-images.gz: No such file or directory' "$work/m.out" || { cat "$work/m.out"; bad "missing data message"; }
say "missing data: $(cat "$work/m.out")"

# 6. proximal L1 makes exact zeros; learned.rule drops the term, and the
#    kernels compiled from learned.rule no longer contain its coefficient
"$PLASTCC" run "$rules" --experiment prox_zero --out "$work/p" --threads 1 --quiet >/dev/null 2>&1 || bad "prox_zero run"
grep -q '^two_terms,b,0,' "$work/p/meta.csv" || { cat "$work/p/meta.csv"; bad "proximal L1 did not make b exactly 0"; }
grep -q '# dropped (coefficient exactly 0): - b \* w' "$work/p/learned.rule" || { cat "$work/p/learned.rule"; bad "learned.rule keeps the zeroed term"; }
"$PLASTCC" emit-c --dump=dag "$work/p/learned.rule" > "$work/p/dag.txt" 2>&1 || bad "learned.rule does not compile"
grep -q 'param a' "$work/p/dag.txt" || bad "the kernels of learned.rule lost the live term"
grep -q 'param b' "$work/p/dag.txt" && bad "the kernels of learned.rule still read the zeroed b"
# the kernels the JIT compiles for learned.rule: the forward kernel no longer
# reads w (only the dropped term - b * w did): 4 arguments (post_e, pre_y,
# meta, dw) where the rule as written has 5, and gradcheck, JIT-compiling
# them, finds no w to check
"$PLASTCC" emit-llvm "$work/p/learned.rule" > "$work/p/ir.ll" 2>&1 || bad "emit-llvm of learned.rule"
grep -q '^@two_terms_fwd_desc = constant .*, i32 4, ' "$work/p/ir.ll" ||
    { grep '^@two_terms_fwd_desc' "$work/p/ir.ll"; bad "learned.rule's forward kernel does not have 4 arguments"; }
"$PLASTCC" gradcheck --backend jit "$work/p/learned.rule" > "$work/p/gc.txt" 2>&1 ||
    { cat "$work/p/gc.txt"; bad "the JIT-compiled kernels of learned.rule fail gradcheck"; }
grep -q '^  post_e ' "$work/p/gc.txt" || { cat "$work/p/gc.txt"; bad "gradcheck of learned.rule checked nothing"; }
grep -q '^  w ' "$work/p/gc.txt" && { cat "$work/p/gc.txt"; bad "the JIT-compiled kernels of learned.rule still read w"; }
say "proximal L1: b = 0 exactly, its term dropped from learned.rule and from its kernels"

# 7. scale auto: s_k = min(1, |F_0| / |F_k|) from the probe, on terms whose
#    sizes are exact multiples of F0's (10x and 0.1x): 1, 0.1, and 1 (capped)
"$PLASTCC" run "$rules" --experiment scale_auto --out "$work/sa" --threads 1 --quiet >/dev/null 2>&1 || bad "scale_auto run"
awk -F, 'NR > 1 { want = NR == 3 ? 0.1 : 1; d = $4 - want; if (d < 0) d = -d; if (d > 1e-5 * want) bad = 1; n++ }
         END { exit bad || n != 3 }' "$work/sa/meta.csv" || { cat "$work/sa/meta.csv"; bad "scale auto: not 1, 0.1, 1"; }
say "scale auto on F0, 10 F0, F0 / 10: scales $(awk -F, 'NR > 1 { printf "%s ", $4 }' "$work/sa/meta.csv")"

# 8. a rule per projection: both rules train (their parameters move from the
#    initial values), both are logged and both are in learned.rule
"$PLASTCC" run "$rules" --experiment tiny_two_rules --out "$work/two" --threads 1 --quiet >/dev/null 2>&1 ||
    bad "tiny_two_rules run"
grep -q '^fa_sgd,theta,' "$work/two/meta.csv" && grep -q '^oja,theta0,' "$work/two/meta.csv" ||
    { cat "$work/two/meta.csv"; bad "meta.csv lacks a rule of tiny_two_rules"; }
grep -q '^fa_sgd,theta,0.001,' "$work/two/meta.csv" && bad "fa_sgd on W1 did not train"
grep -q '^oja,theta0,0.001,' "$work/two/meta.csv" && bad "oja on W2 did not train"
grep -q '^rule fa_sgd' "$work/two/learned.rule" && grep -q '^rule oja' "$work/two/learned.rule" ||
    { cat "$work/two/learned.rule"; bad "learned.rule lacks a rule"; }
"$PLASTCC" check "$work/two/learned.rule" >/dev/null 2>&1 || bad "tiny_two_rules: learned.rule does not check"
[ "$(head -1 "$work/two/log.csv" | tr ',' '\n' | grep -c 'theta')" -ge 3 ] || bad "log.csv lacks a rule's parameters"
say "a rule per projection (fa_sgd on W1, oja on W2): both train, both logged, learned.rule checks"

# --seeds: independent runs, one folder per seed, each what --seed gives;
# resumed together; a bad list is refused
"$PLASTCC" run "$rules" --experiment tiny --seeds 3,5-6 --out "$work/sd" --quiet > "$work/sd.out" 2>&1 ||
  { cat "$work/sd.out"; bad "run --seeds 3,5-6"; }
"$PLASTCC" run "$rules" --experiment tiny --seed 5 --out "$work/s5" --quiet > /dev/null 2>&1 || bad "run --seed 5"
cmp -s "$work/s5/meta-state.txt" "$work/sd/seed-5/meta-state.txt" || bad "--seeds: seed-5 is not the run of --seed 5"
[ -s "$work/sd/seed-3/log.csv" ] && [ -s "$work/sd/seed-6/log.csv" ] || bad "--seeds: seed-3 or seed-6 missing"
cmp -s "$work/sd/seed-3/meta-state.txt" "$work/sd/seed-6/meta-state.txt" && bad "--seeds: seeds 3 and 6 ran the same"
"$PLASTCC" run "$rules" --seeds 3,5-6 --resume "$work/sd" --episodes 14 --quiet > "$work/sdr.out" 2>&1 ||
  { cat "$work/sdr.out"; bad "--seeds --resume"; }
[ "$(grep -c '^tiny: 14 episodes' "$work/sdr.out")" -eq 3 ] || { cat "$work/sdr.out"; bad "--seeds --resume: not 3 runs to 14"; }
for v in 1,1 3-1 a 1,,2 ''; do
  "$PLASTCC" run "$rules" --experiment tiny --seeds "$v" --out "$work/sx" > "$work/sx.out" 2>&1 && bad "--seeds '$v' accepted"
  grep -q -- "--seeds" "$work/sx.out" || { cat "$work/sx.out"; bad "--seeds '$v': no message"; }
done
"$PLASTCC" run "$rules" --experiment tiny --seeds 1 --seed 2 --out "$work/sx" > /dev/null 2>&1 && bad "--seeds with --seed accepted"
say "--seeds 3,5-6: three folders, seed-5 = --seed 5 bit for bit, resumed together; bad lists refused"

# --version names the MPI library the build uses, or says there is none
if grep -q '^#define HAVE_MPI 1' "$top_builddir/config.h"; then
  "$PLASTCC" --version | grep -q 'MPI v[0-9]\|MPICH' || bad "--version does not name the MPI library: $("$PLASTCC" --version)"
else
  "$PLASTCC" --version | grep -q 'without MPI' || bad "--version does not say 'without MPI': $("$PLASTCC" --version)"
fi
say "--version: $("$PLASTCC" --version)"
exit $fail
