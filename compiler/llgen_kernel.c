/* llgen_kernel — one kernel's functions of the ABI: NAME (its frame and
 * loop nests in order), NAME.frame, NAME_scratch and NAME_desc. */
#include "config.h"
#include "llgen_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one kernel ---- */

static void kern_setup(lkern *kc, lmod *g, const lower_kernel *lk)
{
    memset(kc, 0, sizeof *kc);
    kc->g = g;
    kc->lk = lk;
    kc->k = lk->k;
    kc->d = lk->k->d;
    kc->n_ptr = kc->k->n_arg + lk->n_store + kc->k->n_mlp_grads;
    kc->stage_slot = malloc((size_t)(kc->d->n + 1) * sizeof *kc->stage_slot);
    for (int id = 0; id < kc->d->n; id++) kc->stage_slot[id] = -1;
    for (int r = 0; r < lk->n_runs; r++) {   /* the staged pairs' column sums, and the sums of the loops they absorb */
        const lower_run *R = &lk->runs[r];
        if (R->n_loops < 2 || !R->staged || g->lanes < 2) continue;
        const lower_loop *A = &lk->loops[R->loop], *C = A->par == SP_PRE ? A : A + 1;
        const lower_loop *X = R->absorb >= 0 ? &lk->loops[R->absorb] : NULL;
        for (int q = 0; q < C->n_nodes; q++)
            if (lower_is_column_sum(lk, C->nodes[q])) kc->stage_slot[C->nodes[q]] = kc->n_ptr++;
        for (int q = 0; X && q < X->n_nodes; q++) kc->stage_slot[X->nodes[q]] = kc->n_ptr++;
    }
    kc->input_arg = malloc((size_t)(kc->d->n_input + 1) * sizeof *kc->input_arg);
    for (int s = 0; s < kc->d->n_input; s++) kc->input_arg[s] = -1;
    kc->out_arg = malloc((size_t)(kc->k->n_out + 1) * sizeof *kc->out_arg);
    kc->meta_arg = kc->adj_meta_arg = -1;
    for (int q = 0; q < kc->k->n_arg; q++) {
        const kern_arg *a = &kc->k->arg[q];
        switch (a->role) {
        case PLAST_ROLE_INPUT: kc->input_arg[a->slot] = q; break;
        case PLAST_ROLE_META: kc->meta_arg = q; break;
        case PLAST_ROLE_OUTPUT: case PLAST_ROLE_ACCUMULATE: kc->out_arg[a->slot] = q; break;
        case PLAST_ROLE_ADJ_META: kc->adj_meta_arg = q; break;
        }
    }
    LLVMTypeRef fields[8] = { g->t_i64, g->t_i64, g->t_i64, g->t_i64, g->t_i64,
                              LLVMArrayType(g->t_realp, (unsigned)kc->n_ptr), g->t_i64, g->t_i32 };
    kc->t_frame = LLVMStructTypeInContext(g->ctx, fields, 8, 0);
}

static void kern_cleanup(lkern *kc)
{
    free(kc->input_arg);
    free(kc->out_arg);
    free(kc->stage_slot);
}

/* Run R's loops: a fused pass of vectors, or without vectors the loops apart. */
static void gen_one_run(lfn *f, nest_group *grp, const lower_run *R)
{
    const lower_kernel *lk = f->kc->lk;
    const lower_loop *L = &lk->loops[R->loop];
    if (R->n_loops == 2 && f->g->lanes >= 2) {
        lg_nest_flush(f, grp);   /* the nests before run first */
        lg_gen_fused_pair(f, R, L, L + 1, R->absorb >= 0 ? &lk->loops[R->absorb] : NULL);
        return;
    }
    for (int q = 0; q < R->n_loops; q++) lg_gen_loop(f, grp, L + q);
    if (R->absorb >= 0) lg_gen_loop(f, grp, &lk->loops[R->absorb]);
}

