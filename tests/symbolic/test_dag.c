/*
 * test_dag.c -- the expression DAG (compiler/dag.c) and the operator
 * partials (compiler/diff.c) on their own.
 *
 *  - hash-consing: one node per distinct subterm, commutative operands in
 *    one canonical order;
 *  - folding and identities: constant folding of every operator of ops.def
 *    (checked against libm), x*0, x*1, x+0, x-0, x-x, x/1, 0/x, --x, and the
 *    sign/constant/size rewrites;
 *  - index spaces: the union for operators, a reduction clears its bit, and a
 *    sum of a value that does not vary with the summed index is a product
 *    with the size;
 *  - partials: diff_partial of every operator against central differences of
 *    an independent scalar evaluation of the node (a small evaluator below;
 *    an operator it does not know is evaluated by its value formula, so a
 *    new row of ops.def has its partials checked here with no change), and
 *    diff_adjoint of a composite expression likewise.
 */
#include "config.h"
#include "dag.h"
#include "diff.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

/* ---- a scalar evaluator, written from the operators' definitions ---- */

typedef struct point {
    double input[8];      /* by input slot */
    double param[8];      /* by meta index */
    double size[4];       /* n_pre, n_post, batch, steps */
} point;

static double eval_node(const dag *d, int id, const point *p)
{
    const dag_node *n = &d->node[id];
    double a = n->arg[0] >= 0 ? eval_node(d, n->arg[0], p) : 0;
    double b = n->arg[1] >= 0 ? eval_node(d, n->arg[1], p) : 0;
    switch ((dag_op)n->op) {
    case OP_CONST: return n->value;
    case OP_INPUT: return p->input[n->aux];
    case OP_PARAM: return p->param[n->index];
    case OP_SIZE: return p->size[n->aux];
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_NEG: return -a;
    case OP_EXP: return exp(a);
    case OP_LOG: return log(a);
    case OP_SQRT: return sqrt(a);
    case OP_ABS: return fabs(a);
    case OP_TANH: return tanh(a);
    case OP_SIGMOID: return 1 / (1 + exp(-a));
    case OP_RELU: return a > 0 ? a : 0;
    case OP_SOFTPLUS: return log(1 + exp(b * a)) / b;
    case OP_POW: return pow(a, b);
    case OP_MIN: return a < b ? a : b;
    case OP_MAX: return a > b ? a : b;
    case OP_SIGN: return a > 0 ? 1 : a < 0 ? -1 : 0;
    case OP_STEP: return a > 0 ? 1 : 0;
    case OP_NOGRAD: return a;
    default: return dag_op_fold((dag_op)n->op, a, b);   /* an operator added since: its value formula (ops.def) */
    }
}

static int is_const(const dag *d, int id, double v) { return d->node[id].op == OP_CONST && d->node[id].value == v; }

/* ---- hash-consing ---- */

static int build_expr(dag *d, int x, int y)
{
    /* exp(x * y) + log(x) * (y - x) / sqrt(x) */
    int e = dag_unary(d, OP_EXP, dag_mul(d, x, y));
    int l = dag_mul(d, dag_unary(d, OP_LOG, x), dag_sub(d, y, x));
    return dag_add(d, e, dag_div(d, l, dag_unary(d, OP_SQRT, x)));
}

