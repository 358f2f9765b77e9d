/* llgen_loop — loop nests as LLVM IR: per-synapse loops strip-mined over j
 * (with masks or a scalar remainder), rows-outer column sums, the body of a
 * fused pair's pass, parallel loops outlined for GOMP_parallel, serial nests
 * in functions of their own (emit_c's emit_loop).  How a fused pair runs
 * (one thread, staged, absorbing, apart) is llgen_fuse.c's. */
#include "config.h"
#include "llgen_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- loops (emit_c's emit_loop) ---- */

/* The outputs loop L writes, at this iteration. */
static void store_outs(lfn *f, const lower_loop *L)
{
    const kern *k = f->kc->k;
    for (int q = 0; q < L->n_outs && !f->g->failed; q++) {
        const kern_out *o = &k->out[L->outs[q]];
        lg_store_at(f, lg_array(f, f->kc->out_arg[L->outs[q]]), o->space, lg_value_of(f, o->node), o->accumulate);
    }
}

/* One iteration: the loop's nodes, then the outputs it writes. */
static void loop_body(lfn *f, const lower_loop *L, int local_bit)
{
    lg_gen_nodes(f, L->nodes, L->n_nodes, local_bit);
    store_outs(f, L);
}

/* The bodies of a fused column loop LC and row loop LR as one: their nodes
 * merged in id order (a node of both once), so that a meta-MLP call of both
 * is one routine call — HAT's adjoint: the adjoints of pre.y (a sum over i)
 * and of post.y and the weights (sums over j) from one backward pass.  The
 * same values, so the same bits, as the bodies one after the other.  With
 * F->absorb, the nodes of that loop's sums over the samples (each sum's
 * block and the sum, which adds this sample's term: batch_stage) join
 * them: the adjoint of w from the same pass. */
static void pair_body(lfn *f, const lower_loop *Lc, const lower_loop *Lr)
{
    const lkern *kc = f->kc;
    const lower_loop *X = f->absorb;
    char *mark = calloc((size_t)kc->d->n + 1, 1);   /* 1: the column loop's, 2: the row loop's, 4: X's */
    for (int q = 0; q < Lc->n_nodes; q++) mark[Lc->nodes[q]] |= 1;
    for (int q = 0; q < Lr->n_nodes; q++) mark[Lr->nodes[q]] |= 2;
    for (int q = 0; X && q < X->n_nodes; q++) {
        int *blk, nb = lower_batch_block(kc->lk, X->nodes[q], &blk);
        for (int r = 0; r < nb; r++) mark[blk[r]] |= 4;
        mark[X->nodes[q]] |= 4;
        free(blk);
    }
    int *ids = malloc((size_t)(kc->d->n + 1) * sizeof *ids), n = 0;
    char *col = malloc((size_t)kc->d->n + 1);
    for (int id = 0; id < kc->d->n; id++)
        if (mark[id]) {
            col[n] = mark[id] == 1;
            ids[n++] = id;
        }
    lg_gen_nodes_of_pair(f, ids, n, SP_PRE, col);
    free(mark);
    free(ids);
    free(col);
    store_outs(f, Lc);
    store_outs(f, Lr);
}

/* real accN = 0 (or -inf) for the loop's sums over LOCAL_BIT. */
static void accs_open(lfn *f, const lower_loop *L, int local_bit)
{
    const dag *d = f->kc->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &d->node[id];
        if (!dag_op_is_reduction(n->op) || lower_is_batch_sum(f->kc->lk, id) || dag_ops[n->op].reduces != local_bit) continue;
        LLVMTypeRef ty = lg_real_type(f->g, lg_lane_split(n, local_bit) ? lower_sum_lanes(f->g->prec)
                                                                  : lg_varies(f, n->space) ? f->w : 1);
        f->acc[id] = lg_new_alloca(f, ty, "acc");
        LLVMBuildStore(f->bb, lg_real_const(f->g, ty, n->op == OP_MAX_POST ? -INFINITY : 0), f->acc[id]);
    }
}

/* vN[idx] = accN */
static void accs_close(lfn *f, const lower_loop *L, int local_bit)
{
    const dag *d = f->kc->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &d->node[id];
        if (!dag_op_is_reduction(n->op) || lower_is_batch_sum(f->kc->lk, id) || dag_ops[n->op].reduces != local_bit) continue;
        LLVMValueRef v = LLVMBuildLoad2(f->bb, LLVMGetAllocatedType(f->acc[id]), f->acc[id], "");
        if (lg_lane_split(n, local_bit)) v = lg_lane_sum(f, v);
        lg_store_at(f, lg_array(f, lg_stored_array(f->kc, id)), n->space, v, 0);
        f->acc[id] = NULL;
    }
}

/* Arrays of sums across samples or rows start at 0 (-inf for a maximum). */
void lg_init_reductions(lfn *f, const lower_loop *L, int local_bit)
{
    const dag *d = f->kc->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &d->node[id];
        if (!dag_op_is_reduction(n->op) || lower_is_batch_sum(f->kc->lk, id) || dag_ops[n->op].reduces == local_bit) continue;
        LLVMValueRef p = lg_array(f, lg_stored_array(f->kc, id));
        lloop K;
        LLVMValueRef k = lg_loop_open(f, &K, lg_i64c(f->g, 0), lg_size_of(f, n->space), 1, "k");
        LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, p, &k, 1, "");
        LLVMBuildStore(f->bb, LLVMConstReal(f->g->t_real, n->op == OP_MAX_POST ? -INFINITY : 0), at);
        lg_loop_close(f, &K);
    }
}

/* Whether a per-synapse loop can run several columns j at once: every sum
 * in it is a register accumulator (none is shared across rows). */
static int can_vectorise(const lkern *kc, const lower_loop *L, int local_bit)
{
    return kc->g->lanes >= 2 && lower_sums_over(kc->lk, L, local_bit);
}

