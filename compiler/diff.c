/* diff — partials of every operator and the reverse sweep (see diff.h). */
#include "config.h"
#include "diff.h"

#include <stdio.h>
#include <stdlib.h>

/* The partial language of ops.def over DAG nodes; the node is N (a copy)
 * with id ID.  ZERO and ONE make no node: partial() returns NO_PARTIAL and
 * PASS_ON for them. */
enum { NO_PARTIAL = -1, PASS_ON = -2 };
#define X n->arg[0]
#define Y n->arg[1]
#define Z id
#define K(c) dag_const(d, c)
#define ADD(p, q) dag_add(d, p, q)
#define SUB(p, q) dag_sub(d, p, q)
#define MUL(p, q) dag_mul(d, p, q)
#define DIV(p, q) dag_div(d, p, q)
#define NEG(p) dag_neg(d, p)
#define OP1(op, p) dag_unary(d, OP_##op, p)
#define OP2(op, p, q) dag_binary(d, OP_##op, p, q)
#define ZERO NO_PARTIAL
#define ONE PASS_ON
static int partial(dag *d, const dag_node *n, int id, int k)
{
    switch ((dag_op)n->op) {
#define OP(op, name, kind, arity, call, c, value, d0, d1) case OP_##op: return k == 0 ? (d0) : (d1);
#include "ops.def"
#undef OP
    default: return NO_PARTIAL;
    }
}
#include "ops_end.h"

int diff_partial(dag *d, int id, int k)
{
    dag_node n = d->node[id];   /* a copy: interning may move the node array */
    int p = partial(d, &n, id, k);
    return p == NO_PARTIAL ? dag_const(d, 0) : p == PASS_ON ? dag_const(d, 1) : p;
}

/* Adds CONTRIBUTION to adj(TARGET).  The contribution is logically indexed
 * like FROM_SPACE (the space of the node it flows from), even where its own
 * expression varies less; each index of FROM_SPACE that TARGET lacks is summed
 * out (dag_reduce turns a sum of an invariant value into a product with the
 * size). */
static void accumulate(dag *d, int *adj, int target, int contribution, int from_space)
{
    int extra = from_space & ~d->node[target].space;
    if (extra & SP_SAMPLE) contribution = dag_reduce(d, OP_SUM_BATCH, contribution);
    if (extra & SP_POST) contribution = dag_reduce(d, OP_SUM_POST, contribution);
    if (extra & SP_PRE) contribution = dag_reduce(d, OP_SUM_PRE, contribution);
    adj[target] = adj[target] < 0 ? contribution : dag_add(d, adj[target], contribution);
}

/* A meta-MLP call: the MLP at one pack of inputs, its space, and the
 * adjoint of each of its outputs (-1: none): the seeds of the adjoints of
 * its inputs and parameters; SEEDS: their pack, once made. */
typedef struct mlp_call { int mlp, pack, space, seeds; int *seed; } mlp_call;

static mlp_call *call_of(const dag *d, mlp_call **calls, int *n, int mlp, int pack, int space)
{
    for (int c = 0; c < *n; c++) if ((*calls)[c].mlp == mlp && (*calls)[c].pack == pack) return &(*calls)[c];
    *calls = realloc(*calls, (size_t)(*n + 1) * sizeof **calls);
    if (!*calls) abort();
    mlp_call *c = &(*calls)[(*n)++];
    c->mlp = mlp;
    c->pack = pack;
    c->space = space;
    c->seeds = -1;
    c->seed = malloc((size_t)d->mlp[mlp].n_out * sizeof *c->seed);
    if (!c->seed) abort();
    for (int k = 0; k < d->mlp[mlp].n_out; k++) c->seed[k] = -1;
    return c;
}

/* The pack of call C's seeds (0 for an output without adjoint). */
static int seeds_of(dag *d, mlp_call *c)
{
    if (c->seeds < 0) {
        int n_out = d->mlp[c->mlp].n_out;
        for (int k = 0; k < n_out; k++) if (c->seed[k] < 0) c->seed[k] = dag_const(d, 0);
        c->seeds = dag_pack(d, c->seed, n_out);
    }
    return c->seeds;
}

/* adj(x_m) += mlp_vjp(seeds, pack, m) for each input x_m of each call of
 * pack PACK: reached in the reverse sweep after every output of its calls
 * (their ids are higher) and before any input (lower), so the seeds are
 * complete and the inputs' adjoints not yet used. */
static void adjoint_pack(dag *d, int *adj, int pack, mlp_call *calls, int n_calls)
{
    for (int c = 0; c < n_calls; c++) {
        if (calls[c].pack != pack) continue;
        int n_in = d->mlp[calls[c].mlp].n_in, *xs = malloc((size_t)n_in * sizeof *xs);
        if (!xs) abort();
        dag_pack_items(d, pack, xs, n_in);
        int seeds = seeds_of(d, &calls[c]);
        for (int m = 0; m < n_in; m++)
            accumulate(d, adj, xs[m], dag_mlp_vjp(d, calls[c].mlp, seeds, pack, m), calls[c].space);
        free(xs);
    }
}

/* The calls' parameter adjoints as mlp_grad nodes, into *GRADS. */
static int mlp_grads(dag *d, mlp_call *calls, int n_calls, int **grads)
{
    *grads = n_calls ? malloc((size_t)n_calls * sizeof **grads) : NULL;
    for (int c = 0; c < n_calls; c++) {
        (*grads)[c] = dag_mlp_grad(d, calls[c].mlp, seeds_of(d, &calls[c]), calls[c].pack);
        free(calls[c].seed);
    }
    free(calls);
    return n_calls;
}

int diff_adjoint(dag *d, const int *roots, const int *seeds, int n_roots, int *adj, int **grads)
{
    int top = -1, n_calls = 0;
    mlp_call *calls = NULL;
    for (int id = 0; id < d->n; id++) adj[id] = -1;
    for (int r = 0; r < n_roots; r++) {
        if (roots[r] < 0 || seeds[r] < 0) continue;
        accumulate(d, adj, roots[r], seeds[r], d->node[roots[r]].space | d->node[seeds[r]].space);
        if (roots[r] > top) top = roots[r];
    }
    for (int id = top; id >= 0; id--) {
        if (d->node[id].op == OP_PACK) { adjoint_pack(d, adj, id, calls, n_calls); continue; }
        if (adj[id] < 0 || dag_is_const(d, adj[id], 0)) continue;
        dag_node n = d->node[id];   /* a copy: interning may move the node array */
        if (n.op == OP_MLP_OUT) {   /* its adjoint seeds its call's; the inputs' follow at the pack */
            call_of(d, &calls, &n_calls, n.index, n.arg[0], n.space)->seed[n.aux] = adj[id];
            continue;
        }
        if (n.op == OP_MLP_VJP || n.op == OP_MLP_GRAD) {
            fputs("plastcc: internal error: a derivative of a meta-MLP call is differentiated again\n", stderr);
            abort();
        }
        for (int k = 0; k < dag_ops[n.op].arity; k++) {
            int p = partial(d, &n, id, k);
            if (p == NO_PARTIAL || (p >= 0 && dag_is_const(d, p, 0))) continue;
            accumulate(d, adj, n.arg[k], p == PASS_ON ? adj[id] : dag_mul(d, adj[id], p), n.space);
        }
    }
    return mlp_grads(d, calls, n_calls, grads);
}
