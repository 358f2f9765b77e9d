#!/bin/sh
# mpi_scaling.sh — meta-training of the 003 pool (mlp5, 250 online steps,
# 5-way Fashion-MNIST) with a meta-batch of 4, on 1 and 2 MPI ranks and 1 and
# 2 threads per rank: episodes (tasks) per second, and the communication cost
# per meta-step that PLASTCC_PROFILE reports.  Usage (from the top folder,
# after `make`):  sh bench/mpi_scaling.sh [EPISODES]   (default 4 meta-steps)
set -u
plastcc=${PLASTCC:-build/plastcc}
episodes=${1:-4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpi() { mpirun --allow-run-as-root --oversubscribe --bind-to none "$@"; }
run() {   # run LABEL RANKS THREADS
  label=$1; ranks=$2; threads=$3
  start=$(date +%s.%N)
  if [ "$ranks" -eq 1 ]; then
    PLASTCC_PROFILE=1 "$plastcc" run bench/workloads.rule --experiment bench_pool_mb4 --episodes "$episodes" \
      --threads "$threads" --out "$work/$label" --quiet > /dev/null 2> "$work/$label.err"
  else
    PLASTCC_PROFILE=1 mpi -np "$ranks" -x PLASTCC_PROFILE "$plastcc" run bench/workloads.rule \
      --experiment bench_pool_mb4 --episodes "$episodes" --threads "$threads" --out "$work/$label" --quiet \
      > /dev/null 2> "$work/$label.err"
  fi
  end=$(date +%s.%N)
  # the episodes' own time (log.csv's seconds column), without start-up and JIT
  secs=$(awk -F, 'NR > 1 { s += $7 } END { print s }' "$work/$label/log.csv")
  comm=$(sed -n 's/.*per meta-step \([0-9.]*\) s sharing.*(\([0-9]*\) bytes).*/\1 s, \2 bytes/p' "$work/$label.err" | head -1)
  printf '| %d | %d | %.2f | %.3f | %s | %.1f |\n' "$ranks" "$threads" "$secs" \
    "$(echo "$episodes * 4 / $secs" | bc -l)" "${comm:--}" "$(echo "$end - $start" | bc -l)"
}
echo "| ranks | threads per rank | seconds in $episodes meta-steps | tasks per second | communication per meta-step | wall (s, with start-up) |"
echo "|---|---|---|---|---|---|"
run r1t1 1 1
run r1t2 1 2
run r2t1 2 1
run r2t2 2 2
