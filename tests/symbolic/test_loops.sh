#!/bin/sh
# test_loops.sh — the loop nests of `plastcc emit-c --dump=loops` (lower_dump
# in compiler/lower.c) compute every per-neuron value and every reduction
# once, in a loop of its own space (hoisting).
#
# For pool_fwd of rules/pool.rule:
#   - the per-synapse loop that writes dw computes no reduction
#     (sum_pre/sum_post/max_post, "(accumulated)") and no stored value;
#   - the header of that loop says "0 stored, 0 reductions".
# For every kernel of every rule of rules/ (and tests/golden/):
#   - each stored value and each reduction appears in exactly one loop;
#   - a stored value is never computed in a per-synapse loop, and it sits in
#     the loop of its own index space (from --dump=dag);
#   - the kernel header's count of stored values matches the loops.
# (A rule's DAGs: one per dw kind, "rule NAME" or "rule NAME_topdown (dw
# topdown)", and one per neurons kernel, "kernel NAME_neurons_fwd".)
# The dump format parsed here (lower_dump):
#   kernel NAME: N loop nests, M stored values
#     level L, SPACE[ (parallel over post|pre)]: A computed, S stored, R reductions[, writes OUT]...
#       %ID OP[ (stored)| (accumulated)]
#       %ID sum over the samples (inner loop of K computed values[, S sums])
#       %ID sum over the samples (in the inner loop of %LEADER)
#     final: writes OUT
set -u
plastcc=${PLASTCC:-plastcc}
src=${top_srcdir:-.}
tmp=${TMPDIR:-/tmp}/test_loops.$$
trap 'rm -f "$tmp".*' EXIT
status=0

fail() { echo "FAIL: $*"; status=1; }

# 1. pool_fwd: the dw loop.
"$plastcc" emit-c --dump=loops "$src/rules/pool.rule" >"$tmp.pool" 2>&1 || { cat "$tmp.pool"; exit 1; }
awk '
  /^kernel / { k = $2; sub(":", "", k); next }
  k != "pool_fwd" { next }
  /^  level / { inloop = ($0 ~ /writes dw/); if (inloop) { n++; header = $0 } next }
  /^  final:/ { inloop = 0; if ($0 ~ /writes dw/) final = 1; next }
  inloop && /^    %/ { body = body "\n" $0 }
  END {
    if (n != 1) { print "pool_fwd: " n " loops write dw (expected 1)"; exit 1 }
    if (final) { print "pool_fwd: dw is written by a final loop, not a per-synapse one"; exit 1 }
    print "pool_fwd dw loop:" header body
    if (header !~ /level [0-9]+, per-synapse/) { print "  not a per-synapse loop"; exit 1 }
    if (header !~ / 0 stored, 0 reductions,/) { print "  computes stored values or reductions"; exit 1 }
    if (body ~ /\((stored|accumulated)\)/ || body ~ /%[0-9]+ (sum_pre|sum_post|max_post)/) {
      print "  a reduction or stored value is computed in it"; exit 1
    }
  }' "$tmp.pool" || fail "pool_fwd: the loop that writes dw is not free of reductions and stored values"