static void test_hash_consing(void)
{
    dag *d = dag_new();
    int x = dag_input_node(d, dag_input_slot(d, "x", SP_SCALAR));
    int y = dag_input_node(d, dag_input_slot(d, "y", SP_SCALAR));
    CHECK(dag_input_slot(d, "x", SP_SCALAR) == 0);   /* slots are found, not redeclared */
    CHECK(d->n_input == 2);
    CHECK(dag_input_node(d, 0) == x);
    int first = build_expr(d, x, y), n = d->n;
    int second = build_expr(d, x, y);
    CHECK(first == second);
    CHECK(d->n == n);   /* nothing new */
    /* commutative operators: either order gives one node */
    CHECK(dag_add(d, x, y) == dag_add(d, y, x));
    CHECK(dag_mul(d, x, y) == dag_mul(d, y, x));
    CHECK(dag_binary(d, OP_MIN, x, y) == dag_binary(d, OP_MIN, y, x));
    CHECK(dag_binary(d, OP_MAX, x, y) == dag_binary(d, OP_MAX, y, x));
    int m = dag_mul(d, y, x);
    CHECK(d->node[m].arg[0] < d->node[m].arg[1]);
    /* the others keep their order */
    CHECK(dag_sub(d, x, y) != dag_sub(d, y, x));
    CHECK(dag_div(d, x, y) != dag_div(d, y, x));
    CHECK(dag_binary(d, OP_POW, x, y) != dag_binary(d, OP_POW, y, x));
    CHECK(dag_binary(d, OP_SOFTPLUS, x, y) != dag_binary(d, OP_SOFTPLUS, y, x));
    /* leaves */
    CHECK(dag_const(d, 2.5) == dag_const(d, 2.5));
    CHECK(dag_const(d, 0.0) == dag_const(d, -0.0));
    CHECK(dag_param(d, 3) == dag_param(d, 3));
    CHECK(dag_param(d, 3) != dag_param(d, 4));
    CHECK(dag_size(d, SIZE_BATCH) == dag_size(d, SIZE_BATCH));
    CHECK(dag_size(d, SIZE_BATCH) != dag_size(d, SIZE_N_PRE));
    /* a node's arguments come before it: ids are a topological order */
    for (int id = 0; id < d->n; id++)
        for (int k = 0; k < 2; k++) CHECK(d->node[id].arg[k] < id);
    /* the same input read in two spaces' expressions is one node; the same
     * name in a new DAG is a new slot */
    dag *e = dag_new();
    int w = dag_input_node(e, dag_input_slot(e, "w", SP_SYN));
    CHECK(w == dag_input_node(e, dag_input_slot(e, "w", SP_SYN)));
    dag_free(e);
    dag_free(d);
}

/* ---- folding and identities ---- */

static double libm_unary(dag_op op, double a)
{
    switch (op) {
    case OP_NEG: return -a;
    case OP_EXP: return exp(a);
    case OP_LOG: return log(a);
    case OP_SQRT: return sqrt(a);
    case OP_ABS: return fabs(a);
    case OP_TANH: return tanh(a);
    case OP_SIGMOID: return 1 / (1 + exp(-a));
    case OP_RELU: return a > 0 ? a : 0;
    case OP_SIGN: return a > 0 ? 1 : a < 0 ? -1 : 0;
    case OP_STEP: return a > 0 ? 1 : 0;
    default: return NAN;
    }
}

static double libm_binary(dag_op op, double a, double b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_POW: return pow(a, b);
    case OP_MIN: return a < b ? a : b;
    case OP_MAX: return a > b ? a : b;
    case OP_SOFTPLUS: return log1p(exp(b * a)) / b;
    default: return NAN;
    }
}

static int close_to(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(1, fmax(fabs(a), fabs(b)));
}

static void test_constant_folding(void)
{
    static const dag_op unary[] = { OP_NEG, OP_EXP, OP_LOG, OP_SQRT, OP_ABS, OP_TANH, OP_SIGMOID,
                                    OP_RELU, OP_SIGN, OP_STEP };
    static const dag_op binary[] = { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_MIN, OP_MAX, OP_SOFTPLUS };
    static const double values[] = { 0.3, 1.7, -0.4, 2.0 };
    dag *d = dag_new();
    for (size_t u = 0; u < sizeof unary / sizeof *unary; u++)
        for (size_t k = 0; k < sizeof values / sizeof *values; k++) {
            double v = values[k], want = libm_unary(unary[u], v);
            int id = dag_unary(d, unary[u], dag_const(d, v));
            if (!isfinite(want)) {   /* log(-0.4), sqrt(-0.4): not folded */
                CHECK(d->node[id].op == unary[u]);
                continue;
            }
            CHECK(d->node[id].op == OP_CONST);
            if (d->node[id].op == OP_CONST && !close_to(d->node[id].value, want, 1e-15)) {
                fprintf(stderr, "  %s(%g) folded to %.17g, libm %.17g\n", dag_ops[unary[u]].name, v,
                        d->node[id].value, want);
                failures++;
            }
        }
    for (size_t o = 0; o < sizeof binary / sizeof *binary; o++)
        for (size_t i = 0; i < sizeof values / sizeof *values; i++)
            for (size_t j = 0; j < sizeof values / sizeof *values; j++) {
                double a = values[i], b = values[j], want = libm_binary(binary[o], a, b);
                int id = dag_binary(d, binary[o], dag_const(d, a), dag_const(d, b));
                if (!isfinite(want)) {   /* pow(-0.4, 0.3), softplus(x, -0.4) overflow, ... */
                    CHECK(d->node[id].op == binary[o] || d->node[id].op == OP_CONST);
                    continue;
                }
                CHECK(d->node[id].op == OP_CONST);
                if (d->node[id].op == OP_CONST && !close_to(d->node[id].value, want, 1e-14)) {
                    fprintf(stderr, "  %s(%g, %g) folded to %.17g, libm %.17g\n", dag_ops[binary[o]].name, a,
                            b, d->node[id].value, want);
                    failures++;
                }
            }
    /* softplus folds without overflow for large b x, like the emitted plast_softplus */
    int big = dag_binary(d, OP_SOFTPLUS, dag_const(d, 50), dag_const(d, 10));
    CHECK(d->node[big].op == OP_CONST && close_to(d->node[big].value, 50, 1e-15));
    /* non-finite results stay operations: 1/0, log(0), sqrt(-1) */
    CHECK(d->node[dag_div(d, dag_const(d, 1), dag_const(d, 0))].op == OP_DIV);
    CHECK(d->node[dag_unary(d, OP_LOG, dag_const(d, 0))].op == OP_LOG);
    CHECK(d->node[dag_unary(d, OP_SQRT, dag_const(d, -1))].op == OP_SQRT);
    /* nograd of a constant is the constant */
    CHECK(dag_unary(d, OP_NOGRAD, dag_const(d, 3)) == dag_const(d, 3));
    dag_free(d);
}

