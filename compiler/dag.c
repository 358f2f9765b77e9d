/* dag — interning, folding and printing of DAG nodes (see dag.h). */
#include "config.h"
#include "dag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n) { fputs("plastcc: out of memory\n", stderr); abort(); }
    return q;
}

dag *dag_new(void)
{
    dag *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->table_cap = 1024;
    d->table = xrealloc(NULL, (size_t)d->table_cap * sizeof *d->table);
    memset(d->table, -1, (size_t)d->table_cap * sizeof *d->table);
    return d;
}

void dag_free(dag *d)
{
    if (!d) return;
    for (int i = 0; i < d->n_meta; i++) free(d->meta_name ? d->meta_name[i] : NULL);
    free(d->meta_name);
    free(d->meta_fixed);
    free(d->node);
    free(d->table);
    free(d->input);
    for (int m = 0; m < d->n_mlp; m++) free(d->mlp[m].shape);
    free(d->mlp);
    free(d);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t hash_node(const dag_node *n)
{
    uint64_t bits;
    memcpy(&bits, &n->value, sizeof bits);
    uint64_t h = mix(n->op, n->space);
    h = mix(h, (uint64_t)(uint16_t)n->aux);
    h = mix(h, (uint64_t)(uint32_t)n->index);
    h = mix(h, (uint64_t)(uint32_t)n->arg[0]);
    h = mix(h, (uint64_t)(uint32_t)n->arg[1]);
    return mix(h, bits) * 0xff51afd7ed558ccdull;
}

static int same_node(const dag_node *a, const dag_node *b)
{
    return a->op == b->op && a->space == b->space && a->aux == b->aux && a->index == b->index &&
           a->arg[0] == b->arg[0] && a->arg[1] == b->arg[1] &&
           memcmp(&a->value, &b->value, sizeof a->value) == 0;
}

static void rehash(dag *d)
{
    d->table_cap *= 2;
    d->table = xrealloc(d->table, (size_t)d->table_cap * sizeof *d->table);
    memset(d->table, -1, (size_t)d->table_cap * sizeof *d->table);
    for (int id = 0; id < d->n; id++) {
        size_t m = (size_t)d->table_cap - 1, h = hash_node(&d->node[id]) & m;
        while (d->table[h] >= 0) h = (h + 1) & m;
        d->table[h] = id;
    }
}

/* Returns the id of node N, adding it if it is new. */
static int intern(dag *d, dag_node n)
{
    if (2 * (d->n + 1) > d->table_cap) rehash(d);
    size_t m = (size_t)d->table_cap - 1, h = hash_node(&n) & m;
    while (d->table[h] >= 0) {
        if (same_node(&d->node[d->table[h]], &n)) return d->table[h];
        h = (h + 1) & m;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->node = xrealloc(d->node, (size_t)d->cap * sizeof *d->node);
    }
    d->node[d->n] = n;
    d->table[h] = d->n;
    return d->n++;
}

static dag_node blank(dag_op op, int space)
{
    dag_node n;
    memset(&n, 0, sizeof n);
    n.op = (uint8_t)op;
    n.space = (uint8_t)space;
    n.arg[0] = n.arg[1] = -1;
    return n;
}

int dag_const(dag *d, double v)
{
    dag_node n = blank(OP_CONST, SP_SCALAR);
    n.value = v == 0 ? 0.0 : v;   /* one zero: -0.0 and 0.0 intern alike */
    return intern(d, n);
}

int dag_input_slot(dag *d, const char *name, int space)
{
    for (int i = 0; i < d->n_input; i++)
        if (!strcmp(d->input[i].name, name)) return i;
    d->input = xrealloc(d->input, (size_t)(d->n_input + 1) * sizeof *d->input);
    snprintf(d->input[d->n_input].name, sizeof d->input[0].name, "%s", name);
    d->input[d->n_input].space = space;
    return d->n_input++;
}

int dag_input_node(dag *d, int slot)
{
    dag_node n = blank(OP_INPUT, d->input[slot].space);
    n.aux = (int16_t)slot;
    return intern(d, n);
}

int dag_param(dag *d, int meta_index)
{
    dag_node n = blank(OP_PARAM, SP_SCALAR);
    n.index = meta_index;
    return intern(d, n);
}

int dag_size(dag *d, int which)
{
    dag_node n = blank(OP_SIZE, SP_SCALAR);
    n.aux = (int16_t)which;
    return intern(d, n);
}

int dag_is_const(const dag *d, int id, double v)
{
    return d->node[id].op == OP_CONST && d->node[id].value == v;
}

/* The constant argument of a product A, or -1. */
static int const_factor(const dag *d, int a, int *rest)
{
    const dag_node *x = &d->node[a];
    if (x->op != OP_MUL) return -1;
    for (int k = 0; k < 2; k++)
        if (d->node[x->arg[k]].op == OP_CONST) { *rest = x->arg[1 - k]; return x->arg[k]; }
    return -1;
}

int dag_unary(dag *d, dag_op op, int a)
{
    const dag_node *x = &d->node[a];
    if (x->op == OP_CONST && op != OP_NOGRAD) {
        double v = dag_op_fold(op, x->value, 0);
        if (isfinite(v)) return dag_const(d, v);
    }
    if (op == OP_NEG && x->op == OP_NEG) return x->arg[0];
    /* -(c * y) = (-c) * y: the sign folds into the constant */
    int rest, c = op == OP_NEG ? const_factor(d, a, &rest) : -1;
    if (c >= 0) {
        double v = -d->node[c].value;
        return dag_mul(d, dag_const(d, v), rest);
    }
    if (op == OP_NOGRAD && x->op == OP_CONST) return a;
    dag_node n = blank(op, x->space);
    n.arg[0] = a;
    return intern(d, n);
}

/* S * X for a size S (at least 1 when a kernel runs) where X is Y / S or
 * Y * (1 / S): Y, so the mean over a batch and the sum of its broadcast
 * adjoint cancel.  -1 when X has neither form. */
static int cancel_size(const dag *d, int s, int x)
{
    const dag_node *n = &d->node[x];
    if (d->node[s].op != OP_SIZE) return -1;
    if (n->op == OP_DIV && n->arg[1] == s) return n->arg[0];
    if (n->op != OP_MUL) return -1;
    for (int k = 0; k < 2; k++) {
        const dag_node *r = &d->node[n->arg[k]];
        if (r->op == OP_DIV && r->arg[1] == s && dag_is_const(d, r->arg[0], 1)) return n->arg[1 - k];
    }
    return -1;
}

static int commutative(dag_op op)
{
    return op == OP_ADD || op == OP_MUL || op == OP_MIN || op == OP_MAX;
}

int dag_binary(dag *d, dag_op op, int a, int b)
{
    const dag_node *x = &d->node[a], *y = &d->node[b];
    if (x->op == OP_CONST && y->op == OP_CONST) {
        double v = dag_op_fold(op, x->value, y->value);
        if (isfinite(v)) return dag_const(d, v);
    }
    switch (op) {
    case OP_ADD:
        if (dag_is_const(d, a, 0)) return b;
        if (dag_is_const(d, b, 0)) return a;
        if (y->op == OP_NEG) return dag_sub(d, a, y->arg[0]);
        if (x->op == OP_NEG) return dag_sub(d, b, x->arg[0]);
        break;
    case OP_SUB:
        if (dag_is_const(d, b, 0)) return a;
        if (dag_is_const(d, a, 0)) return dag_neg(d, b);
        if (a == b) return dag_const(d, 0);
        if (y->op == OP_NEG) return dag_add(d, a, y->arg[0]);
        break;
    case OP_MUL:
        if (dag_is_const(d, a, 0) || dag_is_const(d, b, 0)) return dag_const(d, 0);
        if (dag_is_const(d, a, 1)) return b;
        if (dag_is_const(d, b, 1)) return a;
        if (dag_is_const(d, a, -1)) return dag_neg(d, b);
        if (dag_is_const(d, b, -1)) return dag_neg(d, a);
        if (x->op == OP_NEG) return dag_neg(d, dag_mul(d, x->arg[0], b));
        if (y->op == OP_NEG) return dag_neg(d, dag_mul(d, a, y->arg[0]));
        {
            int r = cancel_size(d, a, b);
            if (r < 0) r = cancel_size(d, b, a);
            if (r >= 0) return r;
            /* c1 * (c2 * z) = (c1 c2) * z */
            int z, c = x->op == OP_CONST ? a : y->op == OP_CONST ? b : -1;
            int c2 = c < 0 ? -1 : const_factor(d, c == a ? b : a, &z);
            double v = c2 < 0 ? 0 : d->node[c].value * d->node[c2].value;
            if (c2 >= 0 && isfinite(v)) return dag_mul(d, dag_const(d, v), z);
        }
        break;
    case OP_DIV:
        if (dag_is_const(d, b, 1)) return a;
        if (dag_is_const(d, a, 0)) return dag_const(d, 0);
        if (x->op == OP_NEG) return dag_neg(d, dag_div(d, x->arg[0], b));
        break;
    default:
        break;
    }
    if (commutative(op) && a > b) { int t = a; a = b; b = t; }
    dag_node n = blank(op, d->node[a].space | d->node[b].space);
    n.arg[0] = a;
    n.arg[1] = b;
    return intern(d, n);
}

int dag_add(dag *d, int a, int b) { return dag_binary(d, OP_ADD, a, b); }
int dag_sub(dag *d, int a, int b) { return dag_binary(d, OP_SUB, a, b); }
int dag_mul(dag *d, int a, int b) { return dag_binary(d, OP_MUL, a, b); }
int dag_div(dag *d, int a, int b) { return dag_binary(d, OP_DIV, a, b); }
int dag_neg(dag *d, int a) { return dag_unary(d, OP_NEG, a); }

int dag_reduce(dag *d, dag_op op, int a)
{
    int bit = dag_ops[op].reduces;
    const dag_node *x = &d->node[a];
    if (!(x->space & bit)) {
        if (op == OP_MAX_POST) return a;
        int which = op == OP_SUM_PRE ? SIZE_N_PRE : op == OP_SUM_POST ? SIZE_N_POST : SIZE_BATCH;
        return dag_mul(d, a, dag_size(d, which));
    }
    if (x->op == OP_NEG && op != OP_MAX_POST) return dag_neg(d, dag_reduce(d, op, x->arg[0]));
    /* sum(c * x) = c * sum(x) when c does not vary with the summed index:
     * keeps scalar factors (the meta-parameters) outside the loops. */
    if (x->op == OP_MUL && op != OP_MAX_POST) {
        int p = x->arg[0], q = x->arg[1];
        if (!(d->node[p].space & bit)) return dag_mul(d, p, dag_reduce(d, op, q));
        if (!(d->node[q].space & bit)) return dag_mul(d, q, dag_reduce(d, op, p));
    }
    dag_node n = blank(op, x->space & ~bit);
    n.arg[0] = a;
    return intern(d, n);
}

int dag_reduce_to(dag *d, int a, int space)
{
    int extra = d->node[a].space & ~space;
    if (extra & SP_SAMPLE) a = dag_reduce(d, OP_SUM_BATCH, a);
    if (extra & SP_POST) a = dag_reduce(d, OP_SUM_POST, a);
    if (extra & SP_PRE) a = dag_reduce(d, OP_SUM_PRE, a);
    return a;
}

int dag_kcap(dag *d, int a, int k)
{
    int space = d->node[a].space;
    if (!(space & SP_POST) || (space & SP_PRE) || k < 1) {
        fputs("plastcc: internal error: kcap of a value that is not a row over post\n", stderr);
        abort();
    }
    dag_node n = blank(OP_KCAP, space);
    n.index = k;
    n.arg[0] = a;
    return intern(d, n);
}

int dag_mlp_declare(dag *d, const double *shape, int n_shape, int offset)
{
    for (int m = 0; m < d->n_mlp; m++)
        if (d->mlp[m].offset == offset && d->mlp[m].n_shape == n_shape &&
            !memcmp(d->mlp[m].shape, shape, (size_t)n_shape * sizeof *shape))
            return m;
    d->mlp = xrealloc(d->mlp, (size_t)(d->n_mlp + 1) * sizeof *d->mlp);
    dag_mlp *m = &d->mlp[d->n_mlp];
    m->shape = xrealloc(NULL, (size_t)n_shape * sizeof *shape);
    memcpy(m->shape, shape, (size_t)n_shape * sizeof *shape);
    m->n_shape = n_shape;
    m->offset = offset;
    m->n_in = (int)shape[0];
    m->n_params = 0;
    int width = m->n_in;
    for (int l = 0; l < (int)shape[1]; l++) {
        int w = (int)shape[2 + 3 * l];
        m->n_params += w * width + w;
        width = w;
    }
    m->n_out = width;
    return d->n_mlp++;
}

int dag_pack(dag *d, const int *xs, int n)
{
    int rest = -1;
    for (int q = n - 1; q >= 0; q--) {
        dag_node p = blank(OP_PACK, d->node[xs[q]].space | (rest >= 0 ? d->node[rest].space : 0));
        p.arg[0] = xs[q];
        p.arg[1] = rest;
        rest = intern(d, p);
    }
    return rest;
}

int dag_pack_items(const dag *d, int pack, int *out, int max)
{
    int n = 0;
    for (int p = pack; p >= 0; p = d->node[p].arg[1]) {
        if (n < max) out[n] = d->node[p].arg[0];
        n++;
    }
    return n;
}

static int mlp_node(dag *d, dag_op op, int mlp, int a, int b, int k, double m)
{
    dag_node n = blank(op, d->node[a].space | (b >= 0 ? d->node[b].space : 0));
    n.index = mlp;
    n.aux = (int16_t)k;
    n.value = m;
    n.arg[0] = a;
    n.arg[1] = b;
    return intern(d, n);
}

int dag_mlp_out(dag *d, int mlp, int pack, int k) { return mlp_node(d, OP_MLP_OUT, mlp, pack, -1, k, 0); }
int dag_mlp_vjp(dag *d, int mlp, int seeds, int pack, int m) { return mlp_node(d, OP_MLP_VJP, mlp, seeds, pack, 0, m); }
int dag_mlp_grad(dag *d, int mlp, int seeds, int pack) { return mlp_node(d, OP_MLP_GRAD, mlp, seeds, pack, 0, 0); }

/* Node ID of FROM, a meta-MLP call or pack, rebuilt in TO. */
static int copy_mlp_node(dag *to, const dag *from, const dag_node *n, const int *map)
{
    int a = map[n->arg[0]], b = n->arg[1] >= 0 ? map[n->arg[1]] : -1;
    if (n->op == OP_PACK) {
        dag_node p = blank(OP_PACK, to->node[a].space | (b >= 0 ? to->node[b].space : 0));
        p.arg[0] = a;
        p.arg[1] = b;
        return intern(to, p);
    }
    const dag_mlp *m = &from->mlp[n->index];
    int mlp = dag_mlp_declare(to, m->shape, m->n_shape, m->offset);
    return mlp_node(to, (dag_op)n->op, mlp, a, b, n->aux, n->value);
}

int dag_copy_node(dag *to, const dag *from, int id, const int *map)
{
    const dag_node *n = &from->node[id];
    switch (dag_ops[n->op].kind) {
    case OPK_MLPCALL: return copy_mlp_node(to, from, n, map);
    case OPK_LEAF:
        if (n->op == OP_CONST) return dag_const(to, n->value);
        if (n->op == OP_PARAM) return dag_param(to, n->index);
        if (n->op == OP_SIZE) return dag_size(to, n->aux);
        return dag_input_node(to, dag_input_slot(to, from->input[n->aux].name, from->input[n->aux].space));
    case OPK_REDUCE: return dag_reduce(to, (dag_op)n->op, map[n->arg[0]]);
    case OPK_ROW: return dag_kcap(to, map[n->arg[0]], n->index);
    default:
        if (dag_ops[n->op].arity == 1) return dag_unary(to, (dag_op)n->op, map[n->arg[0]]);
        return dag_binary(to, (dag_op)n->op, map[n->arg[0]], map[n->arg[1]]);
    }
}

/* ---- printing ---- */

static void format_rec(const dag *d, int id, char *buf, size_t len, int depth)
{
    const dag_node *n = &d->node[id];
    size_t used = strlen(buf);
    if (used + 16 >= len) return;
    char *p = buf + used;
    size_t left = len - used;
    if (depth > 6 && n->op != OP_CONST && n->op != OP_INPUT && n->op != OP_PARAM) {
        snprintf(p, left, "%%%d", id);
        return;
    }
    switch (n->op) {
    case OP_CONST: snprintf(p, left, "%.17g", n->value); return;
    case OP_INPUT: snprintf(p, left, "%s", d->input[n->aux].name); return;
    case OP_PARAM:
        snprintf(p, left, "%s", d->meta_name && d->meta_name[n->index] ? d->meta_name[n->index] : "meta");
        return;
    case OP_SIZE: snprintf(p, left, "%s", space_size_name(n->aux)); return;
    default: break;
    }
    const char *sym = n->op == OP_ADD ? " + " : n->op == OP_SUB ? " - " : n->op == OP_MUL ? " * "
                    : n->op == OP_DIV ? " / " : NULL;
    if (sym) {
        snprintf(p, left, "(");
        format_rec(d, n->arg[0], buf, len, depth + 1);
        strncat(buf, sym, len - strlen(buf) - 1);
        format_rec(d, n->arg[1], buf, len, depth + 1);
        strncat(buf, ")", len - strlen(buf) - 1);
        return;
    }
    if (n->op == OP_KCAP) snprintf(p, left, "kcap%d(", (int)n->index);
    else if (n->op == OP_MLP_OUT) snprintf(p, left, "mlp%d[%d](", (int)n->index, (int)n->aux);
    else if (n->op == OP_MLP_VJP) snprintf(p, left, "vjp_mlp%d/dx%d(", (int)n->index, (int)n->value);
    else snprintf(p, left, "%s(", n->op == OP_NEG ? "-" : dag_ops[n->op].name);
    for (int k = 0; k < dag_ops[n->op].arity && n->arg[k] >= 0; k++) {
        if (k) strncat(buf, ", ", len - strlen(buf) - 1);
        format_rec(d, n->arg[k], buf, len, depth + 1);
    }
    strncat(buf, ")", len - strlen(buf) - 1);
}

void dag_format(const dag *d, int id, char *buf, size_t len)
{
    buf[0] = '\0';
    format_rec(d, id, buf, len, 0);
}

void dag_dump(FILE *out, const dag *d, const int *roots, const char *const *root_names, int n_roots)
{
    char *live = calloc((size_t)d->n + 1, 1);
    for (int r = 0; r < n_roots; r++) if (roots[r] >= 0) live[roots[r]] = 1;
    for (int id = d->n - 1; id >= 0; id--) {
        if (!live[id]) continue;
        for (int k = 0; k < 2; k++) if (d->node[id].arg[k] >= 0) live[d->node[id].arg[k]] = 1;
    }
    for (int id = 0; id < d->n; id++) {
        if (!live[id]) continue;
        const dag_node *n = &d->node[id];
        char text[96];
        switch (n->op) {
        case OP_CONST: snprintf(text, sizeof text, "const %.17g", n->value); break;
        case OP_INPUT: snprintf(text, sizeof text, "input %s", d->input[n->aux].name); break;
        case OP_PARAM:
            snprintf(text, sizeof text, "param %s", d->meta_name ? d->meta_name[n->index] : "?");
            break;
        case OP_SIZE: snprintf(text, sizeof text, "size %s", space_size_name(n->aux)); break;
        case OP_KCAP: snprintf(text, sizeof text, "kcap %%%d k=%d", n->arg[0], (int)n->index); break;
        case OP_PACK: snprintf(text, sizeof text, "pack %%%d %%%d", n->arg[0], n->arg[1]); break;
        case OP_MLP_OUT: snprintf(text, sizeof text, "mlp_out%d %%%d out=%d", n->index, n->arg[0], n->aux); break;
        case OP_MLP_VJP:
            snprintf(text, sizeof text, "mlp_vjp%d %%%d %%%d in=%d", n->index, n->arg[0], n->arg[1], (int)n->value);
            break;
        case OP_MLP_GRAD: snprintf(text, sizeof text, "mlp_grad%d %%%d %%%d", n->index, n->arg[0], n->arg[1]); break;
        default:
            if (dag_ops[n->op].arity == 2)
                snprintf(text, sizeof text, "%s %%%d %%%d", dag_ops[n->op].name, n->arg[0], n->arg[1]);
            else
                snprintf(text, sizeof text, "%s %%%d", dag_ops[n->op].name, n->arg[0]);
        }
        fprintf(out, "%%%-4d = %-34s : %s\n", id, text, space_name(n->space));
    }
    for (int r = 0; r < n_roots; r++)
        fprintf(out, "%s = %%%d\n", root_names[r], roots[r]);
    free(live);
}