/* Runs [first, first + n) of a kernel: what a one-sample pass replaces
 * for other batches (lg_gen_one_pass). */
typedef struct run_span {
    const lower_kernel *lk;
    nest_group *grp;
    int first, n;
} run_span;

static void gen_run_span(lfn *f, void *ctx)
{
    const run_span *s = ctx;
    for (int r = s->first; r < s->first + s->n; r++) gen_one_run(f, s->grp, &s->lk->runs[r]);
    lg_nest_flush(f, s->grp);
}

/* The fields of *a: n_pre, n_post, batch, steps. */
static void load_sizes(lmod *g, LLVMBuilderRef B, LLVMValueRef a, LLVMValueRef *size)
{
    for (int s = 0; s < SIZE_COUNT; s++)
        size[s] = LLVMBuildLoad2(B, g->t_i64, LLVMBuildStructGEP2(B, g->t_kargs, a, (unsigned)s, ""), space_size_name(s));
}

/* The scratch partition, in node order, as a loop over a constant table of
 * the stored values' spaces (kernels have up to thousands of them):
 *   size[s] = elements of a space-s array;
 *   for (k = 0; k < n_store; k++) { frame->p[n_arg + k] = scratch; scratch += size[space[k]]; } */
static void gen_partition(lfn *f, LLVMValueRef fr, LLVMValueRef scratch)
{
    lmod *g = f->g;
    const lkern *kc = f->kc;
    int n = kc->lk->n_store;
    LLVMValueRef *sp = malloc((size_t)n * sizeof *sp), sizes[8];
    for (int id = 0, k = 0; id < kc->d->n; id++)
        if (kc->lk->store[id] >= 0) sp[k++] = LLVMConstInt(g->t_i8, (unsigned)(kc->d->node[id].space & 7), 0);
    char name[160];
    snprintf(name, sizeof name, "%s.spaces", kc->k->name);
    LLVMValueRef table = LLVMConstArray(g->t_i8, sp, (unsigned)n);
    LLVMValueRef gv = LLVMAddGlobal(g->m, LLVMTypeOf(table), name);
    LLVMSetInitializer(gv, table);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    free(sp);
    LLVMTypeRef t8 = LLVMArrayType(g->t_i64, 8);
    LLVMValueRef size = lg_new_alloca(f, t8, "size");
    for (int s = 0; s < 8; s++) {
        LLVMValueRef idx[2] = { lg_i32c(g, 0), lg_i32c(g, s) };
        sizes[s] = lg_size_of(f, s);
        LLVMBuildStore(f->bb, sizes[s], LLVMBuildInBoundsGEP2(f->bb, t8, size, idx, 2, ""));
    }
    LLVMValueRef cur = lg_new_alloca(f, g->t_realp, "at");
    LLVMBuildStore(f->bb, scratch, cur);
    lloop K;
    LLVMValueRef k = lg_loop_open(f, &K, lg_i64c(g, 0), lg_i64c(g, n), 1, "k");
    LLVMValueRef ti[2] = { lg_i64c(g, 0), k };
    LLVMValueRef s = LLVMBuildLoad2(f->bb, g->t_i8, LLVMBuildInBoundsGEP2(f->bb, LLVMTypeOf(table), gv, ti, 2, ""), "");
    LLVMValueRef si[2] = { lg_i64c(g, 0), LLVMBuildZExt(f->bb, s, g->t_i64, "") };
    LLVMValueRef len = LLVMBuildLoad2(f->bb, g->t_i64, LLVMBuildInBoundsGEP2(f->bb, t8, size, si, 2, ""), "");
    LLVMValueRef p = LLVMBuildLoad2(f->bb, g->t_realp, cur, "");
    LLVMValueRef slot = LLVMBuildNSWAdd(f->bb, k, lg_i64c(g, kc->k->n_arg), "");
    LLVMValueRef fi[3] = { lg_i64c(g, 0), lg_i32c(g, 5), slot };
    LLVMBuildStore(f->bb, p, LLVMBuildInBoundsGEP2(f->bb, kc->t_frame, fr, fi, 3, ""));
    LLVMBuildStore(f->bb, LLVMBuildInBoundsGEP2(f->bb, g->t_real, p, &len, 1, ""), cur);
    lg_loop_close(f, &K);
    for (int q = 0; q < kc->k->n_mlp_grads; q++) {   /* then the rows of the meta-MLP parameter adjoints */
        int id = kc->k->mlp_grads[q];
        LLVMValueRef at = LLVMBuildLoad2(f->bb, g->t_realp, cur, ""), len2 = lg_mlp_grad_size(f, id);
        LLVMValueRef fi2[3] = { lg_i64c(g, 0), lg_i32c(g, 5), lg_i64c(g, lg_grad_array(kc, id)) };
        LLVMBuildStore(f->bb, at, LLVMBuildInBoundsGEP2(f->bb, kc->t_frame, fr, fi2, 3, ""));
        LLVMBuildStore(f->bb, LLVMBuildInBoundsGEP2(f->bb, g->t_real, at, &len2, 1, ""), cur);
    }
}

