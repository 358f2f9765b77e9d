/* llgen_mlp — meta-MLP calls as LLVM IR: calls of libplast's routines
 * (runtime/mlp.c), the same functions the emitted C calls, so that the back
 * ends agree bit for bit (emit_c's emit_mlp_call, emit_mlp_grad). */
#include "config.h"
#include "llgen_impl.h"

#include <stdio.h>
#include <stdlib.h>

/* Whether NODES (or the blocks of their sums over the samples) call a
 * meta-MLP: such a loop runs one column at a time. */
int lg_has_mlp_call(const lkern *kc, const int *nodes, int n_nodes)
{
    for (int q = 0; q < n_nodes; q++) {
        int id = nodes[q];
        if (dag_ops[kc->d->node[id].op].kind == OPK_MLPCALL) return 1;
        if (lower_is_batch_sum(kc->lk, id)) {
            int *blk, nb = lower_batch_block(kc->lk, id, &blk), has = lg_has_mlp_call(kc, blk, nb);
            free(blk);
            if (has) return 1;
        }
    }
    return 0;
}

/* The shape of meta-MLP M, a private constant array of doubles per kernel;
 * a pointer to its first element. */
static LLVMValueRef shape_of(lfn *f, int m)
{
    lmod *g = f->g;
    const dag_mlp *mlp = &f->kc->d->mlp[m];
    char name[160];
    snprintf(name, sizeof name, "%s.mlp%d", f->kc->k->name, m);
    LLVMTypeRef t_f64 = LLVMDoubleTypeInContext(g->ctx), at = LLVMArrayType(t_f64, (unsigned)mlp->n_shape);
    LLVMValueRef gv = LLVMGetNamedGlobal(g->m, name);
    if (!gv) {
        LLVMValueRef *v = malloc((size_t)mlp->n_shape * sizeof *v);
        for (int q = 0; q < mlp->n_shape; q++) v[q] = LLVMConstReal(t_f64, mlp->shape[q]);
        gv = LLVMAddGlobal(g->m, at, name);
        LLVMSetInitializer(gv, LLVMConstArray(t_f64, v, (unsigned)mlp->n_shape));
        LLVMSetGlobalConstant(gv, 1);
        LLVMSetLinkage(gv, LLVMPrivateLinkage);
        free(v);
    }
    LLVMValueRef idx[2] = { lg_i32c(g, 0), lg_i32c(g, 0) };
    return LLVMConstInBoundsGEP2(at, gv, idx, 2);
}

/* The items of PACK stored into an array of reals on the stack; its first element. */
static LLVMValueRef pack_array(lfn *f, int pack)
{
    lmod *g = f->g;
    const dag *d = f->kc->d;
    int n = dag_pack_items(d, pack, NULL, 0);
    LLVMTypeRef at = LLVMArrayType(g->t_real, (unsigned)n);
    LLVMValueRef a = lg_new_alloca(f, at, "pack");
    int k = 0;
    for (int p = pack; p >= 0; p = d->node[p].arg[1], k++) {
        LLVMValueRef v = lg_value_of(f, d->node[p].arg[0]);
        if (lg_lanes_of(v) > 1) { lg_fail(g, "internal error: a vector into a meta-MLP call"); return NULL; }
        LLVMValueRef idx[2] = { lg_i32c(g, 0), lg_i32c(g, k) };
        LLVMBuildStore(f->bb, v, LLVMBuildInBoundsGEP2(f->bb, at, a, idx, 2, ""));
    }
    LLVMValueRef idx[2] = { lg_i32c(g, 0), lg_i32c(g, 0) };
    return LLVMBuildInBoundsGEP2(f->bb, at, a, idx, 2, "");
}

/* meta + offset: the parameters of meta-MLP M. */
static LLVMValueRef theta_of(lfn *f, int m)
{
    LLVMValueRef off = lg_i64c(f->g, f->kc->d->mlp[m].offset);
    return LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, lg_array(f, f->kc->meta_arg), &off, 1, "theta");
}

static LLVMValueRef routine(lfn *f, const char *what, LLVMTypeRef ret, LLVMTypeRef *params, int n, LLVMTypeRef *fty)
{
    char name[64];
    snprintf(name, sizeof name, "plast_mlp_%s_%s", what, f->g->prec == PREC_SINGLE ? "f" : "d");
    *fty = LLVMFunctionType(ret, params, (unsigned)n, 0);
    return lg_declare(f->g, name, *fty);
}

/* plast_mlp_out(shape, meta + offset, x, k) or plast_mlp_din(..., k, m). */
LLVMValueRef lg_gen_mlp_call(lfn *f, int id)
{
    lmod *g = f->g;
    const dag_node *n = &f->kc->d->node[id];
    LLVMValueRef x = pack_array(f, n->arg[0]);
    if (!x) return LLVMGetUndef(g->t_real);
    LLVMTypeRef params[5] = { LLVMPointerType(LLVMDoubleTypeInContext(g->ctx), 0), g->t_realp, g->t_realp,
                              g->t_i32, g->t_i32 }, fty;
    int din = n->op == OP_MLP_DIN;
    LLVMValueRef fn = routine(f, din ? "din" : "out", g->t_real, params, din ? 5 : 4, &fty);
    LLVMValueRef args[5] = { shape_of(f, n->index), theta_of(f, n->index), x, lg_i32c(g, n->aux), lg_i32c(g, (int)n->value) };
    return LLVMBuildCall2(f->bb, fty, fn, args, din ? 5u : 4u, "");
}