static void test_identities(void)
{
    dag *d = dag_new();
    int x = dag_input_node(d, dag_input_slot(d, "x", SP_PRE | SP_SAMPLE));
    int y = dag_input_node(d, dag_input_slot(d, "y", SP_POST));
    int zero = dag_const(d, 0), one = dag_const(d, 1), m1 = dag_const(d, -1);
    CHECK(dag_mul(d, x, zero) == zero);
    CHECK(dag_mul(d, zero, x) == zero);
    CHECK(dag_mul(d, x, one) == x);
    CHECK(dag_mul(d, one, x) == x);
    CHECK(dag_add(d, x, zero) == x);
    CHECK(dag_add(d, zero, x) == x);
    CHECK(dag_sub(d, x, zero) == x);
    CHECK(dag_sub(d, zero, x) == dag_neg(d, x));
    CHECK(dag_sub(d, x, x) == zero);
    CHECK(dag_sub(d, dag_mul(d, x, y), dag_mul(d, y, x)) == zero);   /* x-x through commutation */
    CHECK(dag_div(d, x, one) == x);
    CHECK(dag_div(d, zero, x) == zero);
    CHECK(dag_neg(d, dag_neg(d, x)) == x);
    CHECK(dag_mul(d, x, m1) == dag_neg(d, x));
    CHECK(dag_mul(d, m1, x) == dag_neg(d, x));
    /* negations move outwards and into subtractions */
    int nx = dag_neg(d, x), ny = dag_neg(d, y);
    CHECK(dag_add(d, x, ny) == dag_sub(d, x, y));
    CHECK(dag_add(d, nx, y) == dag_sub(d, y, x));
    CHECK(dag_sub(d, x, ny) == dag_add(d, x, y));
    CHECK(dag_mul(d, nx, y) == dag_neg(d, dag_mul(d, x, y)));
    CHECK(dag_mul(d, x, ny) == dag_neg(d, dag_mul(d, x, y)));
    CHECK(dag_mul(d, nx, ny) == dag_mul(d, x, y));
    CHECK(dag_div(d, nx, y) == dag_neg(d, dag_div(d, x, y)));
    /* constants: -(c x) = (-c) x and c1 (c2 x) = (c1 c2) x */
    int two = dag_const(d, 2);
    int tx = dag_mul(d, two, x);
    CHECK(dag_neg(d, tx) == dag_mul(d, dag_const(d, -2), x));
    CHECK(d->node[dag_neg(d, tx)].op == OP_MUL);
    CHECK(dag_mul(d, dag_const(d, 3), tx) == dag_mul(d, dag_const(d, 6), x));
    CHECK(dag_mul(d, dag_mul(d, x, two), dag_const(d, 0.5)) == x);
    CHECK(dag_mul(d, dag_mul(d, x, two), dag_const(d, -0.5)) == nx);
    CHECK(dag_mul(d, dag_neg(d, x), two) == dag_mul(d, dag_const(d, -2), x));
    /* a size cancels against a division by it: n (y / n) = y, n (y (1/n)) = y */
    int nb = dag_size(d, SIZE_BATCH);
    CHECK(dag_mul(d, nb, dag_div(d, y, nb)) == y);
    CHECK(dag_mul(d, dag_mul(d, y, dag_div(d, one, nb)), nb) == y);
    CHECK(dag_mul(d, nb, dag_div(d, one, nb)) == one);
    /* but not against another size, nor a non-size */
    int np = dag_size(d, SIZE_N_PRE);
    CHECK(d->node[dag_mul(d, np, dag_div(d, y, nb))].op == OP_MUL);
    CHECK(d->node[dag_mul(d, x, dag_div(d, y, x))].op == OP_MUL);
    /* nothing else: these stay operations */
    CHECK(d->node[dag_add(d, x, x)].op == OP_ADD);
    CHECK(d->node[dag_div(d, x, x)].op == OP_DIV);
    dag_free(d);
}

