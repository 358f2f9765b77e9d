/* diff — partials of every operator and the reverse sweep (see diff.h). */
#include "config.h"
#include "diff.h"

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

void diff_adjoint(dag *d, const int *roots, const int *seeds, int n_roots, int *adj)
{
    int top = -1;
    for (int id = 0; id < d->n; id++) adj[id] = -1;
    for (int r = 0; r < n_roots; r++) {
        if (roots[r] < 0 || seeds[r] < 0) continue;
        accumulate(d, adj, roots[r], seeds[r], d->node[roots[r]].space | d->node[seeds[r]].space);
        if (roots[r] > top) top = roots[r];
    }
    for (int id = top; id >= 0; id--) {
        if (adj[id] < 0 || dag_is_const(d, adj[id], 0)) continue;
        dag_node n = d->node[id];   /* a copy: interning may move the node array */
        for (int k = 0; k < dag_ops[n.op].arity; k++) {
            int p = partial(d, &n, id, k);
            if (p == NO_PARTIAL || (p >= 0 && dag_is_const(d, p, 0))) continue;
            accumulate(d, adj, n.arg[k], p == PASS_ON ? adj[id] : dag_mul(d, adj[id], p), n.space);
        }
    }
}