# 2. Every kernel of every rule: each stored value and reduction once, in a
#    loop of its own space.  SPACES maps node -> space from --dump=dag.
check_file() {   # check_file RULEFILE
  f=$1
  "$plastcc" emit-c --dump=loops "$f" >"$tmp.loops" 2>&1 || { fail "$f: --dump=loops failed"; cat "$tmp.loops"; return; }
  "$plastcc" emit-c --dump=dag "$f" >"$tmp.dag" 2>&1 || { fail "$f: --dump=dag failed"; cat "$tmp.dag"; return; }
  awk -v file="$f" '
    FNR == NR {   # the DAG dump: %ID = OP ARGS : SPACE, one DAG per rule
                  # ("rule NAME", shared by NAME_fwd/_adj/_step) and one per
                  # model kernel ("kernel NAME")
      if ($0 ~ /^(rule|kernel) /) { r = $2; dags[r] = 1; next }
      if ($0 ~ /^model /) { r = ""; next }
      if ($0 ~ /^%[0-9]+ +=/) {
        id = $1; sub("%", "", id)
        sp = $0; sub(/^[^:]*: /, "", sp)
        space[r, id] = sp
      }
      next
    }
    /^kernel / {
      finish()
      k = $2; sub(":", "", k)
      r2 = k
      if (!(r2 in dags)) sub(/_(fwd|adj|step)$/, "", r2)
      declared = $(NF - 2)
      delete seen; stored = 0; kernels++
      next
    }
    /^  level / {
      s = $0; sub(/^  level [0-9]+, /, "", s); sub(/ \(parallel over (post|pre)\)/, "", s); sub(/:.*/, "", s)
      loopspace = s
      next
    }
    /^    %[0-9]+ / {
      id = $1; sub("%", "", id)
      if ($0 ~ /\(stored\)|\(accumulated\)/) {
        if (seen[id]++) { printf "%s: %s: %%%s is computed in two loops\n", file, k, id; bad = 1 }
      }
      if ($0 ~ /\(stored\)/) {
        stored++
        if (loopspace ~ /^per-synapse/) { printf "%s: %s: stored %%%s in a per-synapse loop\n", file, k, id; bad = 1 }
        if ((r2, id) in space && space[r2, id] != loopspace) {
          printf "%s: %s: %%%s (%s) is stored in a loop over %s\n", file, k, id, space[r2, id], loopspace; bad = 1
        }
      }
      if ($0 ~ /\(accumulated\)/) stored++
      next
    }
    function finish() {
      if (k != "" && stored != declared) {
        printf "%s: %s: header says %d stored values, loops hold %d\n", file, k, declared, stored; bad = 1
      }
    }
    END { finish(); if (!kernels) { printf "%s: no kernels\n", file; bad = 1 } exit bad }
  ' "$tmp.dag" "$tmp.loops" || fail "$f: loop nests"
}

for f in "$src"/rules/*.rule "$src"/tests/golden/*.rule; do
  case $f in */003.rule|*/models.rule|*/model3.rule|*/kcap_layer.rule) continue ;; esac   # no rules of their own
  check_file "$f"
done
# 3. Meta-MLPs inlined (PLASTCC_MLP_INLINE_MAX: every MLP here) under a mean
#    over the batch: every per-synapse sum over the samples of a loop nest
#    shares one inner loop over the samples (their blocks read no other such
#    sum), so the code grows with the MLP's size, not with its size times its
#    number of weights.  Each sum is still listed.
printf '%s\n' 'mlp m4 { in 4; dense 16 tanh; dense 8 relu; dense 1; }' \
  'rule r { dw = m4(pre.y, post.y, post.e, w); }' >"$tmp.mlp.rule"