/* ---- index spaces ---- */

static void test_spaces(void)
{
    dag *d = dag_new();
    int pre = dag_input_node(d, dag_input_slot(d, "pre_y", SP_PRE | SP_SAMPLE));
    int post = dag_input_node(d, dag_input_slot(d, "post_e", SP_POST | SP_SAMPLE));
    int w = dag_input_node(d, dag_input_slot(d, "w", SP_SYN));
    int th = dag_param(d, 0);
    CHECK(d->node[th].space == SP_SCALAR);
    CHECK(d->node[dag_const(d, 4)].space == SP_SCALAR);
    CHECK(d->node[dag_size(d, SIZE_N_PRE)].space == SP_SCALAR);
    /* binary operators: the union */
    CHECK(d->node[dag_mul(d, pre, post)].space == (SP_SYN | SP_SAMPLE));
    CHECK(d->node[dag_add(d, pre, w)].space == (SP_SYN | SP_SAMPLE));
    CHECK(d->node[dag_sub(d, th, post)].space == (SP_POST | SP_SAMPLE));
    CHECK(d->node[dag_binary(d, OP_POW, w, th)].space == SP_SYN);
    CHECK(d->node[dag_unary(d, OP_TANH, pre)].space == (SP_PRE | SP_SAMPLE));
    /* reductions clear their bit */
    int syn = dag_mul(d, dag_mul(d, pre, w), post);
    int sp = dag_reduce(d, OP_SUM_PRE, syn);
    CHECK(d->node[sp].space == (SP_POST | SP_SAMPLE));
    int spp = dag_reduce(d, OP_SUM_POST, dag_unary(d, OP_TANH, syn));
    CHECK(d->node[spp].op == OP_SUM_POST && d->node[spp].space == (SP_PRE | SP_SAMPLE));
    int sb = dag_reduce(d, OP_SUM_BATCH, dag_unary(d, OP_EXP, syn));
    CHECK(d->node[sb].op == OP_SUM_BATCH && d->node[sb].space == SP_SYN);
    int mx = dag_reduce(d, OP_MAX_POST, post);
    CHECK(d->node[mx].op == OP_MAX_POST && d->node[mx].space == SP_SAMPLE);
    CHECK(d->node[dag_reduce_to(d, dag_unary(d, OP_EXP, syn), SP_PRE)].space == SP_PRE);
    CHECK(d->node[dag_reduce_to(d, dag_unary(d, OP_EXP, syn), SP_SCALAR)].space == SP_SCALAR);
    CHECK(dag_reduce_to(d, w, SP_SYN | SP_SAMPLE) == w);
    /* a sum of a value invariant in the summed index is a product with the size */
    int s1 = dag_reduce(d, OP_SUM_PRE, post);
    CHECK(s1 == dag_mul(d, post, dag_size(d, SIZE_N_PRE)));
    CHECK(dag_reduce(d, OP_SUM_POST, pre) == dag_mul(d, pre, dag_size(d, SIZE_N_POST)));
    CHECK(dag_reduce(d, OP_SUM_BATCH, w) == dag_mul(d, w, dag_size(d, SIZE_BATCH)));
    CHECK(dag_reduce(d, OP_MAX_POST, pre) == pre);   /* the max of a constant is itself */
    /* invariant factors come out of a sum, negations too */
    int fac = dag_reduce(d, OP_SUM_PRE, dag_mul(d, post, dag_mul(d, pre, w)));
    CHECK(fac == dag_mul(d, post, dag_reduce(d, OP_SUM_PRE, dag_mul(d, pre, w))));
    CHECK(dag_reduce(d, OP_SUM_POST, dag_neg(d, syn)) == dag_neg(d, dag_reduce(d, OP_SUM_POST, syn)));
    CHECK(dag_reduce(d, OP_SUM_BATCH, dag_mul(d, th, pre)) == dag_mul(d, th, dag_reduce(d, OP_SUM_BATCH, pre)));
    /* but not out of a max */
    int mneg = dag_reduce(d, OP_MAX_POST, dag_neg(d, post));
    CHECK(d->node[mneg].op == OP_MAX_POST);
    dag_free(d);
}

