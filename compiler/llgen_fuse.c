/* llgen_fuse — how the JIT runs a fused pair of loops (lower_fuse.c decides
 * which): one pass over the matrix on one thread, row after row; on several,
 * when the run is staged, parallel over rows with stage matrices for the
 * sums over i; with the loop of sums over the samples after them absorbed;
 * or apart.  The same bits every way (docs/architecture.md, "Determinism"). */
#include "config.h"
#include "llgen_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns [0, n_pre) of F's function, its vector width at a time then
 * one at a time: for every column sum of C (stage_slot), arr[j] = 0 (-inf
 * for a maximum) when INIT, else arr[j] = arr[j] op stage[i * n_pre + j]
 * at row F->i. */
static void stage_columns(lfn *f, const lower_loop *C, int init)
{
    lkern *kc = f->kc;
    int lanes = f->g->lanes > 1 ? f->g->lanes : 1;
    LLVMValueRef n = f->size[SIZE_N_PRE], start = lg_i64c(f->g, 0);
    for (int w = lanes; w >= 1; w = w > 1 ? 1 : 0) {
        lloop J;
        LLVMValueRef limit = w > 1 ? LLVMBuildNSWSub(f->bb, n, lg_i64c(f->g, w - 1), "") : n;
        f->w = w;
        f->j = lg_loop_open(f, &J, start, limit, w, w > 1 ? "jv" : "j");
        for (int q = 0; q < C->n_nodes; q++) {
            int id = C->nodes[q];
            if (kc->stage_slot[id] < 0) continue;
            const dag_node *nd = &kc->d->node[id];
            LLVMValueRef arr = lg_array(f, lg_stored_array(kc, id)), v;
            if (init) {
                v = lg_real_const(f->g, lg_real_type(f->g, w), nd->op == OP_MAX_POST ? -INFINITY : 0);
            } else {
                LLVMValueRef at = LLVMBuildNSWAdd(f->bb, LLVMBuildNSWMul(f->bb, f->i, n, ""), f->j, "");
                v = lg_reduce_step(f, nd->op, lg_load_at(f, arr, nd->space), lg_load_index(f, lg_array(f, kc->stage_slot[id]), at));
            }
            lg_store_at(f, arr, nd->space, v, 0);
        }
        lg_loop_close(f, &J);
        start = J.idx;
        f->j = NULL;
    }
    f->w = 1;
}

/* NAME.stageK(n_pre, n_post, batch, steps, b, arrays...): the column sums
 * of C from the stage matrices the fused pass filled, for sample b, each
 * column in increasing i — the adds, so the bits, of the column loop. */
static LLVMValueRef gen_stage_sums(lkern *kc, const lower_loop *C, int *n_args, int **args)
{
    lmod *g = kc->g;
    int n = 0, *arr = malloc((size_t)(2 * C->n_nodes + 1) * sizeof *arr);
    for (int q = 0; q < C->n_nodes; q++)
        if (kc->stage_slot[C->nodes[q]] >= 0) {
            arr[n++] = lg_stored_array(kc, C->nodes[q]);
            arr[n++] = kc->stage_slot[C->nodes[q]];
        }
    LLVMTypeRef *params = malloc((size_t)(5 + n) * sizeof *params);
    for (int k = 0; k < 5; k++) params[k] = g->t_i64;
    for (int k = 0; k < n; k++) params[5 + k] = g->t_realp;
    char name[160];
    snprintf(name, sizeof name, "%s.stage%d", kc->k->name, kc->n_par++);
    LLVMValueRef fn = lg_helper_fn(g, name, LLVMFunctionType(g->t_void, params, (unsigned)(5 + n), 0));
    lfn f;
    lg_fn_open(&f, kc, fn);
    for (int s = 0; s < SIZE_COUNT; s++) f.size[s] = LLVMGetParam(fn, (unsigned)s);
    if (C->space & SP_SAMPLE) f.b = LLVMGetParam(fn, 4);
    for (int k = 0; k < n; k++) {
        lg_add_attr(g, fn, (unsigned)(6 + k), "noalias");
        f.ptr[arr[k]] = LLVMGetParam(fn, (unsigned)(5 + k));
    }
    stage_columns(&f, C, 1);
    lloop I;
    f.i = lg_loop_open(&f, &I, lg_i64c(g, 0), f.size[SIZE_N_POST], 1, "i");
    stage_columns(&f, C, 0);
    lg_loop_close(&f, &I);
    f.i = NULL;
    lg_fn_close(&f);
    free(params);
    *n_args = n;
    *args = arr;
    return fn;
}

