/* diff — partials of every operator and the reverse sweep (see diff.h). */
#include "config.h"
#include "diff.h"
#include "sema.h"

#include <stdlib.h>

typedef int (*partial_fn)(dag *d, const dag_node *n, int id, int k);

static int d_none(dag *d, const dag_node *n, int id, int k) { (void)n; (void)id; (void)k; return dag_const(d, 0); }
static int d_zero(dag *d, const dag_node *n, int id, int k) { return d_none(d, n, id, k); }
/* straight-through: kcap passes its adjoint on unchanged (ops.def) */
static int d_one(dag *d, const dag_node *n, int id, int k) { (void)n; (void)id; (void)k; return dag_const(d, 1); }
static int d_add(dag *d, const dag_node *n, int id, int k) { (void)n; (void)id; (void)k; return dag_const(d, 1); }
static int d_sub(dag *d, const dag_node *n, int id, int k) { (void)n; (void)id; return dag_const(d, k ? -1 : 1); }
static int d_neg(dag *d, const dag_node *n, int id, int k) { (void)n; (void)id; (void)k; return dag_const(d, -1); }
/* d(a*b) = b da + a db */
static int d_mul(dag *d, const dag_node *n, int id, int k) { (void)d; (void)id; return n->arg[1 - k]; }
/* d(a/b) = da / b - (a/b) db / b */
static int d_div(dag *d, const dag_node *n, int id, int k)
{
    int b = n->arg[1];
    return k == 0 ? dag_div(d, dag_const(d, 1), b) : dag_neg(d, dag_div(d, id, b));
}
/* d exp(a) = exp(a) da */
static int d_exp(dag *d, const dag_node *n, int id, int k) { (void)d; (void)n; (void)k; return id; }
static int d_log(dag *d, const dag_node *n, int id, int k) { (void)id; (void)k; return dag_div(d, dag_const(d, 1), n->arg[0]); }
/* d sqrt(a) = da / (2 sqrt(a)) */
static int d_sqrt(dag *d, const dag_node *n, int id, int k) { (void)n; (void)k; return dag_div(d, dag_const(d, 0.5), id); }
static int d_abs(dag *d, const dag_node *n, int id, int k) { (void)id; (void)k; return dag_unary(d, OP_SIGN, n->arg[0]); }
/* d tanh(a) = (1 - tanh(a)^2) da */
static int d_tanh(dag *d, const dag_node *n, int id, int k)
{
    (void)n; (void)k;
    return dag_sub(d, dag_const(d, 1), dag_mul(d, id, id));
}
/* d sigmoid(a) = s (1 - s) da */
static int d_sigmoid(dag *d, const dag_node *n, int id, int k)
{
    (void)n; (void)k;
    return dag_mul(d, id, dag_sub(d, dag_const(d, 1), id));
}
/* relu: the derivative at 0 is taken as 0 */
static int d_relu(dag *d, const dag_node *n, int id, int k) { (void)id; (void)k; return dag_unary(d, OP_STEP, n->arg[0]); }
/* softplus(x, b) = log(1 + exp(b x)) / b:  d/dx = sigmoid(b x),  d/db = (x sigmoid(b x) - softplus) / b */
static int d_softplus(dag *d, const dag_node *n, int id, int k)
{
    int x = n->arg[0], b = n->arg[1];
    int s = dag_unary(d, OP_SIGMOID, dag_mul(d, b, x));
    if (k == 0) return s;
    return dag_div(d, dag_sub(d, dag_mul(d, x, s), id), b);
}
/* d a^p = p a^(p-1) da + a^p log(a) dp */
static int d_pow(dag *d, const dag_node *n, int id, int k)
{
    int a = n->arg[0], p = n->arg[1];
    if (k == 0) return dag_mul(d, p, dag_binary(d, OP_POW, a, dag_sub(d, p, dag_const(d, 1))));
    return dag_mul(d, id, dag_unary(d, OP_LOG, a));
}
/* min(a, b): da where a < b, db elsewhere; max likewise */
static int d_min(dag *d, const dag_node *n, int id, int k)
{
    (void)id;
    int a = n->arg[0], b = n->arg[1];
    return k == 0 ? dag_unary(d, OP_STEP, dag_sub(d, b, a))
                  : dag_sub(d, dag_const(d, 1), dag_unary(d, OP_STEP, dag_sub(d, b, a)));
}
static int d_max(dag *d, const dag_node *n, int id, int k)
{
    (void)id;
    int a = n->arg[0], b = n->arg[1];
    return k == 0 ? dag_unary(d, OP_STEP, dag_sub(d, a, b))
                  : dag_sub(d, dag_const(d, 1), dag_unary(d, OP_STEP, dag_sub(d, a, b)));
}

static const partial_fn partials[OP_COUNT] = {
#define OP(id, name, arity, c, ll, partial) partial,
#include "ops.def"
#undef OP
};

int diff_partial(dag *d, int id, int k)
{
    dag_node n = d->node[id];   /* a copy: interning may move the node array */
    return partials[n.op](d, &n, id, k);
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
        dag_node n = d->node[id];
        switch (n.op) {
        case OP_CONST: case OP_INPUT: case OP_PARAM: case OP_SIZE:
        case OP_MAX_POST: case OP_NOGRAD: case OP_STEP: case OP_SIGN:
            break;
        case OP_SUM_PRE: case OP_SUM_POST: case OP_SUM_BATCH:
            accumulate(d, adj, n.arg[0], adj[id], n.space);   /* broadcast back */
            break;
        default:
            for (int k = 0; k < dag_ops[n.op].arity; k++) {
                int p = diff_partial(d, id, k);
                if (dag_is_const(d, p, 0)) continue;
                accumulate(d, adj, n.arg[k], dag_mul(d, adj[id], p), n.space);
            }
        }
    }
}