/* kcap (a row operator): one node per (argument, k), the argument's space,
 * and the straight-through surrogate as its partial, so the adjoint of
 * sum_post(c * kcap(z)) with respect to z is c. */
static void test_kcap(void)
{
    dag *d = dag_new();
    int z = dag_input_node(d, dag_input_slot(d, "post_z", SP_POST | SP_SAMPLE));
    int c = dag_input_node(d, dag_input_slot(d, "c", SP_POST));
    int y = dag_kcap(d, z, 3);
    CHECK(d->node[y].op == OP_KCAP && d->node[y].index == 3 && d->node[y].space == (SP_POST | SP_SAMPLE));
    CHECK(dag_kcap(d, z, 3) == y);
    CHECK(dag_kcap(d, z, 4) != y);
    CHECK(is_const(d, diff_partial(d, y, 0), 1));
    int f = dag_reduce(d, OP_SUM_POST, dag_mul(d, c, y));
    int seed = dag_const(d, 1), *adj = malloc((size_t)(d->n + 1) * sizeof *adj);
    { int *grads; diff_adjoint(d, &f, &seed, 1, adj, &grads); free(grads); }
    CHECK(adj[z] == c);
    free(adj);
    dag_free(d);
}

/* ---- partials against finite differences ---- */

/* Where operator OP is checked: (a, b) points away from kinks and inside the
 * domain (log, sqrt and pow of positive values, softplus with beta > 0). */
static const double points[][2] = {
    { 0.7, 1.3 }, { -0.6, 0.4 }, { 1.9, -0.8 }, { 0.35, 2.2 }, { -1.4, -0.3 },
};

static int in_domain(dag_op op, double a, double b)
{
    switch (op) {
    case OP_LOG: case OP_SQRT: return a > 0;
    case OP_POW: return a > 0;
    case OP_SOFTPLUS: return b > 0;
    case OP_DIV: return fabs(b) > 0.1;
    default: return 1;
    }
}

/* d(op(x, y))/d(arg k) at (a, b): the partial node evaluated, against
 * central differences of the evaluated node. */
static void check_partial(dag_op op, double a, double b)
{
    dag *d = dag_new();
    int x = dag_input_node(d, dag_input_slot(d, "x", SP_SCALAR));
    int y = dag_input_node(d, dag_input_slot(d, "y", SP_SCALAR));
    int node = dag_ops[op].arity == 1 ? dag_unary(d, op, x) : dag_binary(d, op, x, y);
    CHECK(d->node[node].op == op);
    for (int k = 0; k < dag_ops[op].arity; k++) {
        point p = { { a, b }, { 0 }, { 1, 1, 1, 1 } };
        int part = diff_partial(d, node, k);
        double analytic = eval_node(d, part, &p);
        double h = 1e-6, x0 = p.input[k];
        p.input[k] = x0 + h;
        double fp = eval_node(d, node, &p);
        p.input[k] = x0 - h;
        double fm = eval_node(d, node, &p);
        double numeric = (fp - fm) / (2 * h);
        if (op == OP_NOGRAD) numeric = 0;   /* stop-gradient: zero by definition */
        double err = fabs(analytic - numeric) / fmax(1, fabs(numeric));
        checks++;
        if (!(err <= 1e-7)) {
            fprintf(stderr, "  d %s / d arg%d at (%g, %g): partial %.12g, numeric %.12g\n", dag_ops[op].name, k, a,
                    b, analytic, numeric);
            failures++;
        }
    }
    dag_free(d);
}