for f in "$src/rules/hat.rule" "$src/tests/golden/hat.rule" "$src/rules/pool.rule" "$tmp.mlp.rule"; do
  PLASTCC_MLP_INLINE_MAX=100000 "$plastcc" emit-c --dump=loops "$f" >"$tmp.groups" 2>&1 ||
    { fail "$f: --dump=loops failed"; cat "$tmp.groups"; continue; }
  awk -v file="$f" '
    /^kernel / { k = $2 }
    /^  level / { nest = k $0 }
    /sum over the samples \(inner loop of / { loops[nest]++ }
    END {
      for (n in loops) if (loops[n] > 1) { printf "%s: %d loops over the samples in %s\n", file, loops[n], n; bad = 1 }
      exit bad
    }' "$tmp.groups" || fail "$f: sums over the samples of one loop nest do not share their loop"
done
grep -q 'in the inner loop of %' "$tmp.groups" || fail "the 4-16-8-1 MLP rule: no sum over the samples shares a loop"

# 4. A meta-MLP of more than 64 weights is a call with loops over its
#    hidden units (runtime/mlp.c): the loop nests and the emitted C of a rule
#    do not grow with the MLP's width (inlined, they grow with its width
#    times its number of weights), and the weights' adjoints are one node.
for w in 64:32 256:128; do
  printf '%s\n' "mlp m4 { in 4; dense ${w%:*} tanh; dense ${w#*:} relu; dense 1; }" \
    'rule r { dw = m4(pre.y, post.y, post.e, w); }' >"$tmp.mlp$w.rule"
  "$plastcc" emit-c --dump=loops "$tmp.mlp$w.rule" >"$tmp.mloops$w" 2>&1 || fail "4-$w-1: --dump=loops failed"
  "$plastcc" emit-c "$tmp.mlp$w.rule" 2>&1 | grep -v '^static const double' | wc -l >"$tmp.mlines$w"
done
cmp -s "$tmp.mloops64:32" "$tmp.mloops256:128" || { fail "the loop nests of a 4-64-32-1 and a 4-256-128-1 meta-MLP rule differ"; diff "$tmp.mloops64:32" "$tmp.mloops256:128" | head; }
cmp -s "$tmp.mlines64:32" "$tmp.mlines256:128" || fail "the emitted C of a 4-256-128-1 meta-MLP rule is longer than a 4-64-32-1's"
[ "$(grep -c 'mlp_grad (added into its rows' "$tmp.mloops64:32")" = 1 ] || fail "the 4-64-32-1 rule's adjoint has not one parameter-adjoint node"
#    One backward pass per call and loop nest: HAT's adjoint has three loop
#    nests (the adjoints of pre.y, of w and of post.y are summed over
#    different indices), each with one call of plast_mlp_vjp_d, and the
#    nest of the parameters' adjoints computes them in the same call.
"$plastcc" emit-c "$src/rules/hat.rule" >"$tmp.hat.c" 2>&1 || fail "hat.rule: emit-c failed"
[ "$(grep -c '^ *plast_mlp_vjp_d(hat_adj' "$tmp.hat.c")" = 3 ] ||
  fail "HAT's adjoint does not call plast_mlp_vjp_d once per loop nest: $(grep -c '^ *plast_mlp_vjp_d(hat_adj' "$tmp.hat.c") calls"
grep -q '^ *plast_mlp_vjp_d(hat_adj.*, c[0-9]*, g[0-9]* + i \* [0-9]*, j % PLAST_LANES);' "$tmp.hat.c" ||
  fail "HAT's adjoint does not compute an input's and the parameters' adjoints in one call"
#    The JIT's fused pass (one thread) over the nests of the sums over i and
#    over j calls the MLP once for both: every input's adjoint (m = -1).
"$plastcc" emit-llvm "$src/rules/hat.rule" >"$tmp.hat.ll" 2>&1 || fail "hat.rule: emit-llvm failed"
grep -q 'call void @plast_mlp_vjp_lanes_d(.*, i32 -1, i32 [%0-9a-z._]*, i32 [0-9]*,' "$tmp.hat.ll" ||
  fail "HAT's fused pass does not compute the adjoints of pre.y and post.y in one call"
#    The passes absorb the nest of the adjoint of w (a sum over the samples):
#    one pass for one thread and one for several (stage matrices), each with
#    one call, then the adjoint of w from its sums' arrays, and the three
#    nests apart for when the memory cannot be allocated: 5 calls and 6
#    parallel regions.  Without absorbing (PLASTCC_NO_ABSORB) the nest of w
#    runs last on its own: 5 calls, 5 regions.
calls() { grep -c 'call void @plast_mlp_vjp_lanes_d' "$1"; }
regions() { awk '/^define void @hat_adj\(/ { on = 1 } on && /call void @GOMP_parallel/ { n++ } on && /^}/ { on = 0 } END { print n + 0 }' "$1"; }
PLASTCC_NO_ABSORB=1 "$plastcc" emit-llvm "$src/rules/hat.rule" >"$tmp.hat2.ll" 2>&1 || fail "hat.rule: emit-llvm failed"
[ "$(calls "$tmp.hat.ll") $(regions "$tmp.hat.ll")" = "5 6" ] ||
  fail "HAT's adjoint IR has $(calls "$tmp.hat.ll") calls and $(regions "$tmp.hat.ll") parallel regions, not 5 and 6"
[ "$(calls "$tmp.hat2.ll") $(regions "$tmp.hat2.ll")" = "5 5" ] ||
  fail "HAT's adjoint IR without absorbing has $(calls "$tmp.hat2.ll") calls and $(regions "$tmp.hat2.ll") parallel regions, not 5 and 5"
grep -q 'call i8\* @malloc' "$tmp.hat.ll" || grep -q 'call ptr @malloc' "$tmp.hat.ll" || fail "HAT's adjoint IR allocates no arrays for its passes"

#    A `fixed` parameter is a constant without an adjoint: HAT's rule scaled
#    by a fixed eta has the same adjoint nests as without it (no nest of
#    adj_eta re-evaluating the MLP over every synapse), and the same 5 calls
#    and 6 regions (the nest of w still absorbed); a trainable eta adds the
#    nest of its adjoint.
sed 's/dw = mean_batch(hat_net(pre.y, w, post.y));/param eta = 0.01 fixed; dw = eta * mean_batch(hat_net(pre.y, w, post.y));/' \
  "$src/rules/hat.rule" >"$tmp.hatfix.rule"
sed 's/ fixed;/;/' "$tmp.hatfix.rule" >"$tmp.hattrain.rule"
grep -q 'fixed; dw = eta' "$tmp.hatfix.rule" || fail "test_loops.sh: could not write the fixed-eta HAT rule"
nests() { "$plastcc" emit-c "$1" --dump=loops 2>&1 | sed -n 's/^kernel hat_adj: \([0-9]*\) loop nests.*/\1/p'; }
[ "$(nests "$tmp.hatfix.rule")" = "$(nests "$src/rules/hat.rule")" ] ||
  fail "a fixed eta changes HAT's adjoint nests: $(nests "$tmp.hatfix.rule") against $(nests "$src/rules/hat.rule")"
[ "$(nests "$tmp.hattrain.rule")" -gt "$(nests "$src/rules/hat.rule")" ] ||
  fail "a trainable eta adds no nest for its adjoint: $(nests "$tmp.hattrain.rule")"
"$plastcc" emit-llvm "$tmp.hatfix.rule" >"$tmp.hatfix.ll" 2>&1 || fail "fixed-eta hat rule: emit-llvm failed"
[ "$(calls "$tmp.hatfix.ll") $(regions "$tmp.hatfix.ll")" = "5 6" ] ||
  fail "the fixed-eta HAT adjoint IR has $(calls "$tmp.hatfix.ll") calls and $(regions "$tmp.hatfix.ll") parallel regions, not 5 and 6"

#    The fused passes are decided in the lowered form and shown by
#    --dump=loops: HAT's adjoint runs nests 2 and 3 as one staged pass
#    that absorbs the nest of w after them; the pool's forward fuses a pair; with
#    PLASTCC_NO_FUSE nothing is fused, and the IR has HAT's two loops apart.
fused() { "$plastcc" emit-c "$1" --dump=loops 2>&1 | awk -v k="$2" '/^kernel / { on = $2 == k ":" } on && /^  fused:/'; }
fused "$src/rules/hat.rule" hat_adj | grep -q "^  fused: nests 2 and 3 in one pass over the matrix, on several threads parallel over rows with stage matrices for the sums over i, nest 4's sums over the samples in the same pass$" ||
  fail "hat_adj's dump does not show its fused, staged pass absorbing nest 4: $(fused "$src/rules/hat.rule" hat_adj)"
[ "$(fused "$src/rules/pool.rule" pool_fwd | grep -c 'on one thread, apart on several')" -ge 1 ] ||
  fail "pool_fwd's dump shows no fused pair"
[ -z "$(PLASTCC_NO_FUSE=1 fused "$src/rules/hat.rule" hat_adj)$(PLASTCC_NO_FUSE=1 fused "$src/rules/pool.rule" pool_adj)" ] ||
  fail "PLASTCC_NO_FUSE=1 still shows fused passes"
PLASTCC_NO_FUSE=1 "$plastcc" emit-llvm "$src/rules/hat.rule" >"$tmp.hat3.ll" 2>&1 || fail "hat.rule: emit-llvm failed"
grep -q 'hat_adj.stage' "$tmp.hat3.ll" && fail "PLASTCC_NO_FUSE=1: HAT's IR still has a staged pass"

#    Loops that call a meta-MLP are balanced (threads take chunks as they
#    free up): every per-synapse nest of HAT's kernels; the pool's cheap
#    nests keep the static split.
balanced() { "$plastcc" emit-c "$1" --dump=loops 2>&1 | grep -c '^  balanced: nest'; }
[ "$(balanced "$src/rules/hat.rule")" = 5 ] || fail "HAT's kernels have $(balanced "$src/rules/hat.rule") balanced nests, not 5"
[ "$(balanced "$src/rules/pool.rule")" = 0 ] || fail "the pool's kernels have $(balanced "$src/rules/pool.rule") balanced nests, not 0"
"$plastcc" emit-llvm "$src/rules/pool.rule" 2>&1 | grep -q 'atomicrmw' && fail "the pool's IR takes chunks from a counter"
grep -q 'atomicrmw add' "$tmp.hat.ll" || fail "HAT's IR takes no chunks from a counter"

# 6. The work a parallel loop needs (lower.h): HAT's nests call a meta-MLP
#    (2^12 synapse-samples; those with sums over the samples count them),
#    the pool's do not (2^18 synapses: a batch-1 step of mlp5 runs on the
#    caller alone); every parallel per-synapse nest says its threshold.
threads() { "$plastcc" emit-c "$1" --dump=loops 2>&1 | grep "^  threads: nest" | sed 's/.*nest [0-9]* //' | LC_ALL=C sort | uniq -c | tr -s ' ' | tr '\n' ';'; }
[ "$(threads "$src/rules/hat.rule")" = " 3 when n_post * n_pre * batch >= 4096; 2 when n_post * n_pre >= 4096;" ] ||
  fail "HAT's parallel thresholds: $(threads "$src/rules/hat.rule")"
[ "$(threads "$src/rules/pool.rule")" = " 3 when n_post * n_pre * batch >= 262144; 9 when n_post * n_pre >= 262144;" ] ||
  fail "the pool's parallel thresholds: $(threads "$src/rules/pool.rule")"
"$plastcc" emit-c "$src/rules/hat.rule" 2>&1 | grep -q 'schedule(dynamic) if (n_post \* n_pre \* batch >= 4096)' ||
  fail "the emitted C of HAT does not say the thresholds of the dump"

# 7. A per-synapse loop whose weights sum over the samples has a version
#    for one sample in the JIT (lower_loop.one_sample), unless it calls a
#    meta-MLP: the pool's update and adjoint-of-w passes, none of HAT's
#    (rules.sh checks its bits: cross_check --batch 1).
one_sample() { "$plastcc" emit-c "$1" --dump=loops 2>&1 | grep -c '^  one sample: nest'; }
[ "$(one_sample "$src/rules/pool.rule")" = 3 ] ||
  fail "the pool's kernels have $(one_sample "$src/rules/pool.rule") nests with a one-sample version, not 3"
[ "$(one_sample "$src/rules/hat.rule")" = 0 ] ||
  fail "HAT's kernels have $(one_sample "$src/rules/hat.rule") nests with a one-sample version, not 0"

# 8. Rows the JIT runs at once (lower_loop.row_block), in the dump: a
#    plain column loop and its fused pass two, a row loop of one sum over j
#    (W y) four (the pool has none since its adjoint's lone row sum of
#    level 1 joined level 2's loop: lower.c, sink_reductions); none for
#    loops calling a meta-MLP (HAT).  Their bits: rules.sh (the small and
#    --large sizes leave odd rows and partial blocks).
rows() { "$plastcc" emit-c "$1" --dump=loops 2>&1 | grep -c "^  rows: nest [0-9]* runs $2 rows at a time"; }
[ "$(rows "$src/rules/pool.rule" 2)" = 5 ] ||
  fail "the pool's kernels have $(rows "$src/rules/pool.rule" 2) nests of two rows at a time, not 5"
[ "$(rows "$src/rules/pool.rule" 4)" = 0 ] ||
  fail "the pool's kernels have $(rows "$src/rules/pool.rule" 4) nests of four rows at a time, not 0"
[ "$(PLASTCC_NO_SINK=1 rows "$src/rules/pool.rule" 4)" = 2 ] ||
  fail "with PLASTCC_NO_SINK=1 the pool's kernels have $(PLASTCC_NO_SINK=1 rows "$src/rules/pool.rule" 4) nests of four rows at a time, not 2"
"$plastcc" emit-c "$src/rules/models.rule" --dump=loops 2>&1 | sed -n '/^kernel mlp5_dense1_fwd:/,/^kernel/p' |
  grep -q '^  rows: nest 1 runs 4 rows at a time' || fail "mlp5's W y does not run four rows at a time"
[ "$(rows "$src/rules/hat.rule" '[0-9]*')" = 0 ] ||
  fail "HAT's kernels, which call a meta-MLP, have $(rows "$src/rules/hat.rule" '[0-9]*') nests of several rows"

# 9. A rule's adjoint whose adj_w may be the array of its seed adj_dw
#    (lower.c seed_in_place; the episode then copies no seed): a level's
#    loop of sums over the samples, which writes adj_w, comes after the
#    level's per-sample loops, which read adj_dw, and no later nest reads
#    it.  The pool's, HAT's, Oja's; the emitted C then declares neither
#    array restrict, the IR neither noalias, and the descriptor says so.
#    (episode.sh: the same bits with every seed copied.)  Likewise a
#    rule's step whose w_next may be the array of its w (next_in_place;
#    the episode then updates one copy of the state): every rule's, fa's
#    too, whose SGD has no adjoint of w and so no seed in place.
inplace() { "$plastcc" emit-c "$1" --dump=loops 2>&1 | awk -v what="$2" '/^kernel / { k = $2 } $0 ~ "^  in place: " what " " { print k }' | tr '\n' ' '; }
[ "$(inplace "$src/rules/pool.rule" adj_w)" = "pool_adj: " ] || fail "the pool's kernels with adj_w in place: '$(inplace "$src/rules/pool.rule" adj_w)'"
[ "$(inplace "$src/rules/hat.rule" adj_w)" = "hat_adj: " ] || fail "HAT's kernels with adj_w in place: '$(inplace "$src/rules/hat.rule" adj_w)'"
[ -z "$(inplace "$src/rules/fa.rule" adj_w)" ] || fail "feedback alignment's SGD (no adjoint of w) is in place: $(inplace "$src/rules/fa.rule" adj_w)"
[ "$(inplace "$src/rules/pool.rule" w_next)" = "pool_step: " ] || fail "the pool's kernels with w_next in place: '$(inplace "$src/rules/pool.rule" w_next)'"
[ "$(inplace "$src/rules/hat.rule" w_next)" = "hat_step: " ] || fail "HAT's kernels with w_next in place: '$(inplace "$src/rules/hat.rule" w_next)'"
[ "$(inplace "$src/rules/fa.rule" w_next)" = "fa_sgd_step: " ] || fail "fa's kernels with w_next in place: '$(inplace "$src/rules/fa.rule" w_next)'"
"$plastcc" emit-c --dump=loops "$src/rules/pool.rule" 2>&1 | sed -n '/^kernel pool_adj:/,/^kernel pool_step:/p' |
  awk '/^  level 2, per-synapse/ { n++; last = $0 } END { exit !(n == 3 && last ~ /writes adj_w$/) }' ||
  fail "pool_adj's last level does not end with the nest that writes adj_w"
"$plastcc" emit-c "$src/rules/pool.rule" >"$tmp.pool.c" 2>&1 || fail "pool.rule: emit-c failed"
grep -q '^    const real \*in_adj_dw = ' "$tmp.pool.c" && grep -q '^    real \*out_adj_w = ' "$tmp.pool.c" &&
  grep -q 'pool_adj_args, 10, 1 /\* adj_w may be adj_dw \*/, 0 };' "$tmp.pool.c" ||
  fail "the emitted C of pool_adj declares adj_dw or adj_w restrict, or its descriptor does not say in place"
grep -q '^    const real \*in_w = ' "$tmp.pool.c" && grep -q '^    real \*out_w_next = ' "$tmp.pool.c" &&
  grep -q 'pool_step_args, 10, 0, 1 /\* w_next may be w \*/ };' "$tmp.pool.c" ||
  fail "the emitted C of pool_step declares w or w_next restrict, or its descriptor does not say in place"
grep -q '^    real \*restrict out_dw = ' "$tmp.pool.c" || fail "the emitted C of pool_fwd lost its restrict"

#    For a batch of one, the pool's adjoint runs nests 3-5 (a sum over
#    every weight beside two per-sample loops) and 13-15 (two per-sample
#    loops and the in-place write of adj_w) as one pass each: fewer arrays
#    of weights read or written.  Models' adjoints, whose loops read
#    different matrices, get none; PLASTCC_NO_ONE_PASS and PLASTCC_NO_FUSE
#    turn them off, and the IR then has no branch for them.  (cross_check
#    --batch 1, rules.sh: the same bits as the C, in place too; episode.sh:
#    the same episode with and without.)
onepass() { "$plastcc" emit-c "$1" --dump=loops 2>&1 | awk '/^kernel / { k = $2 } /^  one pass: nests/ { print k, $0 }'; }
onepass "$src/rules/pool.rule" >"$tmp.onepass"
grep -q '^pool_adj:   one pass: nests 3, 4 and 5 as one pass over the matrix for a batch of one (JIT, one thread, 2 rows at a time): 2 arrays of weights read or written, against 4$' "$tmp.onepass" &&
  grep -q '^pool_adj:   one pass: nests 13, 14 and 15 as one pass .* (JIT, one thread, 1 row at a time): 2 arrays of weights read or written, against 3$' "$tmp.onepass" &&
  [ "$(wc -l <"$tmp.onepass")" = 2 ] || fail "the pool's one-sample passes: $(cat "$tmp.onepass")"
[ -z "$(onepass "$src/rules/models.rule")" ] || fail "a model's adjoint has a one-sample pass: $(onepass "$src/rules/models.rule")"
[ -z "$(PLASTCC_NO_ONE_PASS=1 onepass "$src/rules/pool.rule")$(PLASTCC_NO_FUSE=1 onepass "$src/rules/pool.rule")" ] ||
  fail "PLASTCC_NO_ONE_PASS=1 or PLASTCC_NO_FUSE=1 still shows one-sample passes"
"$plastcc" emit-llvm "$src/rules/pool.rule" 2>&1 | grep -c '^ *%one_pass_applies[0-9]* = ' >"$tmp.n1"
PLASTCC_NO_ONE_PASS=1 "$plastcc" emit-llvm "$src/rules/pool.rule" 2>&1 | grep -c '^ *%one_pass_applies[0-9]* = ' >"$tmp.n0"
[ "$(cat "$tmp.n1") $(cat "$tmp.n0")" = "2 0" ] || fail "the pool's IR has $(cat "$tmp.n1") one-sample branches (not 2), $(cat "$tmp.n0") without them (not 0)"

# 10. As late as possible (lower.c, sink_reductions): a sum over the
#    matrix whose value nothing per-synapse reads runs in the last level's
#    loop of its kind.  pool_adj's row sum of adj_dw weighted by a level-1
#    value feeds only per-neuron adjoints and theta's gradient: it joins
#    level 2's row loop, and level 1 has no per-synapse nest; with
#    PLASTCC_NO_SINK=1 it keeps its own (the bits: rules.sh, golden pool.c).
level1() { "$plastcc" emit-c "$src/rules/pool.rule" --dump=loops 2>&1 | sed -n '/^kernel pool_adj:/,/^kernel pool_step/p' | grep -c '^  level 1, per-synapse'; }
[ "$(level1)" = 0 ] || fail "pool_adj has $(level1) per-synapse nests at level 1, not 0"
[ "$(PLASTCC_NO_SINK=1 level1)" = 1 ] || fail "with PLASTCC_NO_SINK=1 pool_adj has $(PLASTCC_NO_SINK=1 level1) per-synapse nests at level 1, not 1"

[ $status -eq 0 ] && echo "ok: every stored value and reduction is computed once, in a loop of its own space; sums over the samples share their loop"
exit $status