/* plast_mlp_grad(shape, meta + offset, x, seeds, rows + row * n_params): row i
 * in a loop over the rows, else row 0 (lower_grad_row_space). */
void lg_gen_mlp_grad(lfn *f, int id)
{
    lmod *g = f->g;
    const dag_node *n = &f->kc->d->node[id];
    LLVMValueRef x = pack_array(f, n->arg[1]), seeds = pack_array(f, n->arg[0]);
    if (!x || !seeds) return;
    LLVMValueRef row = lower_grad_row_space(n->space) == SP_POST ? f->i : lg_i64c(g, 0);
    if (!row) { lg_fail(g, "internal error: a meta-MLP's parameter adjoints outside a loop over rows"); return; }
    LLVMValueRef at = LLVMBuildNSWMul(f->bb, row, lg_i64c(g, f->kc->d->mlp[n->index].n_params), "");
    LLVMValueRef acc = LLVMBuildInBoundsGEP2(f->bb, g->t_real, lg_array(f, lg_grad_array(f->kc, id)), &at, 1, "");
    LLVMTypeRef params[5] = { LLVMPointerType(LLVMDoubleTypeInContext(g->ctx), 0), g->t_realp, g->t_realp,
                              g->t_realp, g->t_realp }, fty;
    LLVMValueRef fn = routine(f, "grad", g->t_void, params, 5, &fty);
    LLVMValueRef args[5] = { shape_of(f, n->index), theta_of(f, n->index), x, seeds, acc };
    LLVMBuildCall2(f->bb, fty, fn, args, 5, "");
}

/* Elements of the rows of mlp_grad node ID: n_post * n_params or n_params. */
LLVMValueRef lg_mlp_grad_size(lfn *f, int id)
{
    const dag_node *n = &f->kc->d->node[id];
    LLVMValueRef p = lg_i64c(f->g, f->kc->d->mlp[n->index].n_params);
    return lower_grad_row_space(n->space) == SP_POST ? LLVMBuildNSWMul(f->bb, f->size[SIZE_N_POST], p, "") : p;
}

/* adj_meta[offset + p] += the rows of each mlp_grad node added in row order
 * (emit_c's emit_mlp_grad_sums). */
void lg_gen_mlp_grad_sums(lfn *f)
{
    lmod *g = f->g;
    const kern *k = f->kc->k;
    for (int q = 0; q < k->n_mlp_grads && !g->failed; q++) {
        int id = k->mlp_grads[q];
        const dag_mlp *m = &f->kc->d->mlp[f->kc->d->node[id].index];
        int by_rows = lower_grad_row_space(f->kc->d->node[id].space) == SP_POST;
        LLVMValueRef rows = lg_array(f, lg_grad_array(f->kc, id)), s = lg_new_alloca(f, g->t_real, "s");
        lloop P, R;
        LLVMValueRef p = lg_loop_open(f, &P, lg_i64c(g, 0), lg_i64c(g, m->n_params), 1, "p");
        LLVMBuildStore(f->bb, LLVMConstReal(g->t_real, 0), s);
        LLVMValueRef r = by_rows ? lg_loop_open(f, &R, lg_i64c(g, 0), f->size[SIZE_N_POST], 1, "r") : lg_i64c(g, 0);
        LLVMValueRef at = LLVMBuildNSWAdd(f->bb, LLVMBuildNSWMul(f->bb, r, lg_i64c(g, m->n_params), ""), p, "");
        LLVMValueRef x = LLVMBuildLoad2(f->bb, g->t_real, LLVMBuildInBoundsGEP2(f->bb, g->t_real, rows, &at, 1, ""), "");
        LLVMBuildStore(f->bb, LLVMBuildFAdd(f->bb, LLVMBuildLoad2(f->bb, g->t_real, s, ""), x, ""), s);
        if (by_rows) lg_loop_close(f, &R);
        LLVMValueRef to = LLVMBuildNSWAdd(f->bb, p, lg_i64c(g, m->offset), "");
        LLVMValueRef dst = LLVMBuildInBoundsGEP2(f->bb, g->t_real, lg_array(f, f->kc->adj_meta_arg), &to, 1, "");
        LLVMBuildStore(f->bb, LLVMBuildFAdd(f->bb, LLVMBuildLoad2(f->bb, g->t_real, dst, ""),
                                            LLVMBuildLoad2(f->bb, g->t_real, s, ""), ""), dst);
        lg_loop_close(f, &P);
    }
}