/* f->mask = (j + 0, j + 1, ..., j + w-1) < END */
static void set_mask(lfn *f, LLVMValueRef end)
{
    lmod *g = f->g;
    LLVMTypeRef vt = LLVMVectorType(g->t_i64, (unsigned)f->w);
    LLVMValueRef iota[64], zero = LLVMConstNull(LLVMVectorType(g->t_i32, (unsigned)f->w));
    for (int k = 0; k < f->w; k++) iota[k] = lg_i64c(g, k);
    LLVMValueRef j = LLVMBuildInsertElement(f->bb, LLVMGetUndef(vt), f->j, lg_i32c(g, 0), "");
    j = LLVMBuildShuffleVector(f->bb, j, LLVMGetUndef(vt), zero, "");
    LLVMValueRef e = LLVMBuildInsertElement(f->bb, LLVMGetUndef(vt), end, lg_i32c(g, 0), "");
    e = LLVMBuildShuffleVector(f->bb, e, LLVMGetUndef(vt), zero, "");
    f->mask = LLVMBuildICmp(f->bb, LLVMIntSLT, LLVMBuildAdd(f->bb, j, LLVMConstVector(iota, (unsigned)f->w), ""), e, "mask");
}

/* The arrays of the loop's sums over i, at the current columns: 0 (-inf for a maximum). */
static void mem_accs_start(lfn *f, const lower_loop *L)
{
    const dag *d = f->kc->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &d->node[id];
        if (!lower_is_column_sum(f->kc->lk, id)) continue;
        int lanes = lg_varies(f, n->space) ? f->w : 1;
        lg_store_at(f, lg_array(f, lg_stored_array(f->kc, id)), n->space,
                 lg_real_const(f->g, lg_real_type(f->g, lanes), n->op == OP_MAX_POST ? -INFINITY : 0), 0);
    }
}

/* Rows of a strip: row I[r] with the accumulators ACC[r] of its sums over
 * j; VALID[r] (NULL: always) false for a row past the last, which repeats
 * the last row (by_rows) and so adds nothing to the column sums. */
typedef struct row_set {
    int n;
    LLVMValueRef i[LOWER_ROW_BLOCK];
    LLVMValueRef *acc[LOWER_ROW_BLOCK];
    LLVMValueRef valid[LOWER_ROW_BLOCK];
} row_set;

/* The columns [S, E) of the rows ROWS (the current row when NULL), LANES at
 * a time (masked when MASKED): the column loop LC's body, its sums over i
 * adding into their arrays (or with START only those arrays set to 0, -inf
 * for a maximum), then, when given, the row loop LR's body, its sums over j
 * in registers; row after row within a strip, the column sums held in
 * registers across the rows (f->held). */
static void row_strips(lfn *f, const lower_loop *Lc, const lower_loop *Lr, LLVMValueRef s, LLVMValueRef e,
                       int lanes, int masked, int start, const row_set *rows)
{
    lloop J;
    f->w = lanes;
    f->j = lg_loop_open(f, &J, s, e, lanes, lanes > 1 ? "jv" : "j");
    if (masked) set_mask(f, e);
    int n_ids = f->kc->d->n + 1;
    if (rows && !start) f->held = calloc((size_t)n_ids, sizeof *f->held);   /* one load and store a strip */
    for (int r = 0; r < (rows ? rows->n : 1); r++) {
        if (rows) {
            f->i = rows->i[r];
            f->acc = rows->acc[r];
            f->row_valid = rows->valid[r];
            lg_forget(f);   /* element indices and loaded values are the row's */
        }
        if (start) {
            mem_accs_start(f, Lc);
        } else if (Lr && lower_share_mlp_call(f->kc->d, Lc, Lr)) {
            pair_body(f, Lc, Lr);
        } else {
            f->mem_acc = 1;
            loop_body(f, Lc, SP_POST);
            f->mem_acc = 0;
            if (Lr) loop_body(f, Lr, SP_PRE);
        }
    }
    f->row_valid = NULL;
    for (int id = 0; f->held && id < n_ids; id++)
        if (f->held[id])
            lg_store_at(f, lg_array(f, lg_stored_array(f->kc, id)), f->kc->d->node[id].space, f->held[id], 0);
    free(f->held);
    f->held = NULL;
    lg_loop_close(f, &J);
    f->j = f->mask = NULL;
    f->w = 1;
}

/* Rows [RS, RE) outer, columns [CS, CE) inner, for the column loop LC and,
 * fused with it when given, the row loop LR.  LC's sums over i add into
 * their arrays, each column still in increasing i — the order, so the
 * bits, of a column at a time — and LR's sums over j keep their partial
 * sums per row; the matrix is read row by row (contiguous, and once for
 * both loops) instead of down its columns.  The full strips run
 * unmasked, then the remaining columns: one at a time, or with MASKED one
 * strip under the lane mask (a second copy of the body; a mask on every
 * strip, as before, made the pool's episode 5% slower in double and 8% in
 * single, for 12% less code and 25-40% less JIT latency on pool.rule).
 * As in syn_chunk, a loop over the samples inside each element (a batch
 * that is not the constant 1) or a meta-MLP's large body keeps one masked
 * copy for every strip.  The same bits every way.  On one thread,
 * Lc->row_block rows at a time (row_set: past the last row, the last
 * again). */
