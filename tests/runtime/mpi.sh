#!/bin/sh
# mpi.sh — plastcc over MPI ranks (issue: scale-out).  Two ranks follow the
# trajectory of one process bit for bit (meta-state and every log column but
# the wall-clock seconds), a two-rank run killed with SIGKILL and resumed
# ends the same, an evaluation over two ranks equals one process's, a rank
# started with another option or without the data stops the job with a
# message naming it, and a run that diverges stops every rank together.
# Skipped (77) when plastcc is built without MPI or mpirun is missing.
set -u
"$PLASTCC" --version | grep -q "MPI v\|MPICH\|MPI " || { echo "plastcc built without MPI: skipped"; exit 77; }
command -v mpirun >/dev/null || { echo "no mpirun: skipped"; exit 77; }
rules=$top_srcdir/tests/runtime/mpi/mb4.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
say() { echo "$*"; }
bad() { echo "FAIL: $*"; fail=1; }
# as root (CI), more ranks than cores (this machine)
mpi() { mpirun --allow-run-as-root --oversubscribe "$@"; }
same_log() {   # every column of log.csv but seconds (the 7th)
  cut -d, -f1-6,8- "$1/log.csv" > "$work/l1"; cut -d, -f1-6,8- "$2/log.csv" > "$work/l2"
  cmp -s "$work/l1" "$work/l2"
}

# 1. one process and two ranks: the same meta-parameter trajectory
"$PLASTCC" run "$rules" --experiment mb4 --out "$work/one" --threads 1 --quiet > "$work/one.out" 2>&1 ||
  { cat "$work/one.out"; bad "one process"; }
mpi -np 2 "$PLASTCC" run "$rules" --experiment mb4 --out "$work/two" --threads 1 --quiet > "$work/two.out" 2>&1 ||
  { cat "$work/two.out"; bad "two ranks"; }
cmp -s "$work/one/meta-state.txt" "$work/two/meta-state.txt" || bad "two ranks: another meta-state"
same_log "$work/one" "$work/two" || bad "two ranks: another log.csv"
cmp -s "$work/one/learned.rule" "$work/two/learned.rule" || bad "two ranks: another learned.rule"
[ "$(grep -c 'episodes, mean meta-accuracy' "$work/two.out")" -eq 1 ] || bad "the summary is not printed once (rank 0)"
say "mpi: 2 ranks = 1 process (meta-state, learned.rule, log.csv but seconds), meta-batch of 4"

# 2. two ranks killed with SIGKILL, then resumed on two ranks: the same end
mpi -np 2 "$PLASTCC" run "$rules" --experiment mb4 --out "$work/k" --threads 1 --quiet >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 100); do   # until a few episodes are saved
  [ -f "$work/k/log.csv" ] && [ "$(wc -l < "$work/k/log.csv")" -ge 4 ] && break
  sleep 0.2
done
pkill -9 -f "plastcc run $rules --experiment mb4 --out $work/k" ; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
done_before=$(grep -c . "$work/k/log.csv")
mpi -np 2 "$PLASTCC" run "$rules" --resume "$work/k" --threads 1 --quiet > "$work/k.out" 2>&1 ||
  { cat "$work/k.out"; bad "resume on two ranks"; }
cmp -s "$work/one/meta-state.txt" "$work/k/meta-state.txt" || bad "killed and resumed: another meta-state"
same_log "$work/one" "$work/k" || bad "killed and resumed: another log.csv"
say "mpi: killed with SIGKILL after $((done_before - 1)) logged episodes, resumed on 2 ranks: the same end"

# 2b. one rank killed alone: the job stops (not 0), the meta-state stays
#     whole, and a resume in one process ends where the run would have
mpi -np 2 "$PLASTCC" run "$rules" --experiment mb4 --out "$work/r1" --threads 1 --quiet > "$work/r1.out" 2>&1 &
pid=$!
for i in $(seq 1 100); do
  [ -f "$work/r1/log.csv" ] && [ "$(wc -l < "$work/r1/log.csv")" -ge 3 ] && break
  sleep 0.2
done
victim=$(pgrep -f "plastcc run $rules --experiment mb4 --out $work/r1" | tail -1)
[ -n "$victim" ] && kill -9 "$victim"
wait $pid && bad "a job with a killed rank exited 0"
"$PLASTCC" run "$rules" --resume "$work/r1" --threads 1 --quiet > "$work/r1r.out" 2>&1 ||
  { cat "$work/r1.out" "$work/r1r.out"; bad "resume after one rank was killed"; }
cmp -s "$work/one/meta-state.txt" "$work/r1/meta-state.txt" || bad "one rank killed, resumed: another meta-state"
say "mpi: one rank killed with SIGKILL: the job stops, the meta-state resumes (in one process) to the same end"

