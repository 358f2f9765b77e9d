/* factor — a rule's per-synapse update regrouped into a few rank-1 updates.
 *
 * A rule like the 003 pool is written term by term:
 *     dw = - theta0 * post.e * pre.y - theta1 * post.y * pre.e - ... (ten terms)
 * Hoisting already computes every per-neuron factor once, but the per-synapse
 * loop still multiplies and subtracts each term: about twenty operations per
 * synapse, on every pass of the inner loop and of the reverse sweep.  Terms
 * that share their presynaptic (and per-synapse) factors can share the
 * per-synapse work: collecting them gives
 *     dw = a_i * pre.y_j + c_i * pre.e_j + d_i * q_j - theta3 * w_ij
 * with per-neuron coefficients a, c, d computed once per neuron: four
 * multiplies and three adds per synapse, and the adjoint kernel inherits the
 * shape (one reduction per group instead of one per term).
 *
 * The pass expands DW into signed monomials — through products (any
 * space; distributing a product over a per-synapse sum) and per-synapse +,
 * - and negation — each a product of factors it does not look into (sums
 * and functions of per-neuron values, and per-synapse values that are not
 * sums or products: w, exp(w), a quotient, an mlp output).  Monomials are grouped by
 * their presynaptic and per-synapse factors; the rest (scalars, per-post and
 * per-sample values, the sign) is summed into the group's coefficient.  The
 * result is the same function; only the order of the floating-point
 * operations changes.  When the expansion would exceed MAX_TERMS monomials,
 * or grouping saves nothing, DW is returned as it is.
 */
#include "config.h"
#include "dag.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_TERMS = 256, MAX_FACTORS = 16 };

typedef struct mono {
    int sign;                  /* +1 or -1 */
    int n;
    int f[MAX_FACTORS];        /* factor nodes */
} mono;

typedef struct mlist { mono *m; int n; int overflow; } mlist;

static int is_syn(int space) { return (space & SP_SYN) == SP_SYN; }

static void push(mlist *L, const mono *m)
{
    if (L->n >= MAX_TERMS) { L->overflow = 1; return; }
    L->m[L->n++] = *m;
}

static void expand(const dag *d, int id, mlist *out);

/* The monomials of A times those of B. */
static void expand_product(const dag *d, int a, int b, mlist *out)
{
    mlist La = { malloc(MAX_TERMS * sizeof(mono)), 0, 0 }, Lb = { malloc(MAX_TERMS * sizeof(mono)), 0, 0 };
    expand(d, a, &La);
    expand(d, b, &Lb);
    out->overflow |= La.overflow || Lb.overflow;
    for (int i = 0; i < La.n && !out->overflow; i++)
        for (int j = 0; j < Lb.n && !out->overflow; j++) {
            if (La.m[i].n + Lb.m[j].n > MAX_FACTORS) { out->overflow = 1; break; }
            mono m = La.m[i];
            m.sign *= Lb.m[j].sign;
            memcpy(m.f + m.n, Lb.m[j].f, (size_t)Lb.m[j].n * sizeof *m.f);
            m.n += Lb.m[j].n;
            push(out, &m);
        }
    free(La.m);
    free(Lb.m);
}

/* Appends the monomials of node ID to OUT. */
static void expand(const dag *d, int id, mlist *out)
{
    const dag_node *n = &d->node[id];
    if (out->overflow) return;
    if (n->op == OP_MUL) { expand_product(d, n->arg[0], n->arg[1], out); return; }   /* theta4 * pre.e: two factors */
    if (is_syn(n->space)) {
        switch ((dag_op)n->op) {
        case OP_ADD: expand(d, n->arg[0], out); expand(d, n->arg[1], out); return;
        case OP_SUB: {
            expand(d, n->arg[0], out);
            int mid = out->n;
            expand(d, n->arg[1], out);
            for (int k = mid; k < out->n; k++) out->m[k].sign = -out->m[k].sign;
            return;
        }
        case OP_NEG: {
            int first = out->n;
            expand(d, n->arg[0], out);
            for (int k = first; k < out->n; k++) out->m[k].sign = -out->m[k].sign;
            return;
        }
        default: break;
        }
    }
    mono m = { 1, 1, { id } };
    push(out, &m);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The product of the factors F[0..n) (sorted, so equal sets give one node). */
static int product(dag *d, int *f, int n)
{
    qsort(f, (size_t)n, sizeof *f, cmp_int);
    int p = -1;
    for (int k = 0; k < n; k++) p = p < 0 ? f[k] : dag_mul(d, p, f[k]);
    return p;
}

typedef struct group { int pre, syn, coef; } group;

int dag_factor_rank1(dag *d, int dw)
{
    if (!is_syn(d->node[dw].space)) return dw;
    mlist L = { malloc(MAX_TERMS * sizeof(mono)), 0, 0 };
    expand(d, dw, &L);
    if (L.overflow || L.n < 2) { free(L.m); return dw; }
    group *g = malloc((size_t)L.n * sizeof *g);
    int n_groups = 0;
    for (int t = 0; t < L.n; t++) {
        int pre[MAX_FACTORS], syn[MAX_FACTORS], rest[MAX_FACTORS], np = 0, ns = 0, nr = 0;
        for (int k = 0; k < L.m[t].n; k++) {
            int f = L.m[t].f[k], sp = d->node[f].space;
            if (is_syn(sp)) syn[ns++] = f;
            else if (sp & SP_PRE) pre[np++] = f;
            else rest[nr++] = f;
        }
        int pn = product(d, pre, np), sn = product(d, syn, ns), c = product(d, rest, nr);
        if (c < 0) c = dag_const(d, 1);
        int neg = L.m[t].sign < 0, k = 0;
        while (k < n_groups && !(g[k].pre == pn && g[k].syn == sn)) k++;
        if (k == n_groups) g[n_groups++] = (group){ pn, sn, neg ? dag_neg(d, c) : c };
        else g[k].coef = neg ? dag_sub(d, g[k].coef, c) : dag_add(d, g[k].coef, c);
    }
    int result = dw;
    if (n_groups < L.n) {   /* something was shared: the grouped form */
        int sum = -1;
        for (int k = 0; k < n_groups; k++) {
            int term = g[k].coef;
            if (g[k].pre >= 0) term = dag_mul(d, term, g[k].pre);
            if (g[k].syn >= 0) term = dag_mul(d, term, g[k].syn);
            sum = sum < 0 ? term : dag_add(d, sum, term);
        }
        /* a constant coefficient may leave a value with fewer indices (dw = c):
         * keep the original then, whose space the kernel expects */
        if (d->node[sum].space == d->node[dw].space) result = sum;
    }
    free(g);
    free(L.m);
    return result;
}