static void by_rows(lfn *f, const lower_loop *Lc, const lower_loop *Lr, LLVMValueRef cs, LLVMValueRef ce,
                    LLVMValueRef rs, LLVMValueRef re, int lanes, int masked)
{
    int samples = (Lc->work_samples || (Lr && Lr->work_samples)) && !LLVMIsConstant(f->size[SIZE_BATCH]);
    int whole = masked && (samples || Lc->mlp || (Lr && Lr->mlp));
    int tail = lanes > 1 && !whole;
    LLVMValueRef full = ce;
    if (tail) {
        LLVMValueRef n = LLVMBuildNSWSub(f->bb, ce, cs, "");
        full = LLVMBuildNSWAdd(f->bb, cs, LLVMBuildNSWMul(f->bb, LLVMBuildSDiv(f->bb, n, lg_i64c(f->g, lanes), ""),
                                                           lg_i64c(f->g, lanes), ""), "full");
    }
    int block = lanes > 1 && !f->staged && !f->absorb ? Lc->row_block : 1;   /* lower_loop.row_block */
    int n_ids = f->kc->d->n + 1;
    for (int start = !f->staged; start >= 0; start--) {   /* staged: the terms are summed after the pass */
        const lower_loop *R = start ? NULL : Lr;
        lloop I;
        LLVMValueRef *own = f->acc;
        row_set rows = { block, { 0 }, { 0 }, { 0 } };
        if (!start) {   /* rows BLOCK at a time; past the last, the last again (rows.valid) */
            LLVMValueRef i0 = lg_loop_open(f, &I, rs, re, block, block > 1 ? "ib" : "i");
            LLVMValueRef last = LLVMBuildNSWSub(f->bb, re, lg_i64c(f->g, 1), "");
            for (int r = 0; r < block; r++) {
                rows.i[r] = i0;
                if (r > 0) {
                    LLVMValueRef i = LLVMBuildNSWAdd(f->bb, i0, lg_i64c(f->g, r), "");
                    rows.valid[r] = LLVMBuildICmp(f->bb, LLVMIntSLT, i, re, "");
                    rows.i[r] = LLVMBuildSelect(f->bb, rows.valid[r], i, last, "");
                }
                f->i = rows.i[r];
                rows.acc[r] = f->acc = block > 1 ? calloc((size_t)n_ids, sizeof *f->acc) : own;
                if (R) accs_open(f, R, SP_PRE);
            }
        }
        const row_set *set = !start && block > 1 ? &rows : NULL;
        row_strips(f, Lc, R, cs, full, lanes, whole, start, set);
        if (tail) row_strips(f, Lc, R, full, ce, masked ? lanes : 1, masked, start, set);
        if (start) continue;
        for (int r = 0; r < block; r++) {
            f->i = rows.i[r];
            f->acc = rows.acc[r];
            lg_forget(f);
            if (R) accs_close(f, R, SP_PRE);
            if (block > 1) free(rows.acc[r]);
        }
        f->acc = own;
        lg_loop_close(f, &I);
        f->i = NULL;
    }
}

/* Columns j in [START, n_pre) of the current row, LANES at a time: the full
 * strips, or with MASKED all of them, the last under a mask. */
static LLVMValueRef post_row_columns(lfn *f, const lower_loop *L, LLVMValueRef start, int lanes, int masked)
{
    lloop J;
    LLVMValueRef end = f->size[SIZE_N_PRE];
    LLVMValueRef limit = lanes > 1 && !masked ? LLVMBuildNSWSub(f->bb, end, lg_i64c(f->g, lanes - 1), "") : end;
    f->w = lanes;
    f->j = lg_loop_open(f, &J, start, limit, lanes, lanes > 1 ? "jv" : "j");
    if (masked) set_mask(f, end);
    loop_body(f, L, SP_PRE);
    lg_loop_close(f, &J);
    f->j = f->mask = NULL;
    f->w = 1;
    return J.idx;
}

/* The columns [START, n_pre) left of the current row after its full strips:
 * one strip of LANES under a mask when MASKED, else one at a time. */
static void row_tail(lfn *f, const lower_loop *L, LLVMValueRef start, int lanes, int masked)
{
    if (!masked) {
        post_row_columns(f, L, start, 1, 0);
        return;
    }
    lloop K;
    LLVMValueRef end = f->size[SIZE_N_PRE];
    f->w = lanes;
    f->j = lg_loop_open(f, &K, start, end, lanes, "jt");
    set_mask(f, end);
    loop_body(f, L, SP_PRE);
    lg_loop_close(f, &K);
    f->j = f->mask = NULL;
    f->w = 1;
}

/* Rows [S, E) of row loop L, L->row_block at a time, columns LANES at a time
 * (the full strips, then each row's remaining columns: row_tail); returns
 * the first row not run (fewer than a block remain). */
static LLVMValueRef blocked_rows(lfn *f, const lower_loop *L, LLVMValueRef s, LLVMValueRef e, int lanes, int masked)
{
    int n = f->kc->d->n + 1, nb = L->row_block;
    LLVMValueRef *own = f->acc, *acc[LOWER_ROW_BLOCK];
    for (int r = 0; r < nb; r++) acc[r] = calloc((size_t)n, sizeof *acc[r]);
    lloop I, J;
    LLVMValueRef last = LLVMBuildNSWSub(f->bb, e, lg_i64c(f->g, nb - 1), "");
    LLVMValueRef i0 = lg_loop_open(f, &I, s, last, nb, "ib");
    LLVMValueRef rows[LOWER_ROW_BLOCK];
    for (int r = 0; r < nb; r++) {
        rows[r] = LLVMBuildNSWAdd(f->bb, i0, lg_i64c(f->g, r), "");
        f->acc = acc[r];
        f->i = rows[r];
        accs_open(f, L, SP_PRE);
    }
    LLVMValueRef end = f->size[SIZE_N_PRE];
    f->w = lanes;
    f->j = lg_loop_open(f, &J, lg_i64c(f->g, 0), LLVMBuildNSWSub(f->bb, end, lg_i64c(f->g, lanes - 1), ""), lanes, "jv");
    for (int r = 0; r < nb; r++) {
        f->acc = acc[r];
        f->i = rows[r];
        lg_forget(f);   /* element indices and loaded values are the row's */
        loop_body(f, L, SP_PRE);
    }
    lg_loop_close(f, &J);
    f->j = NULL;
    f->w = 1;
    LLVMValueRef rest = J.idx;
    for (int r = 0; r < nb; r++) {
        f->acc = acc[r];
        f->i = rows[r];
        lg_forget(f);
        row_tail(f, L, rest, lanes, masked);
        lg_forget(f);
        accs_close(f, L, SP_PRE);
    }
    lg_loop_close(f, &I);
    f->i = NULL;
    f->acc = own;
    for (int r = 0; r < nb; r++) free(acc[r]);
    return I.idx;
}

/* Columns a per-synapse loop runs at once: none when it cannot vectorise;
 * for a row loop (ROW given) with sums over j in registers or a meta-MLP's
 * parameter adjoints (partial sums over j too), as many as those sums have
 * partials; else the target's vector width. */