/* A meta-MLP call (2 inputs, 2 outputs) differentiated: each input's
 * adjoint is one mlp_vjp node of the call, whose seeds are the outputs'
 * adjoints in output order, summed over what the input lacks; the weights
 * get one mlp_grad node over the same seeds and pack. */
static void test_mlp_call(void)
{
    dag *d = dag_new();
    static const double shape[] = { 2, 2, 5, 2, 0, 2, 0, 0 };   /* 2-5 tanh-2 */
    int x = dag_input_node(d, dag_input_slot(d, "x", SP_PRE | SP_SAMPLE));
    int y = dag_input_node(d, dag_input_slot(d, "y", SP_POST));
    int xs[2] = { x, y }, mlp = dag_mlp_declare(d, shape, 8, 7), pack = dag_pack(d, xs, 2);
    CHECK(d->mlp[mlp].n_in == 2 && d->mlp[mlp].n_out == 2 && d->mlp[mlp].n_params == 27 && d->mlp[mlp].offset == 7);
    CHECK(dag_mlp_declare(d, shape, 8, 7) == mlp && dag_mlp_declare(d, shape, 8, 40) != mlp);
    int items[2];
    CHECK(dag_pack_items(d, pack, items, 2) == 2 && items[0] == x && items[1] == y);
    int o0 = dag_mlp_out(d, mlp, pack, 0), o1 = dag_mlp_out(d, mlp, pack, 1);
    CHECK(d->node[o0].space == (SP_SYN | SP_SAMPLE) && o0 != o1 && dag_mlp_out(d, mlp, pack, 1) == o1);
    int s0 = dag_input_node(d, dag_input_slot(d, "s0", SP_SYN | SP_SAMPLE));
    int s1 = dag_input_node(d, dag_input_slot(d, "s1", SP_SYN | SP_SAMPLE));
    int roots[2] = { o0, o1 }, seeds[2] = { s0, s1 }, n_before = d->n, *grads;
    int *adj = malloc((size_t)(n_before + 1) * sizeof *adj);
    int n_grads = diff_adjoint(d, roots, seeds, 2, adj, &grads);
    CHECK(n_grads == 1);
    if (n_grads == 1) {
        const dag_node *g = &d->node[grads[0]];
        int sp[2];
        CHECK(g->op == OP_MLP_GRAD && g->index == mlp && g->arg[1] == pack);
        CHECK(dag_pack_items(d, g->arg[0], sp, 2) == 2 && sp[0] == s0 && sp[1] == s1);
    }
    /* adj(y) = sum_pre sum_batch vjp(seeds, pack, 1); adj(x) = sum_post vjp(seeds, pack, 0) */
    if (n_grads == 1) {
        int seeds_pack = d->node[grads[0]].arg[0], n_after = d->n;
        int v0 = dag_mlp_vjp(d, mlp, seeds_pack, pack, 0), v1 = dag_mlp_vjp(d, mlp, seeds_pack, pack, 1);
        CHECK(v0 < n_after && v1 < n_after && v0 != v1 && adj[y] >= 0 && adj[x] >= 0);
        CHECK(d->node[adj[y]].space == SP_POST && d->node[adj[x]].space == (SP_PRE | SP_SAMPLE));
        CHECK(d->node[adj[x]].op == OP_SUM_POST && d->node[adj[x]].arg[0] == v0);
        CHECK(d->node[adj[y]].op == OP_SUM_PRE || d->node[adj[y]].op == OP_SUM_BATCH);
        char text[512];
        dag_format(d, adj[y], text, sizeof text);
        CHECK(strstr(text, "vjp_mlp0/dx1") && !strstr(text, "vjp_mlp0/dx0"));
    }
    free(adj);
    free(grads);
    dag_free(d);
}