/* NAME.frame(a, frame): the sizes, and the arrays — in_X, out_X, meta from
 * a->arg; real *vN = scratch; scratch += size — in the frame.  A function
 * of its own, so that the kernel reads its arrays from memory: a chain of
 * thousands of pointer increments is costly for the loop analyses of the
 * code generator (scalar evolution). */
static LLVMValueRef gen_frame_fn(lkern *kc)
{
    lmod *g = kc->g;
    const kern *k = kc->k;
    char name[160];
    snprintf(name, sizeof name, "%s.frame", k->name);
    LLVMTypeRef params[2] = { g->t_kargsp, LLVMPointerType(kc->t_frame, 0) };
    LLVMValueRef fn = lg_helper_fn(g, name, LLVMFunctionType(g->t_void, params, 2, 0));
    lg_mark_cold(g, fn);
    lfn f;
    lg_fn_open(&f, kc, fn);
    LLVMValueRef a = LLVMGetParam(fn, 0), fr = LLVMGetParam(fn, 1);
    LLVMSetValueName2(a, "a", 1);
    LLVMSetValueName2(fr, "frame", 5);
    load_sizes(g, f.bb, a, f.size);
    for (int s = 0; s < SIZE_COUNT; s++) LLVMBuildStore(f.bb, f.size[s], LLVMBuildStructGEP2(f.bb, kc->t_frame, fr, (unsigned)s, ""));
    LLVMValueRef argv = LLVMBuildLoad2(f.bb, g->t_i8pp, LLVMBuildStructGEP2(f.bb, g->t_kargs, a, KARGS_ARG, ""), "arg");
    LLVMValueRef scratch = LLVMBuildLoad2(f.bb, g->t_i8p, LLVMBuildStructGEP2(f.bb, g->t_kargs, a, KARGS_SCRATCH, ""), "scratch");
    scratch = LLVMBuildPointerCast(f.bb, scratch, g->t_realp, "");
    for (int q = 0; q < k->n_arg; q++) {
        LLVMValueRef idx = lg_i64c(g, q);
        LLVMValueRef ptr = LLVMBuildLoad2(f.bb, g->t_i8p, LLVMBuildInBoundsGEP2(f.bb, g->t_i8p, argv, &idx, 1, ""), "");
        ptr = LLVMBuildPointerCast(f.bb, ptr, g->t_realp, "");
        LLVMValueRef at[3] = { lg_i32c(g, 0), lg_i32c(g, 5), lg_i32c(g, q) };
        LLVMBuildStore(f.bb, ptr, LLVMBuildInBoundsGEP2(f.bb, kc->t_frame, fr, at, 3, ""));
    }
    if (kc->lk->n_store || kc->k->n_mlp_grads) gen_partition(&f, fr, scratch);
    lg_fn_close(&f);
    return fn;
}