static int strip_lanes(const lkern *kc, const lower_loop *row, int vec)
{
    int split = 0;
    for (int q = 0; row && q < row->n_nodes; q++)
        split |= (!lower_is_batch_sum(kc->lk, row->nodes[q]) && lg_lane_split(&kc->d->node[row->nodes[q]], SP_PRE)) ||
                 kc->d->node[row->nodes[q]].op == OP_MLP_GRAD;
    return !vec ? 1 : split ? lower_sum_lanes(kc->g->prec) : kc->g->lanes;
}

/* Two per-synapse loops of one level, LC parallel over columns (sums over
 * i) and LR over rows (sums over j), in one pass over the matrix, rows
 * [S, E): the same bits as the loops apart (by_rows); one thread runs it
 * (gen_fused_pair). */
static void fused_chunk(lfn *f, const lower_loop *Lc, const lower_loop *Lr, LLVMValueRef s, LLVMValueRef e)
{
    int lanes = strip_lanes(f->kc, Lr, 1);
    by_rows(f, Lc, Lr, lg_i64c(f->g, 0), f->size[SIZE_N_PRE], s, e, lanes, lanes > 1 && f->g->masked);
}

/* The rows (par SP_POST) or columns (par SP_PRE) [S, E) of a per-synapse
 * loop nest: the body of a parallel region's chunk. */
static void syn_chunk(lfn *f, const lower_loop *L, LLVMValueRef s, LLVMValueRef e)
{
    int vec = can_vectorise(f->kc, L, L->par == SP_PRE ? SP_POST : SP_PRE);
    int lanes = strip_lanes(f->kc, L->par == SP_POST ? L : NULL, vec);
    int masked = lanes > 1 && f->g->masked;
    if (L->par == SP_PRE) {
        by_rows(f, L, NULL, s, e, lg_i64c(f->g, 0), f->size[SIZE_N_POST], lanes, masked);
        return;
    }
    if (lanes > 1 && L->row_block > 1) s = blocked_rows(f, L, s, e, lanes, masked);
    /* A loop over the samples inside (a sum over them, for a batch that is
     * not the constant 1) pays the mask once for all of them, and a call of
     * a meta-MLP dwarfs it: one masked copy of the body.  Else the full
     * strips run unmasked, then the tail. */
    int whole = masked && ((L->work_samples && !LLVMIsConstant(f->size[SIZE_BATCH])) || L->mlp);
    lloop I;
    f->i = lg_loop_open(f, &I, s, e, 1, "i");
    accs_open(f, L, SP_PRE);
    LLVMValueRef rest = lanes > 1 ? post_row_columns(f, L, lg_i64c(f->g, 0), lanes, whole) : lg_i64c(f->g, 0);
    if (!whole) row_tail(f, L, rest, lanes, masked);
    accs_close(f, L, SP_PRE);
    lg_loop_close(f, &I);
    f->i = NULL;
}

/* syn_chunk twice (lower_loop.one_sample): for batch == 1 with the batch a
 * constant 1, so that the loop over the samples goes and what it read per
 * row leaves the loop over j; and for any batch. */
static void syn_chunk_versions(lfn *f, const lower_loop *L, LLVMValueRef s, LLVMValueRef e)
{
    lmod *g = f->g;
    LLVMBasicBlockRef one = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "one_sample");
    LLVMBasicBlockRef any = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "samples");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "versions_done");
    LLVMValueRef batch = f->size[SIZE_BATCH];
    LLVMBuildCondBr(f->bb, LLVMBuildICmp(f->bb, LLVMIntEQ, batch, lg_i64c(g, 1), ""), one, any);
    LLVMPositionBuilderAtEnd(f->bb, one);
    lg_forget(f);
    f->size[SIZE_BATCH] = lg_i64c(g, 1);
    syn_chunk(f, L, s, e);
    f->size[SIZE_BATCH] = batch;
    LLVMBuildBr(f->bb, join);
    LLVMPositionBuilderAtEnd(f->bb, any);
    lg_forget(f);
    syn_chunk(f, L, s, e);
    LLVMBuildBr(f->bb, join);
    LLVMPositionBuilderAtEnd(f->bb, join);
    lg_forget(f);
}

/* Marks in USED the arrays that computing node ID's value reads (value_of). */
static void scan_value(const lkern *kc, int id, char *used)
{
    const dag_node *n = &kc->d->node[id];
    if (n->op == OP_PACK) {   /* a call reads its items */
        scan_value(kc, n->arg[0], used);
        if (n->arg[1] >= 0) scan_value(kc, n->arg[1], used);
        return;
    }
    if (n->op == OP_INPUT) used[kc->input_arg[n->aux]] = 1;
    else if (n->op == OP_PARAM) used[kc->meta_arg] = 1;
    else if (n->op != OP_CONST && n->op != OP_SIZE && !lower_is_inline(kc->lk, id)) used[lg_stored_array(kc, id)] = 1;
}

static void scan_nodes(const lkern *kc, const int *nodes, int n_nodes, char *used)
{
    for (int q = 0; q < n_nodes; q++) {
        int id = nodes[q];
        const dag_node *n = &kc->d->node[id];
        if (lower_is_batch_sum(kc->lk, id)) {
            int *blk, nb = lower_batch_block(kc->lk, id, &blk);
            scan_nodes(kc, blk, nb, used);
            scan_value(kc, n->arg[0], used);
            free(blk);
        } else {
            for (int a = 0; a < dag_ops[n->op].arity; a++) if (n->arg[a] >= 0) scan_value(kc, n->arg[a], used);
        }
        if (dag_ops[n->op].kind == OPK_MLPCALL && n->op != OP_PACK) used[kc->meta_arg] = 1;
        if (n->op == OP_MLP_GRAD) used[lg_grad_array(kc, id)] = 1;
        if (kc->lk->store[id] >= 0) used[lg_stored_array(kc, id)] = 1;
    }
}