/* frame->p[SLOTS[k]] = base + k * cells for k < N (arrays of n_post x n_pre). */
static void set_slots(lfn *f, LLVMValueRef base, LLVMValueRef cells, const int *slots, int n)
{
    lmod *g = f->g;
    for (int k = 0; k < n; k++) {
        LLVMValueRef off = LLVMBuildNSWMul(f->bb, cells, lg_i64c(g, k), "");
        LLVMValueRef fi[3] = { lg_i64c(g, 0), lg_i32c(g, 5), lg_i64c(g, slots[k]) };
        LLVMBuildStore(f->bb, LLVMBuildInBoundsGEP2(f->bb, g->t_real, base, &off, 1, ""),
                       LLVMBuildInBoundsGEP2(f->bb, f->kc->t_frame, f->frame, fi, 3, ""));
    }
    lg_forget(f);
}

/* malloc(N arrays of n_post x n_pre reals), branching to FAIL when it gives
 * NULL.  PLASTCC_FAULT_STAGE_ALLOC (set, not 0) compiles it as a malloc that
 * always fails, so that the tests run the fallback (mlp-paths.sh). */
static LLVMValueRef stage_alloc(lfn *f, LLVMValueRef cells, int n, LLVMBasicBlockRef fail)
{
    lmod *g = f->g;
    LLVMTypeRef t_malloc = LLVMFunctionType(g->t_i8p, &g->t_i64, 1, 0);
    LLVMValueRef bytes = LLVMBuildNSWMul(f->bb, cells, lg_i64c(g, (long long)n * g->real_bytes), "");
    bytes = LLVMBuildSelect(f->bb, LLVMBuildICmp(f->bb, LLVMIntSGT, bytes, lg_i64c(g, 0), ""), bytes, lg_i64c(g, 1), "");
    const char *fault = getenv("PLASTCC_FAULT_STAGE_ALLOC");
    LLVMValueRef mem = fault && *fault && strcmp(fault, "0")
                           ? LLVMConstNull(g->t_i8p)
                           : LLVMBuildCall2(f->bb, t_malloc, lg_declare(g, "malloc", t_malloc), &bytes, 1, "stage");
    LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "allocated");
    LLVMBuildCondBr(f->bb, LLVMBuildICmp(f->bb, LLVMIntNE, mem, LLVMConstNull(g->t_i8p), ""), go, fail);
    LLVMPositionBuilderAtEnd(f->bb, go);
    lg_forget(f);
    return mem;
}

static void stage_free(lfn *f, LLVMValueRef mem)
{
    LLVMTypeRef t_free = LLVMFunctionType(f->g->t_void, &f->g->t_i8p, 1, 0);
    LLVMBuildCall2(f->bb, t_free, lg_declare(f->g, "free", t_free), &mem, 1, "");
}

/* Whether one thread runs a pass (an i1): OpenMP would give it one
 * (omp_get_max_threads() == 1), it is inside a parallel region (a
 * meta-batch's tasks), or BIG (the work for threads) is false. */
static LLVMValueRef one_thread(lfn *f, LLVMValueRef big)
{
    lmod *g = f->g;
    LLVMValueRef nt = LLVMBuildCall2(f->bb, g->t_omp_int, lg_declare(g, "omp_get_max_threads", g->t_omp_int), NULL, 0, "");
    LLVMValueRef in_par = LLVMBuildCall2(f->bb, g->t_omp_int, lg_declare(g, "omp_in_parallel", g->t_omp_int), NULL, 0, "");
    LLVMValueRef serial = LLVMBuildOr(f->bb, LLVMBuildICmp(f->bb, LLVMIntEQ, nt, lg_i32c(g, 1), ""),
                                      LLVMBuildICmp(f->bb, LLVMIntNE, in_par, lg_i32c(g, 0), ""), "");
    return LLVMBuildOr(f->bb, serial, LLVMBuildNot(f->bb, big, ""), "serial");
}