# 3. plastcc eval over two ranks = one process
"$PLASTCC" eval "$rules" --experiment mb4 --tasks 6 --out "$work/e1" --threads 1 --quiet >/dev/null 2>&1 || bad "eval alone"
mpi -np 2 "$PLASTCC" eval "$rules" --experiment mb4 --tasks 6 --out "$work/e2" --threads 1 --quiet >/dev/null 2>&1 ||
  bad "eval on two ranks"
for f in tasks.csv curve.csv summary.csv; do cmp -s "$work/e1/$f" "$work/e2/$f" || bad "eval: $f differs on two ranks"; done
say "mpi: plastcc eval on 2 ranks = 1 process"

# 4. a rank started with another option: refused at start, named, nothing written
mpi -np 1 "$PLASTCC" run "$rules" --experiment mb4 --out "$work/m" --quiet : \
    -np 1 "$PLASTCC" run "$rules" --experiment mb4 --out "$work/m" --quiet --seed 4 > "$work/m.out" 2>&1 &&
  bad "mismatched ranks accepted"
grep -q "rank 1 was started with other" "$work/m.out" || { cat "$work/m.out"; bad "no message naming rank 1"; }
[ -e "$work/m/log.csv" ] && bad "mismatched ranks wrote a log"
# 5. a rank without the data (PLAST_DATA_DIR hides Fashion-MNIST from it)
if "$PLASTCC" run "$rules" --experiment fashion --out "$work/f0" --quiet --threads 1 >/dev/null 2>&1; then
  mpi -np 1 "$PLASTCC" run "$rules" --experiment fashion --out "$work/f" --quiet --threads 1 : \
      -np 1 -x PLAST_DATA_DIR=/nonexistent "$PLASTCC" run "$rules" --experiment fashion --out "$work/f" --quiet \
      --threads 1 > "$work/f.out" 2>&1 && bad "a rank without data accepted"
  grep -q "rank 1: Fashion-MNIST not found" "$work/f.out" || { cat "$work/f.out"; bad "no message naming rank 1's data"; }
else
  say "(no Fashion-MNIST installed: the missing-data case is skipped)"
fi
say "mpi: a rank with another option, or without its data, stops the job with a message naming it"

# 6. a diverging run stops every rank together at the same episode, the
#    message once, no MPI abort
mpi -np 2 "$PLASTCC" run "$rules" --experiment diverge --out "$work/d" --threads 1 --quiet > "$work/d.out" 2>&1 &&
  bad "a diverging run exited 0"
[ "$(grep -c 'run stopped: episode' "$work/d.out")" -eq 1 ] || { cat "$work/d.out"; bad "the stop is not reported once"; }
grep -q "MPI_ABORT" "$work/d.out" && { cat "$work/d.out"; bad "a collective stop aborted the job"; }
say "mpi: a diverging run stops every rank: $(grep 'run stopped' "$work/d.out")"

# 7. --seeds: independent runs shared out over the ranks = one process's
"$PLASTCC" run "$rules" --experiment mb4 --seeds 1-3 --episodes 4 --threads 1 --out "$work/s1" --quiet > /dev/null 2>&1 ||
  bad "--seeds in one process"
mpi -np 2 "$PLASTCC" run "$rules" --experiment mb4 --seeds 1-3 --episodes 4 --threads 1 --out "$work/s2" --quiet \
  > "$work/s2.out" 2>&1 || { cat "$work/s2.out"; bad "--seeds on two ranks"; }
for s in 1 2 3; do
  cmp -s "$work/s1/seed-$s/meta-state.txt" "$work/s2/seed-$s/meta-state.txt" || bad "--seeds: seed $s differs on two ranks"
done
say "mpi: --seeds 1-3 over 2 ranks (seeds 1, 3 on rank 0, 2 on rank 1) = one process, bit for bit"
# a seed that cannot run (its folder holds another run's results) fails the
# job, named with its rank, and the other seeds' runs are complete
mkdir -p "$work/s3/seed-2" && cp "$work/s1/seed-1/log.csv" "$work/s3/seed-2/"
mpi -np 2 "$PLASTCC" run "$rules" --experiment mb4 --seeds 1-2 --episodes 4 --threads 1 --out "$work/s3" --quiet \
  > "$work/s3.out" 2>&1 && bad "--seeds with a seed that cannot run exited 0"
grep -q "rank 1: the run of seed 2 failed" "$work/s3.out" || { cat "$work/s3.out"; bad "--seeds: the failed seed is not named"; }
cmp -s "$work/s1/seed-1/meta-state.txt" "$work/s3/seed-1/meta-state.txt" || bad "--seeds: seed 1 did not complete"
say "mpi: a seed that cannot run stops the job named (rank 1, seed 2); seed 1 completes"
exit $fail