/* The outlined body of parallel loop L (with L2: the fused pair of row
 * loop L and column loop L2, chunked by L's rows; STAGED: L2's sums over i
 * into their stage matrices; X: a loop the pass absorbs, and BATCH_STAGE:
 * what its sums over the samples do, F->batch_stage):
 *   NAME.parK(data): the rows (or columns, in whole vectors) [s0, e0) of a
 *   chunk, NAME.parK.impl(sizes, b, s0, e0, arrays...) on each: in a
 *   balanced loop (lower_fuse.c), chunks of about n / (8 nt) that each
 *   thread takes from a counter in the frame until none is left, so that a
 *   core slower than the other (or shared) does not hold it back; else
 *   thread t's chunk is the t-th of nt.
 * A row's (or column's) arithmetic does not depend on which thread runs it
 * or with which other rows, so every split gives the same bits. */
LLVMValueRef lg_outline_parallel(lkern *kc, const lower_loop *L, const lower_loop *L2, int staged,
                                     const lower_loop *X, int batch_stage)
{
    lmod *g = kc->g;
    char *used = calloc((size_t)kc->n_ptr + 1, 1);
    for (int q = 0; staged && q < L2->n_nodes; q++)   /* the staged pass stores the column sums' terms */
        if (kc->stage_slot[L2->nodes[q]] >= 0) used[kc->stage_slot[L2->nodes[q]]] = 1;
    const lower_loop *sums = X ? X : batch_stage ? L : NULL;   /* the arrays of the sums over the samples */
    for (int q = 0; sums && q < sums->n_nodes; q++)
        if (kc->stage_slot[sums->nodes[q]] >= 0) used[kc->stage_slot[sums->nodes[q]]] = 1;
    if (X) scan_nodes(kc, X->nodes, X->n_nodes, used);   /* its blocks' arrays */
    for (const lower_loop *Y = L; Y; Y = Y == L ? L2 : NULL) {
        scan_nodes(kc, Y->nodes, Y->n_nodes, used);
        for (int q = 0; q < Y->n_outs; q++) {
            scan_value(kc, kc->k->out[Y->outs[q]].node, used);
            used[kc->out_arg[Y->outs[q]]] = 1;
        }
    }
    int n_used = 0;
    for (int p = 0; p < kc->n_ptr; p++) n_used += used[p];
    LLVMTypeRef *params = malloc((size_t)(7 + n_used) * sizeof *params);
    for (int k = 0; k < 7; k++) params[k] = g->t_i64;
    for (int k = 0; k < n_used; k++) params[7 + k] = g->t_realp;
    char name[160];
    int K = kc->n_par++;
    snprintf(name, sizeof name, "%s.par%d.impl", kc->k->name, K);
    LLVMTypeRef impl_ty = LLVMFunctionType(g->t_void, params, (unsigned)(7 + n_used), 0);
    LLVMValueRef impl = lg_helper_fn(g, name, impl_ty);

    /* the impl: the loop nest over its chunk */
    lfn f;
    lg_fn_open(&f, kc, impl);
    for (int s = 0; s < SIZE_COUNT; s++) f.size[s] = LLVMGetParam(impl, (unsigned)s);
    for (int p = 0, k = 7; p < kc->n_ptr; p++) {
        if (!used[p]) continue;
        if (p >= kc->k->n_arg || !lower_may_alias(kc->lk, kc->k->arg[p].name))
            lg_add_attr(g, impl, (unsigned)k + 1, "noalias");
        f.ptr[p] = LLVMGetParam(impl, (unsigned)k++);
    }
    if (L->space & SP_SAMPLE) f.b = LLVMGetParam(impl, 4);
    if (L->batch_one) f.size[SIZE_BATCH] = lg_i64c(g, 1);   /* a one-sample pass (lower_one_pass) */
    f.staged = staged;
    f.absorb = X;
    f.batch_stage = batch_stage;
    if (L2) fused_chunk(&f, L2, L, LLVMGetParam(impl, 5), LLVMGetParam(impl, 6));   /* L: rows, L2: columns */
    else if (L->one_sample) syn_chunk_versions(&f, L, LLVMGetParam(impl, 5), LLVMGetParam(impl, 6));
    else syn_chunk(&f, L, LLVMGetParam(impl, 5), LLVMGetParam(impl, 6));
    lg_fn_close(&f);

    /* the body GOMP_parallel runs */
    snprintf(name, sizeof name, "%s.par%d", kc->k->name, K);
    LLVMValueRef body = LLVMAddFunction(g->m, name, g->t_body);
    LLVMSetLinkage(body, LLVMInternalLinkage);
    lg_add_attr(g, body, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    lg_mark_cold(g, body);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(g->ctx);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(g->ctx, body, "entry"));
    LLVMValueRef fr = LLVMBuildPointerCast(B, LLVMGetParam(body, 0), LLVMPointerType(kc->t_frame, 0), "frame");
    LLVMValueRef *args = malloc((size_t)(7 + n_used) * sizeof *args);
    for (int k = 0; k < 5; k++) {
        LLVMValueRef at = LLVMBuildStructGEP2(B, kc->t_frame, fr, (unsigned)k, "");
        args[k] = LLVMBuildLoad2(B, g->t_i64, at, k < SIZE_COUNT ? space_size_name(k) : "b");
    }
    /* alone (called directly, not by GOMP_parallel): a team of one, whatever
     * team the caller is in */
    LLVMValueRef alone = LLVMBuildICmp(B, LLVMIntNE, LLVMBuildLoad2(B, g->t_i32, LLVMBuildStructGEP2(B, kc->t_frame, fr,
                                       FRAME_ALONE, ""), "alone"), lg_i32c(g, 0), "");
    LLVMValueRef nt = LLVMBuildSExt(B, LLVMBuildCall2(B, g->t_omp_int, lg_declare(g, "omp_get_num_threads", g->t_omp_int),
                                                      NULL, 0, ""), g->t_i64, "");
    nt = LLVMBuildSelect(B, alone, lg_i64c(g, 1), nt, "nt");
    LLVMValueRef n = args[L->par == SP_PRE ? SIZE_N_PRE : SIZE_N_POST];
    n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, n, lg_i64c(g, 0), ""), n, lg_i64c(g, 0), "n");
    /* balanced: chunk = ceil(n / (CHUNKS_PER_THREAD nt)), whole vectors of
     * columns; else one chunk per thread, ceil(n / nt) */
    LLVMValueRef parts = L->balanced ? LLVMBuildMul(B, nt, lg_i64c(g, CHUNKS_PER_THREAD), "") : nt;
    LLVMValueRef ch = LLVMBuildUDiv(B, LLVMBuildAdd(B, n, LLVMBuildSub(B, parts, lg_i64c(g, 1), ""), ""), parts, "");
    if (L->par == SP_PRE && g->lanes > 1) {
        LLVMValueRef w = lg_i64c(g, g->lanes);
        ch = LLVMBuildMul(B, LLVMBuildUDiv(B, LLVMBuildAdd(B, ch, lg_i64c(g, g->lanes - 1), ""), w, ""), w, "");
    }
    if (L2 && !staged) ch = n;   /* one thread's pass: its column sums start at its first row, so one chunk */
    ch = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntUGT, ch, lg_i64c(g, 0), ""), ch, lg_i64c(g, 1), "chunk");
    for (int p = 0, k = 7; p < kc->n_ptr; p++) {
        if (!used[p]) continue;
        LLVMValueRef idx[3] = { lg_i32c(g, 0), lg_i32c(g, 5), lg_i32c(g, p) };
        LLVMValueRef at = LLVMBuildInBoundsGEP2(B, kc->t_frame, fr, idx, 3, "");
        args[k++] = LLVMBuildLoad2(B, g->t_realp, at, "");
    }
    /* balanced: take chunks from the frame's counter until none is left;
     * else thread t runs the t-th chunk */
    LLVMBasicBlockRef take = LLVMAppendBasicBlockInContext(g->ctx, body, "take");
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(g->ctx, body, "run");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->ctx, body, "done");
    LLVMBuildBr(B, take);
    LLVMPositionBuilderAtEnd(B, take);
    LLVMValueRef s0;
    if (L->balanced) {
        LLVMValueRef next = LLVMBuildStructGEP2(B, kc->t_frame, fr, FRAME_NEXT_CHUNK, "next");
        s0 = LLVMBuildAtomicRMW(B, LLVMAtomicRMWBinOpAdd, next, ch, LLVMAtomicOrderingMonotonic, 0);
    } else {
        LLVMValueRef tid = LLVMBuildSExt(B, LLVMBuildCall2(B, g->t_omp_int, lg_declare(g, "omp_get_thread_num", g->t_omp_int),
                                                           NULL, 0, ""), g->t_i64, "");
        tid = LLVMBuildSelect(B, alone, lg_i64c(g, 0), tid, "tid");
        s0 = LLVMBuildMul(B, tid, ch, "");
    }
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, s0, n, ""), run, done);
    LLVMPositionBuilderAtEnd(B, run);
    LLVMValueRef e0 = LLVMBuildAdd(B, s0, ch, "");
    args[5] = s0;
    args[6] = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, e0, n, ""), e0, n, "e0");
    LLVMBuildCall2(B, impl_ty, impl, args, (unsigned)(7 + n_used), "");
    LLVMBuildBr(B, L->balanced ? take : done);
    LLVMPositionBuilderAtEnd(B, done);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
    free(args);
    free(params);
    free(used);
    return body;
}