/* A fusable pair A, B (and X, a loop it absorbs, or NULL): on one thread
 * (omp_get_max_threads() == 1, inside a parallel region, where a
 * meta-batch runs its tasks, or too little work for threads) one pass over the matrix, the column sums
 * adding into their arrays row after row.  On several threads, when
 * the run is staged, one pass parallel over rows: the row loop's sums over j
 * stay within a row, and the terms of the column loop's sums over i, which
 * would cross the threads' rows, go into stage matrices (n_post x n_pre,
 * malloc'd for the call) that NAME.stageK adds up per column in increasing
 * i after the pass, as the column loop would; otherwise each loop in
 * parallel on its own.  X's sums over the samples add each sample's term
 * into an array of their own (started at 0, in increasing b, as X's loop
 * over the samples adds), and X then runs from those arrays.  When the
 * memory cannot be allocated, every loop runs on its own.  The same bits
 * every way. */
void lg_gen_fused_pair(lfn *f, const lower_run *run, const lower_loop *A, const lower_loop *B, const lower_loop *X)
{
    lmod *g = f->g;
    lkern *kc = f->kc;
    const lower_loop *C = A->par == SP_PRE ? A : B, *R = A->par == SP_PRE ? B : A;
    int per_sample = (R->space & SP_SAMPLE) != 0, staged_ok = run->staged;
    lg_init_reductions(f, A, A->par == SP_PRE ? SP_POST : SP_PRE);
    lg_init_reductions(f, B, B->par == SP_PRE ? SP_POST : SP_PRE);
    LLVMValueRef body = lg_outline_parallel(kc, R, C, 0, X, X ? 1 : 0);
    LLVMValueRef staged = staged_ok ? lg_outline_parallel(kc, R, C, 1, X, X ? 1 : 0) : NULL;
    int n_st = 0, *st_args = NULL, n_x = X ? X->n_nodes : 0;
    LLVMValueRef sums = staged_ok ? gen_stage_sums(kc, C, &n_st, &st_args) : NULL;
    n_st /= 2;
    int *slots = malloc((size_t)(n_x + n_st + 1) * sizeof *slots);   /* X's sums, then the stage matrices */
    for (int k = 0; k < n_x; k++) slots[k] = kc->stage_slot[X->nodes[k]];
    for (int k = 0; k < n_st; k++) slots[n_x + k] = st_args[2 * k + 1];
    LLVMValueRef cells = LLVMBuildNSWMul(f->bb, f->size[SIZE_N_POST], f->size[SIZE_N_PRE], "cells");
    /* on threads when any of its loops would be alone */
    LLVMValueRef big = LLVMBuildOr(f->bb, lg_parallel_worth(f, A), lg_parallel_worth(f, B), "");
    if (X) big = LLVMBuildOr(f->bb, big, lg_parallel_worth(f, X), "");
    LLVMValueRef nthreads = LLVMBuildSelect(f->bb, big, lg_i32c(g, 0), lg_i32c(g, 1), "");
    LLVMBasicBlockRef one = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "fused");
    LLVMBasicBlockRef many = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "threads");
    LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "passed");
    LLVMBasicBlockRef apart = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "apart");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "joined");
    LLVMValueRef mem = NULL;
    if (X) {   /* X's arrays (and the stage matrices) for either pass; X's start at 0 */
        mem = stage_alloc(f, cells, n_x + n_st, apart);
        LLVMValueRef base = LLVMBuildPointerCast(f->bb, mem, g->t_realp, "");
        set_slots(f, base, cells, slots, n_x + n_st);
        LLVMBuildMemSet(f->bb, base, LLVMConstInt(g->t_i8, 0, 0),
                        LLVMBuildNSWMul(f->bb, cells, lg_i64c(g, (long long)n_x * g->real_bytes), ""), (unsigned)g->real_bytes);
    }
    LLVMBuildCondBr(f->bb, one_thread(f, big), one, many);

    LLVMPositionBuilderAtEnd(f->bb, one);
    lg_forget(f);
    lg_run_parallel(f, body, per_sample, lg_i32c(g, 1));   /* a team of one: it takes every chunk, in order */
    LLVMBuildBr(f->bb, after);

    LLVMPositionBuilderAtEnd(f->bb, many);
    lg_forget(f);
    if (staged_ok) {
        LLVMValueRef own = NULL;   /* the stage matrices, when X did not allocate them */
        if (!X) {
            own = stage_alloc(f, cells, n_st, apart);
            set_slots(f, LLVMBuildPointerCast(f->bb, own, g->t_realp, ""), cells, slots, n_st);
        }
        lloop Lb;
        if (per_sample) f->b = lg_loop_open(f, &Lb, lg_i64c(g, 0), f->size[SIZE_BATCH], 1, "b");
        LLVMBuildStore(f->bb, f->b ? f->b : lg_i64c(g, 0), LLVMBuildStructGEP2(f->bb, kc->t_frame, f->frame, 4, ""));
        LLVMBuildStore(f->bb, lg_i64c(g, 0), LLVMBuildStructGEP2(f->bb, kc->t_frame, f->frame, FRAME_NEXT_CHUNK, ""));
        lg_call_body(f, staged, nthreads);
        LLVMValueRef *cargs = malloc((size_t)(5 + 2 * n_st) * sizeof *cargs);
        for (int s = 0; s < SIZE_COUNT; s++) cargs[s] = f->size[s];
        cargs[4] = f->b ? f->b : lg_i64c(g, 0);
        for (int k = 0; k < 2 * n_st; k++) cargs[5 + k] = lg_array(f, st_args[k]);
        LLVMBuildCall2(f->bb, LLVMGlobalGetValueType(sums), sums, cargs, (unsigned)(5 + 2 * n_st), "");
        free(cargs);
        if (per_sample) { lg_loop_close(f, &Lb); f->b = NULL; }
        if (own) stage_free(f, own);
        LLVMBuildBr(f->bb, after);
    } else {
        LLVMBuildBr(f->bb, apart);
    }

    LLVMPositionBuilderAtEnd(f->bb, after);   /* X from its sums' arrays */
    lg_forget(f);
    if (X) {
        lg_run_parallel(f, lg_outline_parallel(kc, X, NULL, 0, NULL, 2), 0, nthreads);
        stage_free(f, mem);
    }
    LLVMBuildBr(f->bb, join);

    LLVMPositionBuilderAtEnd(f->bb, apart);
    lg_forget(f);
    lg_gen_parallel(f, A);
    lg_gen_parallel(f, B);
    if (X) lg_gen_parallel(f, X);   /* after them, as in the loops' order (lower.c) */
    LLVMBuildBr(f->bb, join);
    LLVMPositionBuilderAtEnd(f->bb, join);
    lg_forget(f);
    free(slots);
    free(st_args);
}