/* void NAME(const plast_kargs *a): zeroes, the loop nests in order (the
 * per-synapse ones through GOMP_parallel), final outputs, adj_meta. */
static LLVMValueRef gen_run(lkern *kc, LLVMValueRef frame_fn)
{
    lmod *g = kc->g;
    const kern *k = kc->k;
    const lower_kernel *lk = kc->lk;
    LLVMValueRef fn = LLVMAddFunction(g->m, k->name, g->t_run);
    lg_add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    lg_mark_cold(g, fn);
    lfn f;
    lg_fn_open(&f, kc, fn);
    LLVMValueRef a = LLVMGetParam(fn, 0);
    LLVMSetValueName2(a, "a", 1);
    load_sizes(g, f.bb, a, f.size);
    f.frame = lg_new_alloca(&f, kc->t_frame, "frame");
    LLVMValueRef fargs[2] = { a, f.frame };
    LLVMBuildCall2(f.ab, LLVMGlobalGetValueType(frame_fn), frame_fn, fargs, 2, "");
    for (int o = 0; o < k->n_out; o++) {   /* identically zero */
        const kern_out *ko = &k->out[o];
        if (ko->node >= 0 || ko->accumulate) continue;
        LLVMValueRef bytes = LLVMBuildNSWMul(f.bb, lg_size_of(&f, ko->space), lg_i64c(g, g->real_bytes), "");
        LLVMBuildMemSet(f.bb, lg_array(&f, kc->out_arg[o]), LLVMConstInt(g->t_i8, 0, 0), bytes, (unsigned)g->real_bytes);
    }
    for (int q = 0; q < k->n_mlp_grads; q++) {   /* the rows of the meta-MLP parameter adjoints start at 0 */
        int id = k->mlp_grads[q];
        LLVMValueRef bytes = LLVMBuildNSWMul(f.bb, lg_mlp_grad_size(&f, id), lg_i64c(g, g->real_bytes), "");
        LLVMBuildMemSet(f.bb, lg_array(&f, lg_grad_array(kc, id)), LLVMConstInt(g->t_i8, 0, 0), bytes, (unsigned)g->real_bytes);
    }
    nest_group grp = { .fn = NULL };
    for (int r = 0, p = 0; r < lk->n_runs && !g->failed; r++) {
        while (p < lk->n_one_pass && lk->one_pass[p].first_run < r) p++;
        if (p < lk->n_one_pass && lk->one_pass[p].first_run == r && g->lanes >= 2) {   /* for a batch of one */
            const lower_one_pass *P = &lk->one_pass[p];
            run_span span = { lk, &grp, r, P->n_runs };
            lg_nest_flush(&f, &grp);
            lg_gen_one_pass(&f, P, gen_run_span, &span);
            r += P->n_runs - 1;
            continue;
        }
        gen_one_run(&f, &grp, &lk->runs[r]);
    }
    for (int q = 0; q < lk->n_final && !g->failed; q++) lg_gen_final(&f, &grp, lk->final_outs[q]);
    lg_nest_flush(&f, &grp);
    lg_gen_mlp_grad_sums(&f);
    for (int m = 0; k->meta_adj && m < k->n_meta && !g->failed; m++) {   /* adj_meta[m] += ... */
        if (k->meta_adj[m] < 0) continue;
        LLVMValueRef x = lg_value_of(&f, k->meta_adj[m]);
        LLVMValueRef idx = lg_i64c(g, m);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(f.bb, g->t_real, lg_array(&f, kc->adj_meta_arg), &idx, 1, "");
        LLVMBuildStore(f.bb, LLVMBuildFAdd(f.bb, LLVMBuildLoad2(f.bb, g->t_real, at, ""), x, ""), at);
    }
    lg_fn_close(&f);
    return fn;
}