/* BODY(frame) through GOMP_parallel, or directly with the frame's `alone`
 * set (the body then runs as a team of one) when the team would be one
 * thread. */
void lg_call_body(lfn *f, LLVMValueRef body, LLVMValueRef nthreads)
{
    lmod *g = f->g;
    LLVMValueRef fr = f->frame, frp = LLVMBuildPointerCast(f->bb, fr, g->t_i8p, "");
    LLVMValueRef level = LLVMBuildCall2(f->bb, g->t_omp_int, lg_declare(g, "omp_get_level", g->t_omp_int), NULL, 0, "");
    LLVMValueRef active = LLVMBuildCall2(f->bb, g->t_omp_int, lg_declare(g, "omp_get_max_active_levels", g->t_omp_int),
                                         NULL, 0, "");
    LLVMValueRef alone = LLVMBuildOr(f->bb, LLVMBuildICmp(f->bb, LLVMIntEQ, nthreads, lg_i32c(g, 1), ""),
                                     LLVMBuildICmp(f->bb, LLVMIntSGE, level, active, ""), "alone");
    LLVMBuildStore(f->bb, LLVMBuildZExt(f->bb, alone, g->t_i32, ""), LLVMBuildStructGEP2(f->bb, f->kc->t_frame, fr,
                                                                                        FRAME_ALONE, ""));
    LLVMBasicBlockRef direct = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "alone");
    LLVMBasicBlockRef team = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "team");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "ran");
    LLVMBuildCondBr(f->bb, alone, direct, team);
    LLVMPositionBuilderAtEnd(f->bb, direct);
    LLVMBuildCall2(f->bb, g->t_body, body, &frp, 1, "");
    LLVMBuildBr(f->bb, done);
    LLVMPositionBuilderAtEnd(f->bb, team);
    LLVMValueRef args[4] = { body, frp, nthreads, lg_i32c(g, 0) };
    LLVMBuildCall2(f->bb, g->t_gomp, lg_declare(g, "GOMP_parallel", g->t_gomp), args, 4, "");
    LLVMBuildBr(f->bb, done);
    LLVMPositionBuilderAtEnd(f->bb, done);
}

/* lg_call_body(BODY, NTHREADS) — inside the loop over b when PER_SAMPLE;
 * the body finds b in the frame and takes chunks from the frame's counter,
 * set to 0 here. */
void lg_run_parallel(lfn *f, LLVMValueRef body, int per_sample, LLVMValueRef nthreads)
{
    lmod *g = f->g;
    LLVMValueRef fr = f->frame;
    LLVMValueRef b_at = LLVMBuildStructGEP2(f->bb, f->kc->t_frame, fr, 4, "");
    lloop Lb;
    if (per_sample) f->b = lg_loop_open(f, &Lb, lg_i64c(g, 0), f->size[SIZE_BATCH], 1, "b");
    LLVMBuildStore(f->bb, f->b ? f->b : lg_i64c(g, 0), b_at);
    LLVMBuildStore(f->bb, lg_i64c(g, 0), LLVMBuildStructGEP2(f->bb, f->kc->t_frame, fr, FRAME_NEXT_CHUNK, ""));
    lg_call_body(f, body, nthreads);
    if (per_sample) { lg_loop_close(f, &Lb); f->b = NULL; }
}