/* The one-sample pass P: on one thread (as lg_gen_fused_pair decides) and
 * for batch == 1, P's column and row loops (or its row loop alone) as one
 * pass over the matrix,
 * with the batch a constant 1 in it (a sum over the samples is one term,
 * read at b = 0); otherwise the runs it replaces, as scheduled. */
void lg_gen_one_pass(lfn *f, const lower_one_pass *P, void (*general)(lfn *, void *), void *ctx)
{
    lmod *g = f->g;
    LLVMValueRef batch = f->size[SIZE_BATCH];
    LLVMValueRef one_sample = LLVMBuildICmp(f->bb, LLVMIntEQ, batch, lg_i64c(g, 1), "");
    f->size[SIZE_BATCH] = lg_i64c(g, 1);
    int cols = P->col.n_nodes > 0;   /* else row loops alone */
    LLVMValueRef big = lg_parallel_worth(f, &P->row);
    if (cols) big = LLVMBuildOr(f->bb, lg_parallel_worth(f, &P->col), big, "");
    f->size[SIZE_BATCH] = batch;
    LLVMValueRef serial = one_thread(f, big);
    LLVMBasicBlockRef pass = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "one_pass");
    LLVMBasicBlockRef runs = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "runs");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "one_pass_done");
    LLVMBuildCondBr(f->bb, LLVMBuildAnd(f->bb, one_sample, serial, "one_pass_applies"), pass, runs);

    LLVMPositionBuilderAtEnd(f->bb, pass);
    lg_forget(f);
    f->size[SIZE_BATCH] = lg_i64c(g, 1);
    if (cols) lg_init_reductions(f, &P->col, SP_POST);
    lg_init_reductions(f, &P->row, SP_PRE);
    lg_run_parallel(f, lg_outline_parallel(f->kc, &P->row, cols ? &P->col : NULL, 0, NULL, 0), 0, lg_i32c(g, 1));
    f->size[SIZE_BATCH] = batch;
    LLVMBuildBr(f->bb, join);

    LLVMPositionBuilderAtEnd(f->bb, runs);
    lg_forget(f);
    general(f, ctx);
    LLVMBuildBr(f->bb, join);
    LLVMPositionBuilderAtEnd(f->bb, join);
    lg_forget(f);
}