static void test_partials(void)
{
    int tested[OP_COUNT] = { 0 };
    for (int op = 0; op < OP_COUNT; op++) {
        int leaf = op == OP_CONST || op == OP_INPUT || op == OP_PARAM || op == OP_SIZE;
        int red = op == OP_SUM_PRE || op == OP_SUM_POST || op == OP_SUM_BATCH || op == OP_MAX_POST || op == OP_KCAP;
        if (leaf || red || dag_ops[op].kind == OPK_MLPCALL) continue;   /* meta-MLP calls: test_mlp_call */
        for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
            double a = points[i][0], b = points[i][1];
            if (op == OP_POW) a = fabs(a);
            if (op == OP_SOFTPLUS) b = fabs(b) * 3;
            if (!in_domain((dag_op)op, a, b)) continue;
            check_partial((dag_op)op, a, b);
            tested[op]++;
        }
    }
    /* every operator of ops.def that is not a leaf or a reduction was checked */
    for (int op = 0; op < OP_COUNT; op++) {
        int leaf = op == OP_CONST || op == OP_INPUT || op == OP_PARAM || op == OP_SIZE;
        int red = op == OP_SUM_PRE || op == OP_SUM_POST || op == OP_SUM_BATCH || op == OP_MAX_POST || op == OP_KCAP;
        if (!leaf && !red && dag_ops[op].kind != OPK_MLPCALL && tested[op] < 2) {
            fprintf(stderr, "  operator %s was checked at %d points\n", dag_ops[op].name, tested[op]);
            failures++;
        }
    }
    /* the partials of leaves are zero */
    dag *d = dag_new();
    CHECK(is_const(d, diff_partial(d, dag_const(d, 2), 0), 0));
    CHECK(is_const(d, diff_partial(d, dag_param(d, 0), 0), 0));
    dag_free(d);
}

/* The reverse sweep on a composite scalar expression: every input's and
 * parameter's adjoint against central differences. */
static void test_adjoint(void)
{
    dag *d = dag_new();
    int x = dag_input_node(d, dag_input_slot(d, "x", SP_SCALAR));
    int y = dag_input_node(d, dag_input_slot(d, "y", SP_SCALAR));
    int t = dag_param(d, 0);
    d->n_meta = 1;
    /* f = softplus(x y, 1 + t^2) * tanh(x - t) / sqrt(1 + y^2) + max(x, y) * exp(-t y) + pow(1 + y^2, t) */
    int tt = dag_mul(d, t, t), yy = dag_mul(d, y, y), one = dag_const(d, 1);
    int sp = dag_binary(d, OP_SOFTPLUS, dag_mul(d, x, y), dag_add(d, one, tt));
    int f = dag_div(d, dag_mul(d, sp, dag_unary(d, OP_TANH, dag_sub(d, x, t))), dag_unary(d, OP_SQRT, dag_add(d, one, yy)));
    f = dag_add(d, f, dag_mul(d, dag_binary(d, OP_MAX, x, y), dag_unary(d, OP_EXP, dag_neg(d, dag_mul(d, t, y)))));
    f = dag_add(d, f, dag_binary(d, OP_POW, dag_add(d, one, yy), t));
    int seed = dag_input_node(d, dag_input_slot(d, "adj_f", SP_SCALAR));
    int n = d->n, adj[4096];
    { int *grads; diff_adjoint(d, &f, &seed, 1, adj, &grads); free(grads); }
    point p = { { 0.4, -0.7, 1.0 }, { 0.3 }, { 1, 1, 1, 1 } };
    struct { int node; double *v; const char *name; } wrt[] = {
        { x, &p.input[0], "x" }, { y, &p.input[1], "y" }, { t, &p.param[0], "t" } };
    for (size_t k = 0; k < sizeof wrt / sizeof *wrt; k++) {
        CHECK(adj[wrt[k].node] >= 0);
        if (adj[wrt[k].node] < 0) continue;
        double analytic = eval_node(d, adj[wrt[k].node], &p), h = 1e-6, v0 = *wrt[k].v;
        *wrt[k].v = v0 + h;
        double fp = eval_node(d, f, &p);
        *wrt[k].v = v0 - h;
        double fm = eval_node(d, f, &p);
        *wrt[k].v = v0;
        double numeric = (fp - fm) / (2 * h);
        checks++;
        if (!(fabs(analytic - numeric) <= 1e-7 * fmax(1, fabs(numeric)))) {
            fprintf(stderr, "  adjoint of %s: %.12g, numeric %.12g\n", wrt[k].name, analytic, numeric);
            failures++;
        }
    }
    CHECK(n <= d->n);
    dag_free(d);
}

int main(void)
{
    test_hash_consing();
    test_constant_folding();
    test_identities();
    test_spaces();
    test_partials();
    test_mlp_call();
    test_kcap();
    test_adjoint();
    printf("test_dag: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