/* Whether per-synapse loop L has the work to run on threads, as the C's
 * `if (n_post * n_pre [* batch] >= par_min)` (lower.h). */
LLVMValueRef lg_parallel_worth(lfn *f, const lower_loop *L)
{
    LLVMValueRef work = LLVMBuildNSWMul(f->bb, f->size[SIZE_N_POST], f->size[SIZE_N_PRE], "");
    if (L->work_samples) work = LLVMBuildNSWMul(f->bb, work, f->size[SIZE_BATCH], "");
    return LLVMBuildICmp(f->bb, LLVMIntSGE, work, lg_i64c(f->g, L->par_min), "");
}

/* #pragma omp parallel for schedule(static) over loop L. */
void lg_gen_parallel(lfn *f, const lower_loop *L)
{
    lmod *g = f->g;
    /* too little work: one thread, the caller alone, runs all rows or columns */
    LLVMValueRef big = lg_parallel_worth(f, L);
    lg_run_parallel(f, lg_outline_parallel(f->kc, L, NULL, 0, NULL, 0), L->space & SP_SAMPLE,
                 LLVMBuildSelect(f->bb, big, lg_i32c(g, 0), lg_i32c(g, 1), ""));
}


/* The arrays a serial loop nest L (or final output O) uses, loaded
 * from the frame once before it; NULL elsewhere (they are parameters). */
static char *nest_arrays(lfn *f, const lower_loop *L, int o)
{
    lkern *kc = f->kc;
    if (!f->frame) return NULL;
    char *used = calloc((size_t)kc->n_ptr + 1, 1);
    if (L) scan_nodes(kc, L->nodes, L->n_nodes, used);
    if (o >= 0) { scan_value(kc, kc->k->out[o].node, used); used[kc->out_arg[o]] = 1; }
    for (int p = 0; p < kc->n_ptr; p++) {
        if (!used[p]) continue;
        LLVMValueRef idx[3] = { lg_i32c(f->g, 0), lg_i32c(f->g, 5), lg_i32c(f->g, p) };
        LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, kc->t_frame, f->frame, idx, 3, "");
        f->ptr[p] = LLVMBuildLoad2(f->bb, f->g->t_realp, at, "");
    }
    return used;
}

static void nest_arrays_done(lfn *f, char *used)
{
    for (int p = 0; used && p < f->kc->n_ptr; p++) if (used[p]) f->ptr[p] = NULL;
    free(used);
}

/* Serial loop nests run in functions of their own, NAME.nestK(frame), a
 * few consecutive nests each: cold code, and a bounded number of loops per
 * function keeps the code generator's loop analyses (scalar evolution
 * relates each loop to those before it) from growing with the square of
 * the kernel, while few functions keep the per-function costs down. */
enum { NESTS_PER_FUNCTION = 8 };


/* The group to generate the next nest in (NAME's frame F->frame, sizes
 * from it), opening a new function when none is open or the open one is full. */
void lg_nest_flush(lfn *outer, nest_group *grp);

static lfn *nest_next(lfn *outer, nest_group *grp)
{
    if (grp->fn && grp->n >= NESTS_PER_FUNCTION) lg_nest_flush(outer, grp);
    if (!grp->fn) {
        lkern *kc = outer->kc;
        lmod *g = outer->g;
        char name[160];
        snprintf(name, sizeof name, "%s.nest%d", kc->k->name, kc->n_nest++);
        grp->fn = lg_helper_fn(g, name, g->t_body);
        lg_mark_cold(g, grp->fn);
        lfn *nf = &grp->f;
        lg_fn_open(nf, kc, grp->fn);
        nf->frame = LLVMBuildPointerCast(nf->bb, LLVMGetParam(grp->fn, 0), LLVMPointerType(kc->t_frame, 0), "frame");
        for (int s = 0; s < SIZE_COUNT; s++)
            nf->size[s] = LLVMBuildLoad2(nf->bb, g->t_i64,
                                         LLVMBuildStructGEP2(nf->bb, kc->t_frame, nf->frame, (unsigned)s, ""), space_size_name(s));
        grp->n = 0;
    }
    grp->n++;
    return &grp->f;
}

/* Closes the open group's function and calls it from NAME, here. */
void lg_nest_flush(lfn *outer, nest_group *grp)
{
    if (!grp->fn) return;
    lg_fn_close(&grp->f);
    LLVMValueRef arg = LLVMBuildPointerCast(outer->bb, outer->frame, outer->g->t_i8p, "");
    LLVMBuildCall2(outer->bb, outer->g->t_body, grp->fn, &arg, 1, "");
    grp->fn = NULL;
}

/* The nests vectorised before (PLASTCC_SCALAR_NESTS, for measuring): pointwise
 * ones computing exp or log1p (exp, sigmoid, softplus). */
static int vector_nest_math_only(const lkern *kc, const lower_loop *L)
{
    int math = 0;
    for (int q = 0; q < L->n_nodes; q++) {
        int op = kc->d->node[L->nodes[q]].op;
        if (dag_op_is_reduction(op) || op == OP_KCAP || op == OP_MLP_OUT || op == OP_MLP_VJP || op == OP_MLP_GRAD)
            return 0;
        math |= op == OP_EXP || op == OP_SIGMOID || op == OP_SOFTPLUS;
    }
    return math;
}

/* Whether serial nest L runs vectorised in the kernel's own function (not
 * a cold .nestK): a nest over one side's neurons (no k-cap or meta-MLP)
 * on a target with vectors, whose sums keep the order of the scalar loop:
 *   - a sum (or maximum) over the nest's own neurons into a scalar (sum_post
 *     in a nest over i): each vector's lanes are added in order, lane 0
 *     first (gen_reduce), then the scalar remainder;
 *   - a sum over j in a nest over j: lane-split (acc[j mod PLAST_LANES], as
 *     emit_c writes it), when the vectors have that many lanes;
 *   - a sum over the samples into a per-neuron array: element by element.
 * The same operations in the same order: the same bits as the scalar nest
 * and the emitted C.  Such a nest is scalar code that ran without
 * optimisation (cold); on vectors it runs 4-8 neurons an operation. */