/* int64_t NAME_scratch(const plast_kargs *a): bytes of the stored values. */
static LLVMValueRef gen_scratch(lkern *kc)
{
    lmod *g = kc->g;
    char name[160];
    snprintf(name, sizeof name, "%s_scratch", kc->k->name);
    LLVMValueRef fn = LLVMAddFunction(g->m, name, g->t_scratch);
    lg_add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    lg_mark_cold(g, fn);
    lfn f;
    lg_fn_open(&f, kc, fn);
    load_sizes(g, f.bb, LLVMGetParam(fn, 0), f.size);
    int count[8] = { 0 };   /* n = sum of the stored values' sizes, grouped by space */
    for (int id = 0; id < kc->d->n; id++)
        if (kc->lk->store[id] >= 0) count[kc->d->node[id].space & 7]++;
    LLVMValueRef n = lg_i64c(g, 0);
    for (int sp = 0; sp < 8; sp++)
        if (count[sp]) n = LLVMBuildNSWAdd(f.bb, n, LLVMBuildNSWMul(f.bb, lg_i64c(g, count[sp]), lg_size_of(&f, sp), ""), "");
    for (int q = 0; q < kc->k->n_mlp_grads; q++) n = LLVMBuildNSWAdd(f.bb, n, lg_mlp_grad_size(&f, kc->k->mlp_grads[q]), "");
    LLVMBuildRet(f.bb, LLVMBuildNSWMul(f.bb, n, lg_i64c(g, g->real_bytes), "bytes"));
    lg_fn_end(&f);
    return fn;
}

/* const plast_kdesc NAME_desc = { "NAME", NAME, NAME_scratch, n_arg, NAME_args, n_meta, seed_in_place,
 *                                  next_in_place }; */
static void gen_descriptor(lkern *kc, LLVMValueRef run, LLVMValueRef scratch)
{
    lmod *g = kc->g;
    const kern *k = kc->k;
    LLVMValueRef *rows = malloc((size_t)(k->n_arg + 1) * sizeof *rows);
    for (int q = 0; q < k->n_arg; q++) {
        const kern_arg *a = &k->arg[q];
        LLVMValueRef f[3] = { lg_cstring(g, a->name), lg_i32c(g, a->space), lg_i32c(g, a->role) };
        rows[q] = LLVMConstNamedStruct(g->t_argdesc, f, 3);
    }
    char name[160];
    snprintf(name, sizeof name, "%s_args", k->name);
    LLVMValueRef table = LLVMConstArray(g->t_argdesc, rows, (unsigned)k->n_arg);
    LLVMValueRef args = LLVMAddGlobal(g->m, LLVMTypeOf(table), name);
    LLVMSetInitializer(args, table);
    LLVMSetGlobalConstant(args, 1);
    LLVMSetLinkage(args, LLVMInternalLinkage);
    LLVMValueRef f[8] = { lg_cstring(g, k->name), run, scratch, lg_i32c(g, k->n_arg),
                          LLVMConstPointerCast(args, LLVMPointerType(g->t_argdesc, 0)), lg_i32c(g, k->n_meta),
                          lg_i32c(g, kc->lk->seed_in_place), lg_i32c(g, kc->lk->next_in_place) };
    snprintf(name, sizeof name, "%s_desc", k->name);
    LLVMValueRef desc = LLVMAddGlobal(g->m, g->t_kdesc, name);
    LLVMSetInitializer(desc, LLVMConstNamedStruct(g->t_kdesc, f, 8));
    LLVMSetGlobalConstant(desc, 1);
    free(rows);
}

void lg_gen_kernel(lmod *g, const lower_kernel *lk)
{
    lkern kc;
    kern_setup(&kc, g, lk);
    LLVMValueRef scratch = gen_scratch(&kc);
    LLVMValueRef run = gen_run(&kc, gen_frame_fn(&kc));
    gen_descriptor(&kc, run, scratch);
    kern_cleanup(&kc);
}
