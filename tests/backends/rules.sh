#!/bin/sh
# rules.sh — the rule library through every back end: the LLVM JIT,
# the emitted C (system compiler) and an LLVM object file compute the same
# outputs and adjoints, and the same bits with 1, 2 and 4 threads
# (tests/backends/cross_check.c), on small matrices (one thread runs them)
# and on large ones (several threads: the chunked loops and the JIT's
# fused passes with their stage matrices), with batches of 3, 2 and 1; then
# the kernels of three experiments, whose update kernels also compute the
# next step's dense layers.
set -u
status=0
"$top_builddir/tests/backends/cross_check" "$top_srcdir"/rules/*.rule || status=1
echo "== --large"
"$top_builddir/tests/backends/cross_check" --large "$top_srcdir"/rules/*.rule || status=1
# batch 1: the JIT's versions of the loops over the samples for one sample
# (online learning), on one thread and, large, on several
echo "== --batch 1"
"$top_builddir/tests/backends/cross_check" --batch 1 "$top_srcdir"/rules/*.rule || status=1
echo "== --large --batch 1"
"$top_builddir/tests/backends/cross_check" --large --batch 1 "$top_srcdir"/rules/*.rule || status=1
# an experiment's kernels: its updates fused with the next step's dense
# layers (RULE_step_M_denseL), a softmax layer's among them
small=$top_srcdir/tests/runtime/episode/small.rule
for e in pool_random fa_random oja_random; do
  echo "== --experiment $e"
  "$top_builddir/tests/backends/cross_check" --batch 1 --experiment $e "$small" || status=1
  "$top_builddir/tests/backends/cross_check" --large --batch 1 --experiment $e "$small" || status=1
done
exit $status