static int vector_nest(const lkern *kc, const lower_loop *L)
{
    int side = L->space & SP_SYN;
    if (kc->g->lanes < 2 || (side != SP_POST && side != SP_PRE)) return 0;
    const char *scalar = getenv("PLASTCC_SCALAR_NESTS");
    if (scalar && *scalar && strcmp(scalar, "0") != 0) return vector_nest_math_only(kc, L);
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &kc->d->node[id];
        if (n->op == OP_KCAP || n->op == OP_MLP_OUT || n->op == OP_MLP_VJP || n->op == OP_MLP_GRAD) return 0;
        if (!dag_op_is_reduction(n->op)) continue;
        if (lower_is_batch_sum(kc->lk, id)) return 0;
        int bit = dag_ops[n->op].reduces;
        if (bit == side) {
            if (lg_lane_split(n, side) && kc->g->lanes != lower_sum_lanes(kc->g->prec)) return 0;
        } else if (bit != SP_SAMPLE || !(n->space & side)) {
            return 0;
        }
    }
    return 1;
}

/* Nest L (vector_nest) in F: its neurons LANES at a time, then the rest one
 * at a time, the sums carried from the vectors into the rest. */
static void vector_nest_gen(lfn *f, const lower_loop *L)
{
    int side = L->space & SP_SYN, post = side == SP_POST, lanes = f->g->lanes;
    LLVMValueRef n = f->size[post ? SIZE_N_POST : SIZE_N_PRE];
    lloop Lb, Lv, Lt;
    lg_forget(f);
    lg_init_reductions(f, L, side);
    if (L->space & SP_SAMPLE) f->b = lg_loop_open(f, &Lb, lg_i64c(f->g, 0), f->size[SIZE_BATCH], 1, "b");
    accs_open(f, L, side);
    f->w = lanes;
    f->vec_post = post;
    LLVMValueRef v = lg_loop_open(f, &Lv, lg_i64c(f->g, 0), LLVMBuildNSWSub(f->bb, n, lg_i64c(f->g, lanes - 1), ""), lanes,
                                  post ? "iv" : "jv");
    if (post) f->i = v; else f->j = v;
    lg_forget(f);
    loop_body(f, L, side);
    lg_loop_close(f, &Lv);
    f->w = 1;
    f->vec_post = 0;
    v = lg_loop_open(f, &Lt, Lv.idx, n, 1, post ? "i" : "j");
    if (post) f->i = v; else f->j = v;
    lg_forget(f);
    loop_body(f, L, side);
    lg_loop_close(f, &Lt);
    f->i = f->j = NULL;
    lg_forget(f);
    accs_close(f, L, side);
    if (L->space & SP_SAMPLE) { lg_loop_close(f, &Lb); f->b = NULL; }
    lg_forget(f);
}

void lg_gen_loop(lfn *outer, nest_group *grp, const lower_loop *L)
{
    int syn = lg_is_syn(L->space);
    int inner = syn ? (L->par == SP_PRE ? SP_POST : SP_PRE) : (L->space & SP_SYN);
    if (!syn && vector_nest(outer->kc, L)) {
        lg_nest_flush(outer, grp);   /* the nests before run first */
        vector_nest_gen(outer, L);
        return;
    }
    if (syn) {
        lg_nest_flush(outer, grp);   /* the nests before run first */
        lg_init_reductions(outer, L, inner);
        lg_gen_parallel(outer, L);
        return;
    }
    lfn *f = nest_next(outer, grp);
    char *used = nest_arrays(f, L, -1);
    lg_init_reductions(f, L, inner);
    lloop Lb, Lv;
    if (L->space & SP_SAMPLE) f->b = lg_loop_open(f, &Lb, lg_i64c(f->g, 0), f->size[SIZE_BATCH], 1, "b");
    if (L->space & SP_SYN) {
        int pre = (L->space & SP_PRE) != 0;
        accs_open(f, L, inner);
        LLVMValueRef v = lg_loop_open(f, &Lv, lg_i64c(f->g, 0), f->size[pre ? SIZE_N_PRE : SIZE_N_POST], 1, pre ? "j" : "i");
        if (pre) f->j = v; else f->i = v;
        loop_body(f, L, inner);
        lg_loop_close(f, &Lv);
        f->i = f->j = NULL;
        accs_close(f, L, inner);
    } else {
        loop_body(f, L, -1);
    }
    if (L->space & SP_SAMPLE) { lg_loop_close(f, &Lb); f->b = NULL; }
    nest_arrays_done(f, used);
}

/* An output that is not per-synapse: a loop over its space (emit_c's emit_final). */
void lg_gen_final(lfn *outer, nest_group *grp, int o_index)
{
    const kern_out *o = &outer->kc->k->out[o_index];
    lfn *f = nest_next(outer, grp);
    static const struct { int bit, which; const char *name; } dims[] = {
        { SP_SAMPLE, SIZE_BATCH, "b" }, { SP_POST, SIZE_N_POST, "i" }, { SP_PRE, SIZE_N_PRE, "j" } };
    lloop L[3];
    LLVMValueRef *var[3] = { &f->b, &f->i, &f->j };
    char *used = nest_arrays(f, NULL, o_index);
    for (int k = 0; k < 3; k++)
        if (o->space & dims[k].bit) *var[k] = lg_loop_open(f, &L[k], lg_i64c(f->g, 0), f->size[dims[k].which], 1, dims[k].name);
    lg_store_at(f, lg_array(f, f->kc->out_arg[o_index]), o->space, lg_value_of(f, o->node), o->accumulate);
    for (int k = 2; k >= 0; k--)
        if (o->space & dims[k].bit) { lg_loop_close(f, &L[k]); *var[k] = NULL; }
    nest_arrays_done(f, used);
}
