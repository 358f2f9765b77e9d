/* sema_rule — checking a rule block.
 *
 * Parameters are collected first (they may be declared anywhere in the block);
 * neuron definitions, lets and the dw assignment are then checked in order, so
 * a value must be defined before it is read.  Every expression node gets its
 * index space (sema.h) and a resolved reference; an erroneous node gets space
 * -1, which silences follow-on errors in its parents.
 */
#include "config.h"
#include "sema_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const sema_signal_names[SIG_COUNT] = { "y", "z", "e", "ztop", "zlat" };

typedef struct rctx {
    sema_program *p;
    sema_rule *r;
    int in_neuron;          /* checking a neuron definition: signals have no prefix */
    unsigned self_signals;  /* signals the current neuron definition reads */
    sema_read *self_reads;  /* and its reads at unrolled steps (y[2]) */
    int n_self_reads;
    int n_values;           /* neuron values visible so far */
    int n_lets;             /* lets visible so far */
    ast_stmt *body;         /* the rule's statements, for "used before its definition" */
    int saw_dw[DW_KINDS];   /* a dw statement of each kind was seen (even a wrong one) */
    int saw_assign;         /* any NAME = ...; (a misspelt dw is not also "missing") */
} rctx;

/* CLEARS: the index bits a reduction sums away; CONTEXT: allowed in a neuron
 * definition; NEEDS: what a body must read to depend on the index. */
static const struct { const char *name; int clears; int context; const char *index, *needs; } reductions[] = {
    [RED_SUM_PRE] = { "sum_pre", SP_PRE, 0, "the presynaptic neuron", "pre.y, pre.e, ... or w" },
    [RED_SUM_POST] = { "sum_post", SP_POST, 0, "the postsynaptic neuron", "post.y, post.e, ... or w" },
    [RED_SUM_SYN] = { "sum_syn", SP_SYN, 0, "the synapse", "a pre. or post. value or w" },
    [RED_MEAN_BATCH] = { "mean_batch", SP_SAMPLE, 1, "the sample", "a signal such as pre.y or post.e" },
    [RED_SUM_BATCH] = { "sum_batch", SP_SAMPLE, 1, "the sample", "a signal such as pre.y or post.e" },
};
enum { N_REDUCTIONS = sizeof reductions / sizeof reductions[0] };

static int check_expr(rctx *c, ast_expr *e);

/* ---- name lookup ---- */

static int find_param(const sema_rule *r, const char *name)
{
    for (int i = 0; i < r->n_params; i++)
        if (!strcmp(r->params[i].name, name)) return i;
    return -1;
}

static int find_value(const sema_rule *r, int visible, const char *name)
{
    for (int i = 0; i < visible; i++)
        if (!strcmp(r->values[i].name, name)) return i;
    return -1;
}

static int find_let(const sema_rule *r, int visible, const char *name)
{
    for (int i = 0; i < visible; i++)
        if (!strcmp(r->lets[i].name, name)) return i;
    return -1;
}

static int find_signal(const char *name)
{
    for (int i = 0; i < SIG_COUNT; i++)
        if (!strcmp(sema_signal_names[i], name)) return i;
    return -1;
}

static int find_size(const char *name)
{
    for (int i = 0; i < SIZE_COUNT; i++)
        if (!strcmp(space_size_name(i), name)) return i;
    return -1;
}

/* Every name a rule expression could mean, for "did you mean" hints. */
static const char *suggest(const rctx *c, const char *name, int fields_only)
{
    const char *cand[256];
    int n = 0;
    for (int i = 0; i < SIG_COUNT; i++) cand[n++] = sema_signal_names[i];
    for (int i = 0; i < c->n_values && n < 200; i++) cand[n++] = c->r->values[i].name;
    if (!fields_only) {
        cand[n++] = "w";
        for (int i = 0; i < SIZE_COUNT; i++) cand[n++] = space_size_name(i);
        for (int i = 0; i < c->r->n_params && n < 230; i++) cand[n++] = c->r->params[i].name;
        for (int i = 0; i < c->n_lets && n < 250; i++) cand[n++] = c->r->lets[i].name;
    }
    return sema_closest(name, cand, n);
}

static void error_unknown(const rctx *c, ast_expr *e, const char *what, const char *hint)
{
    if (hint) diag_error(e->span, "unknown %s '%s'; did you mean '%s'?", what, e->name, hint);
    else diag_error(e->span, "unknown %s '%s'", what, e->name);
}

/* Neuron-level spaces use SP_PRE for "this neuron"; read at the post end
 * that bit moves to SP_POST. */
static int at_side(int space, int side)
{
    if (side == SIDE_POST && (space & SP_PRE)) return (space & ~SP_PRE) | SP_POST;
    return space;
}

static void note_signals(rctx *c, int side, unsigned signals, src_span at, const char *via)
{
    unsigned *mask = side == SIDE_PRE ? &c->r->pre_signals : &c->r->post_signals;
    for (int s = 0; s < SIG_COUNT; s++) {
        if (!(signals & (1u << s)) || (*mask & (1u << s))) continue;
        *mask |= 1u << s;
        c->r->signal_use[side == SIDE_PRE ? 0 : 1][s] = at;
        c->r->signal_via[side == SIDE_PRE ? 0 : 1][s] = via;
    }
}

/* A let or neuron value defined later in the rule under NAME, for
 * "'x' is used before its definition" (instead of "unknown name"). */
static const ast_stmt *later_definition(const rctx *c, const char *name, src_span *at)
{
    for (const ast_stmt *s = c->body; s; s = s->next) {
        if (s->kind == ST_LET && !strcmp(s->name, name)) { *at = s->name_span; return s; }
        if (s->kind != ST_NEURON) continue;
        for (int i = 0; i < s->n_names; i++)
            if (!strcmp(s->names[i], name)) { *at = s->name_spans[i]; return s; }
    }
    return NULL;
}

static int error_used_early(const rctx *c, const ast_expr *e, const char *name)
{
    src_span def;
    const ast_stmt *s = later_definition(c, name, &def);
    if (!s) return 0;
    diag_error(e->span, "'%s' is used before its definition; expected it to be defined above this line", name);
    diag_note(def, "'%s' is defined here, by a %s", name, s->kind == ST_LET ? "let" : "neuron definition");
    return 1;
}

/* ---- names: y, w, theta, g, x, n_pre ---- */

static int check_name(rctx *c, ast_expr *e)
{
    int k;
    if ((k = find_signal(e->name)) >= 0) {
        if (!c->in_neuron) {
            diag_error(e->span, "signal '%s' needs an end of the synapse: write pre.%s or post.%s",
                       e->name, e->name, e->name);
            return -1;
        }
        e->ref_kind = REF_SIGNAL; e->ref = k; e->side = SIDE_SELF;
        c->self_signals |= 1u << k;
        return SP_PRE | SP_SAMPLE;
    }
    if (!strcmp(e->name, "w")) {
        if (c->in_neuron) {
            diag_error(e->span, "a neuron definition cannot read the weight 'w' (it belongs to a synapse); "
                       "expected the neuron's own y, z, e, ztop or zlat");
            return -1;
        }
        e->ref_kind = REF_WEIGHT;
        return SP_SYN;
    }
    if ((k = find_let(c->r, c->n_lets, e->name)) >= 0) {
        int space = c->r->lets[k].value->space;
        if (space < 0) return -1;   /* its definition was reported */
        if (c->in_neuron && space != SP_SCALAR) {
            diag_error(e->span, "let value '%s' is %s; a neuron definition can only use scalar lets",
                       e->name, space_name(space));
            return -1;
        }
        e->ref_kind = REF_LET; e->ref = k;
        return space;
    }
    if ((k = find_param(c->r, e->name)) >= 0) {
        if (c->r->params[k].invalid) return -1;
        if (c->r->params[k].size > 0) {
            diag_error(e->span, "parameter '%s' is an array of %d; index it, as in %s[0]",
                       e->name, c->r->params[k].size, e->name);
            return -1;
        }
        e->ref_kind = REF_PARAM; e->ref = k;
        return SP_SCALAR;
    }
    if ((k = find_value(c->r, c->n_values, e->name)) >= 0) {
        if (c->r->values[k].space < 0) return -1;
        if (!c->in_neuron) {
            diag_error(e->span, "neuron value '%s' must be read at one end of the synapse: pre.%s or post.%s",
                       e->name, e->name, e->name);
            return -1;
        }
        e->ref_kind = REF_NEURON; e->ref = k; e->side = SIDE_SELF;
        c->self_signals |= c->r->values[k].signals;
        return c->r->values[k].space;
    }
    if ((k = find_size(e->name)) >= 0) {
        if (c->in_neuron && k <= SIZE_N_POST) {
            diag_error(e->span, "'%s' is a size of the projection; a neuron definition has no projection", e->name);
            return -1;
        }
        e->ref_kind = REF_SIZE; e->ref = k;
        return SP_SCALAR;
    }
    if (error_used_early(c, e, e->name)) return -1;
    error_unknown(c, e, "name", suggest(c, e->name, 0));
    return -1;
}

/* ---- unrolled steps and neighbours: pre.y[2], pre[-1].y, y[2] ---- */

/* A constant integer: a number, possibly negated. */
static int const_int(const ast_expr *e, long *out);

enum { MAX_STEP = 100001, MAX_NB = 1 << 20 };

/* Appends (side, signal, step, nb) to LIST unless it is there already. */
static void add_read(sema_rule *r, sema_read **list, int *n, int side, int signal, int step, int nb, src_span at,
                     const char *via)
{
    (void)r;
    for (int i = 0; i < *n; i++) {
        const sema_read *q = &(*list)[i];
        if (q->side == side && q->signal == signal && q->step == step && q->nb == nb) return;
    }
    sema_read rd = { side, signal, step, nb, at, via };
    *SEMA_PUSH(*list, *n) = rd;
}

/* The reads of neuron value V read at SIDE of the neuron NB places away:
 * its plain signals (at the neighbour, when NB != 0) and its unrolled steps. */
static void note_value_reads(rctx *c, const sema_value *v, int side, int nb, src_span at)
{
    for (int s = 0; nb && s < SIG_COUNT; s++)
        if (v->signals & (1u << s)) add_read(c->r, &c->r->reads, &c->r->n_reads, side, s, 0, nb, at, v->name);
    for (int i = 0; i < v->n_reads; i++)
        add_read(c->r, &c->r->reads, &c->r->n_reads, side, v->reads[i].signal, v->reads[i].step, nb, at, v->name);
}

/* The step s of pre.y[s] (1 .. MAX_STEP) and the neighbour d of pre[d].y:
 * constant integers, filled into e->step and e->nb. */
static int check_field_indices(rctx *c, ast_expr *e)
{
    (void)c;
    long v;
    if (e->nb_ix) {
        if (!const_int(e->nb_ix, &v) || v < -MAX_NB || v > MAX_NB) {
            diag_error(e->nb_ix->span, "the neighbour of '%s[...].%s' must be a constant integer (the neuron d "
                       "places away, as in %s[-1].%s)", e->name, e->field, e->name, e->field);
            return -1;
        }
        e->nb = (int)v;
    }
    if (e->step_ix) {
        if (!const_int(e->step_ix, &v) || v < 1 || v > MAX_STEP) {
            diag_error(e->step_ix->span, "the step of '%s.%s[...]' must be a constant integer from 1 (x_1, the "
                       "first state of a recurrent layer), as in %s.%s[2]", e->name, e->field, e->name, e->field);
            return -1;
        }
        e->step = (int)v;
    }
    return 0;
}

/* y[2], z[3] inside a neuron definition: the neuron's own signal at an
 * unrolled step.  1 when E is one (checked, *SPACE set), 0 when it is not. */
static int check_own_step(rctx *c, ast_expr *e, int *space)
{
    int k = find_signal(e->name);
    if (k < 0) return 0;
    *space = -1;
    if (!c->in_neuron) {
        diag_error(e->span, "signal '%s' needs an end of the synapse: write pre.%s[...] or post.%s[...]", e->name,
                   e->name, e->name);
        return 1;
    }
    long v;
    if (k != SIG_Y && k != SIG_Z && k != SIG_E) {
        diag_error(e->span, "'%s' has no unrolled steps; only y, z and e are kept at each step of a recurrent layer",
                   e->name);
        return 1;
    }
    if (!const_int(e->rhs, &v) || v < 1 || v > MAX_STEP) {
        diag_error(e->rhs->span, "the step of '%s[...]' must be a constant integer from 1 (x_1, the first state "
                   "of a recurrent layer), as in %s[2]", e->name, e->name);
        return 1;
    }
    e->ref_kind = REF_SIGNAL; e->ref = k; e->side = SIDE_SELF; e->step = (int)v;
    c->self_signals |= 1u << k;
    add_read(c->r, &c->self_reads, &c->n_self_reads, SIDE_SELF, k, (int)v, 0, e->span, NULL);
    *space = SP_PRE | SP_SAMPLE;
    return 1;
}

/* ---- pre.y, post.g ---- */

static int check_field(rctx *c, ast_expr *e)
{
    int side = !strcmp(e->name, "pre") ? SIDE_PRE : !strcmp(e->name, "post") ? SIDE_POST : -1;
    if (side < 0) {
        diag_error(e->span, "unknown '%s.%s'; expected pre.%s or post.%s (a synapse's two ends)",
                   e->name, e->field, e->field, e->field);
        return -1;
    }
    if (c->in_neuron) {
        diag_error(e->span, "inside a neuron definition the neuron's own signals have no prefix: write '%s'",
                   e->field);
        return -1;
    }
    e->side = side;
    if (check_field_indices(c, e) < 0) return -1;
    int k = find_signal(e->field);
    if (k >= 0) {
        if (e->step && k != SIG_Y && k != SIG_Z && k != SIG_E) {
            diag_error(e->step_ix->span, "'%s.%s' has no unrolled steps; only y, z and e are kept at each step of a "
                       "recurrent layer (expected %s.y[s], %s.z[s] or %s.e[s])", e->name, e->field, e->name, e->name,
                       e->name);
            return -1;
        }
        e->ref_kind = REF_SIGNAL; e->ref = k;
        note_signals(c, side, 1u << k, e->span, NULL);
        if (e->step || e->nb) add_read(c->r, &c->r->reads, &c->r->n_reads, side, k, e->step, e->nb, e->span, NULL);
        return (side == SIDE_PRE ? SP_PRE : SP_POST) | SP_SAMPLE;
    }
    k = find_value(c->r, c->n_values, e->field);
    if (k >= 0) {
        if (c->r->values[k].space < 0) return -1;   /* its definition was reported */
        if (e->step) {
            diag_error(e->step_ix->span, "neuron value '%s' has no unrolled steps of its own; read the steps "
                       "inside its definition (y[2], z[3]) instead", e->field);
            return -1;
        }
        e->ref_kind = REF_NEURON; e->ref = k;
        note_signals(c, side, c->r->values[k].signals, e->span, c->r->values[k].name);
        note_value_reads(c, &c->r->values[k], side, e->nb, e->span);
        return at_side(c->r->values[k].space, side);
    }
    if (error_used_early(c, e, e->field)) return -1;
    const char *hint = suggest(c, e->field, 1);
    if (hint)
        diag_error(e->span, "unknown signal '%s.%s'; did you mean '%s.%s'?", e->name, e->field, e->name, hint);
    else if (!c->n_values)
        diag_error(e->span, "unknown signal '%s.%s'; a synapse sees .y .z .e (and .ztop .zlat in models "
                   "with top-down and lateral inputs) and the rule's neuron values", e->name, e->field);
    else {   /* name the neuron values defined so far */
        char names[128] = "";
        size_t used = 0;
        for (int i = 0; i < c->n_values && used < sizeof names; i++) {
            int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", c->r->values[i].name);
            if (n > 0) used += (size_t)n;
        }
        if (used >= sizeof names) strcpy(names + sizeof names - 4, "...");
        diag_error(e->span, "unknown signal '%s.%s'; a synapse sees .y .z .e (and .ztop .zlat in models "
                   "with top-down and lateral inputs) and the rule's neuron values (here: %s)",
                   e->name, e->field, names);
    }
    return -1;
}

/* A constant integer: a number, possibly negated. */
static int const_int(const ast_expr *e, long *out)
{
    int sign = 1;
    while (e->kind == EX_NEG) { sign = -sign; e = e->lhs; }
    if (e->kind != EX_NUM || e->num != floor(e->num) || fabs(e->num) > 1e9) return 0;
    *out = sign * (long)e->num;
    return 1;
}

static int check_index(rctx *c, ast_expr *e)
{
    int k = find_param(c->r, e->name), own;
    if (k < 0 && check_own_step(c, e, &own)) return own;
    if (k < 0) {
        if (find_signal(e->name) >= 0 || !strcmp(e->name, "w") || find_let(c->r, c->n_lets, e->name) >= 0)
            diag_error(e->name_span, "only array parameters can be indexed; '%s' is not one", e->name);
        else
            error_unknown(c, e, "parameter", suggest(c, e->name, 0));
        return -1;
    }
    const sema_param *prm = &c->r->params[k];
    if (prm->invalid) return -1;
    if (prm->size == 0) {
        diag_error(e->span, "parameter '%s' is a scalar, so it cannot be indexed; expected just '%s'",
                   e->name, e->name);
        return -1;
    }
    long i;
    if (!const_int(e->rhs, &i)) {
        diag_error(e->rhs->span, "the index of '%s' must be a constant integer, as in %s[0]", e->name, e->name);
        return -1;
    }
    if (i < 0 || i >= prm->size) {
        diag_error(e->rhs->span, "index %ld is out of range for '%s' (%d elements: 0 to %d)",
                   i, e->name, prm->size, prm->size - 1);
        return -1;
    }
    e->ref_kind = REF_PARAM_ELEM; e->ref = k; e->index = (int)i;
    return SP_SCALAR;
}

/* ---- calls: functions, reductions, meta-MLPs ---- */

static int check_args(rctx *c, ast_expr *e)
{
    int space = 0, bad = 0;
    for (int i = 0; i < e->n_args; i++) {
        int s = check_expr(c, e->args[i]);
        if (s < 0) bad = 1; else space |= s;
    }
    return bad ? -1 : space;
}

static int check_reduction(rctx *c, ast_expr *e, int k)
{
    if (e->n_args != 1) {
        diag_error(e->span, "%s takes one argument, %d given; expected %s(x)", reductions[k].name, e->n_args,
                   reductions[k].name);
        return -1;
    }
    if (c->in_neuron && !reductions[k].context) {
        diag_error(e->name_span, "%s sums over synapses; a neuron definition has none (only mean_batch and "
                   "sum_batch are allowed there)", reductions[k].name);
        return -1;
    }
    int body = check_expr(c, e->args[0]);
    if (body < 0) return -1;
    if (!(body & reductions[k].clears)) {
        diag_error(e->args[0]->span, "the body of %s does not depend on %s, so there is nothing to reduce; "
                   "expected a body that reads %s", reductions[k].name, reductions[k].index, reductions[k].needs);
        return -1;
    }
    e->ref_kind = REF_REDUCE; e->ref = k;
    return body & ~reductions[k].clears;
}

static int use_mlp(rctx *c, int m)
{
    sema_rule *r = c->r;
    for (int i = 0; i < r->n_mlps; i++)
        if (r->mlps[i] == m) return i;
    r->mlps = sema_grow(r->mlps, r->n_mlps, sizeof *r->mlps);
    r->mlp_offset = sema_grow(r->mlp_offset, r->n_mlps, sizeof *r->mlp_offset);
    r->mlps[r->n_mlps] = m;
    r->mlp_offset[r->n_mlps] = -1;   /* laid out after the params, in check_rule */
    return r->n_mlps++;
}

static int check_mlp_call(rctx *c, ast_expr *e, int m, int outputs_wanted)
{
    const sema_mlp *net = c->p->mlps[m];
    int space = check_args(c, e);
    if (net->n_in == 0 || net->n_out == 0) return -1;   /* the mlp's own error was reported */
    if (e->n_args != net->n_in) {
        diag_error(e->span, "mlp '%s' takes %d input%s (in %d), but %d %s given", net->name, net->n_in,
                   net->n_in == 1 ? "" : "s", net->n_in, e->n_args, e->n_args == 1 ? "was" : "were");
        diag_note(net->span, "'%s' is declared here", net->name);
        return -1;
    }
    if (net->n_out != outputs_wanted) {
        if (outputs_wanted == 1)
            diag_error(e->span, "mlp '%s' returns %d outputs; bind them with neuron (a, b, ...) = %s(...)",
                       net->name, net->n_out, net->name);
        else
            diag_error(e->span, "mlp '%s' returns %d output%s, but %d names are bound", net->name,
                       net->n_out, net->n_out == 1 ? "" : "s", outputs_wanted);
        diag_note(net->span, "'%s' is declared here", net->name);
        return -1;
    }
    if (space < 0) return -1;
    e->ref_kind = REF_MLP; e->ref = use_mlp(c, m);
    return space;
}

/* A rule function: an operator of ops.def with a call form. */
static int check_function(rctx *c, ast_expr *e, dag_op op)
{
    const dag_opinfo *f = &dag_ops[op];
    int min_args = f->arity - f->optional;
    if (e->n_args < min_args || e->n_args > f->arity) {
        if (min_args == f->arity)
            diag_error(e->span, "%s takes %d argument%s, %d given; expected %s", e->name, f->arity,
                       f->arity == 1 ? "" : "s", e->n_args, f->call);
        else
            diag_error(e->span, "%s takes %d or %d arguments, %d given; expected %s", e->name, min_args, f->arity,
                       e->n_args, f->call);
        return -1;
    }
    e->ref_kind = REF_FUNC; e->ref = op;
    return check_args(c, e);
}

static int check_call(rctx *c, ast_expr *e)
{
    for (int op = 0; op < OP_COUNT; op++)
        if (dag_ops[op].call && !strcmp(dag_ops[op].name, e->name)) return check_function(c, e, (dag_op)op);
    for (int k = 0; k < N_REDUCTIONS; k++)
        if (!strcmp(reductions[k].name, e->name)) return check_reduction(c, e, k);
    int m = sema_find_mlp(c->p, e->name);
    if (m >= 0) return check_mlp_call(c, e, m, 1);
    if (!strcmp(e->name, "kcap")) {
        diag_error(e->name_span, "kcap is a model activation (dense N kcap(k)), not a rule function");
        return -1;
    }
    const char *cand[OP_COUNT + N_REDUCTIONS + 64];
    int n = 0;
    for (int op = 0; op < OP_COUNT; op++) if (dag_ops[op].call) cand[n++] = dag_ops[op].name;
    for (int k = 0; k < N_REDUCTIONS; k++) cand[n++] = reductions[k].name;
    for (int k = 0; k < c->p->n_mlps && k < 64; k++) cand[n++] = c->p->mlps[k]->name;
    const char *hint = sema_closest(e->name, cand, n);
    if (hint) diag_error(e->name_span, "unknown function '%s'; did you mean '%s'?", e->name, hint);
    else diag_error(e->name_span, "unknown function '%s'", e->name);
    return -1;
}

static int check_expr(rctx *c, ast_expr *e)
{
    int s = -1, a, b;
    switch (e->kind) {
    case EX_NUM:
        e->ref_kind = REF_NUM;
        s = SP_SCALAR;
        break;
    case EX_NAME: s = check_name(c, e); break;
    case EX_FIELD: s = check_field(c, e); break;
    case EX_INDEX: s = check_index(c, e); break;
    case EX_CALL: s = check_call(c, e); break;
    case EX_NEG: s = check_expr(c, e->lhs); break;
    case EX_BIN:
        a = check_expr(c, e->lhs);
        b = check_expr(c, e->rhs);
        s = a < 0 || b < 0 ? -1 : a | b;
        break;
    }
    e->space = s;
    return s;
}

/* ---- declarations inside the rule ---- */

static const struct { const char *name, *meaning; } reserved[] = {
    { "w", "the weight" }, { "pre", "an end of the synapse" }, { "post", "an end of the synapse" },
    { "y", "a signal" }, { "z", "a signal" }, { "e", "a signal" }, { "ztop", "a signal" }, { "zlat", "a signal" },
    { "n_pre", "a size" }, { "n_post", "a size" }, { "batch", "a size" }, { "steps", "a size" },
    { "dw", "the rule's output" } };

/* A new name must not shadow a signal, a size or another definition. */
static int check_new_name(rctx *c, const char *name, src_span at)
{
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
        if (!strcmp(reserved[i].name, name)) {
            diag_error(at, "'%s' is reserved in rules (%s); expected another name", name, reserved[i].meaning);
            return -1;
        }
    }
    src_span prev = span_none;
    int k;
    if ((k = find_param(c->r, name)) >= 0) prev = c->r->params[k].span;
    else if ((k = find_value(c->r, c->r->n_values, name)) >= 0)
        prev = c->r->neurons[c->r->values[k].neuron].stmt->span;
    else if ((k = find_let(c->r, c->r->n_lets, name)) >= 0) prev = c->r->lets[k].span;
    else return 0;
    diag_error(at, "'%s' is already defined in rule '%s'", name, c->r->name);
    diag_note(prev, "previous definition of '%s' is here", name);
    return -1;
}

/* Folds a constant initialiser: numbers, unary minus, + - * / ^. */
static int fold_const(const ast_expr *e, double *out)
{
    double a, b;
    switch (e->kind) {
    case EX_NUM: *out = e->num; return 1;
    case EX_NEG: if (!fold_const(e->lhs, &a)) return 0; *out = -a; return 1;
    case EX_BIN:
        if (!fold_const(e->lhs, &a) || !fold_const(e->rhs, &b)) return 0;
        switch (e->op) {
        case '+': *out = a + b; break;
        case '-': *out = a - b; break;
        case '*': *out = a * b; break;
        case '/': *out = a / b; break;
        default: *out = pow(a, b); break;
        }
        return isfinite(*out);
    default: return 0;
    }
}

/* range(lo, hi): two numbers, lo below hi. */
static int check_range(sema_param *prm, const ast_item *a)
{
    double lo, hi;
    if (a->n_args != 2) {
        diag_error(a->span, "range takes two bounds, %d given; expected range(lo, hi)", a->n_args);
        return -1;
    }
    if (sema_item_num(a->args[0], "the range's lower bound", &lo) < 0 ||
        sema_item_num(a->args[1], "the range's upper bound", &hi) < 0)
        return -1;
    if (!(lo < hi)) {
        diag_error(a->span, "empty range: %g is not below %g; expected range(lo, hi) with lo < hi", lo, hi);
        return -1;
    }
    prm->lo = lo;
    prm->hi = hi;
    return 0;
}

/* Attributes: l1, fixed, range(lo, hi) (the parser admits no others). */
static int check_param_attrs(sema_param *prm, ast_stmt *s)
{
    int bad = 0;
    for (int i = 0; i < s->n_attrs; i++) {
        ast_item *a = s->attrs[i];
        if (a->kind == IT_WORD && !strcmp(a->text, "l1")) prm->l1 = 1;
        else if (a->kind == IT_WORD && !strcmp(a->text, "fixed")) prm->fixed = 1;
        else if (a->kind == IT_CALL && !strcmp(a->text, "range")) bad |= check_range(prm, a) < 0;
        else {
            diag_error(a->span, "unknown parameter attribute; expected 'l1', 'fixed' or 'range(lo, hi)'");
            bad = 1;
        }
    }
    if (prm->l1 && prm->fixed) {
        diag_error(s->span, "parameter '%s' is both 'fixed' and 'l1'; a fixed parameter is not trained, "
                   "so expected one of them", prm->name);
        bad = 1;
    }
    return bad ? -1 : 0;
}

static int param_size(ast_stmt *s, int *size)
{
    long n;
    *size = 0;
    if (!s->size) return 0;
    if (!const_int(s->size, &n) || n < 1 || n > 1000000) {
        diag_error(s->size->span, "the size of '%s' must be an integer from 1 to 1000000", s->name);
        return -1;
    }
    *size = (int)n;
    return 0;
}

static void check_param(rctx *c, ast_stmt *s)
{
    if (check_new_name(c, s->name, s->name_span) < 0) return;
    sema_param prm;
    memset(&prm, 0, sizeof prm);
    prm.name = s->name;
    prm.span = s->span;
    prm.lo = -INFINITY;
    prm.hi = INFINITY;
    int bad_size = param_size(s, &prm.size) < 0;
    if (!bad_size && c->p->n_param_elements + (prm.size ? prm.size : 1) > SEMA_MAX_PARAM_ELEMENTS) {
        diag_error(s->size ? s->size->span : s->name_span, "the program declares more than %d parameter "
                   "elements; expected fewer", SEMA_MAX_PARAM_ELEMENTS);
        bad_size = 1;
    }
    if (bad_size) {
        prm.size = 0;
        prm.invalid = 1;   /* declared all the same: its uses are not "unknown" */
        prm.init = calloc(1, sizeof *prm.init);
        *SEMA_PUSH(c->r->params, c->r->n_params) = prm;
        return;
    }
    int count = prm.size ? prm.size : 1;
    c->p->n_param_elements += count;
    /* A bad initialiser still declares the parameter (as zeros), so its uses
     * do not report a second, misleading "unknown parameter". */
    prm.init = calloc((size_t)count, sizeof *prm.init);
    if (s->init_is_list && !prm.size) {
        diag_error(s->init_span, "'%s' is a scalar but is initialised with a list; declare it as %s[%d]",
                   s->name, s->name, s->n_init);
    } else if (s->init_is_list && s->n_init != prm.size) {
        diag_error(s->init_span, "the initial list of '%s' has %d value%s; expected %d, one per element",
                   s->name, s->n_init, s->n_init == 1 ? "" : "s", prm.size);
    } else {   /* a list gives each element, a single value all of them */
        for (int i = 0; i < (s->init_is_list ? count : 1); i++) {
            const ast_expr *v = s->init[i];
            if (!fold_const(v, &prm.init[i])) {
                diag_error(v->span, "the initial value of '%s' must be a finite constant; expected a number "
                           "or arithmetic on numbers", s->name);
                break;
            }
        }
        for (int i = 1; !s->init_is_list && i < count; i++) prm.init[i] = prm.init[0];
    }
    check_param_attrs(&prm, s);
    *SEMA_PUSH(c->r->params, c->r->n_params) = prm;
}

/* neuron g = e;  neuron (a, b, ...) = net(...);
 * A definition with an error still declares its names (with space -1), so
 * that reading pre.g later does not report a second, misleading error. */
static void check_neuron(rctx *c, ast_stmt *s)
{
    char *ok = calloc((size_t)s->n_names, 1);
    int bad = 0;
    for (int i = 0; i < s->n_names; i++) {
        int twice = 0;
        for (int j = 0; j < i && !twice; j++) twice = !strcmp(s->names[i], s->names[j]);
        if (twice)
            diag_error(s->name_spans[i], "'%s' is bound twice in this neuron definition; expected distinct names",
                       s->names[i]);
        ok[i] = !twice && check_new_name(c, s->names[i], s->name_spans[i]) == 0;
        if (!ok[i]) bad = 1;
    }
    c->in_neuron = 1;
    c->self_signals = 0;
    c->self_reads = NULL;
    c->n_self_reads = 0;
    int space;
    if (s->n_names > 1 || (s->value->kind == EX_CALL && sema_find_mlp(c->p, s->value->name) >= 0)) {
        int m = s->value->kind == EX_CALL ? sema_find_mlp(c->p, s->value->name) : -1;
        if (m < 0) {
            diag_error(s->value->span, "%d neuron values need a meta-MLP call with %d outputs on the right",
                       s->n_names, s->n_names);
            space = -1;
        } else {
            space = check_mlp_call(c, s->value, m, s->n_names);
        }
        s->value->space = space;
    } else {
        space = check_expr(c, s->value);
    }
    c->in_neuron = 0;
    if (bad || space < 0) space = -1;
    sema_neuron n = { s, s->n_names, c->r->n_values };
    *SEMA_PUSH(c->r->neurons, c->r->n_neurons) = n;
    for (int i = 0; i < s->n_names; i++) {
        if (!ok[i]) continue;
        sema_value v = { s->names[i], c->r->n_neurons - 1, i, space, c->self_signals, NULL, 0 };
        for (int k = 0; k < c->n_self_reads; k++)
            *SEMA_PUSH(v.reads, v.n_reads) = c->self_reads[k];
        *SEMA_PUSH(c->r->values, c->r->n_values) = v;
    }
    free(c->self_reads);
    c->self_reads = NULL;
    free(ok);
    c->n_values = c->r->n_values;
}

/* let x = e;  (a failed definition is kept, with space -1, like a neuron's) */
static void check_let(rctx *c, ast_stmt *s)
{
    if (check_new_name(c, s->name, s->name_span) < 0) return;
    check_expr(c, s->value);
    sema_let l = { s->name, s->value, s->span };
    *SEMA_PUSH(c->r->lets, c->r->n_lets) = l;
    c->n_lets = c->r->n_lets;
}

/* 'topdown' or 'lateral' in "dw KIND = ...;" (no word: forward), or -1. */
static int dw_kind(const ast_stmt *s)
{
    if (!s->qual) return DW_FORWARD;
    for (int k = DW_TOPDOWN; k < DW_KINDS; k++)
        if (!strcmp(s->qual, sema_dw_kind_names[k])) return k;
    const char *hint = sema_closest(s->qual, sema_dw_kind_names + DW_TOPDOWN, DW_KINDS - DW_TOPDOWN);
    diag_error(s->qual_span, "unknown projection kind '%s'%s%s%s; expected 'dw = ...;' (forward projections), "
               "'dw topdown = ...;' or 'dw lateral = ...;'", s->qual, hint ? " (did you mean '" : "",
               hint ? hint : "", hint ? "'?)" : "");
    return -1;
}

/* dw = e;  dw topdown = e;  dw lateral = e; */
static void check_assign(rctx *c, ast_stmt *s)
{
    c->saw_assign = 1;
    if (strcmp(s->name, "dw")) {
        diag_error(s->name_span, "cannot assign '%s': a rule assigns only 'dw' (expected 'dw = ...;', or "
                   "'let %s = ...;' for a helper value)", s->name, s->name);
        return;
    }
    int k = dw_kind(s);
    if (k < 0) return;
    const char *what = k == DW_FORWARD ? "dw" : k == DW_TOPDOWN ? "dw topdown" : "dw lateral";
    if (c->saw_dw[k]++) {
        diag_error(s->name_span, "rule '%s' assigns '%s' twice; expected one '%s = ...;' (add the terms)",
                   c->r->name, what, what);
        diag_note(c->r->dw_span_of[k], "first assignment is here");
        return;
    }
    c->r->dw_span_of[k] = s->span;
    if (check_expr(c, s->value) < 0) { c->r->dw_of[k] = NULL; return; }
    c->r->dw_of[k] = s->value;
}

/* Meta-parameters in one flat vector: the params in declaration order, then
 * each called mlp's weights and biases in first-use order. */
static void layout_meta(sema_program *p, sema_rule *r)
{
    long long off = 0;   /* params are bounded by SEMA_MAX_META/10, each mlp by SEMA_MAX_META */
    for (int i = 0; i < r->n_params; i++) {
        r->params[i].offset = (int)off;
        off += r->params[i].size ? r->params[i].size : 1;
    }
    for (int i = 0; i < r->n_mlps; i++) {
        r->mlp_offset[i] = (int)(off < SEMA_MAX_META ? off : SEMA_MAX_META);
        off += p->mlps[r->mlps[i]]->n_weights;
    }
    if (off > SEMA_MAX_META) {
        diag_error(r->span, "rule '%s' has %lld meta-parameters (its params and mlp weights); expected at most %d",
                   r->name, off, SEMA_MAX_META);
        off = SEMA_MAX_META;
    }
    r->n_meta = (int)off;
}

sema_rule *sema_check_rule(sema_program *p, ast_decl *d)
{
    sema_rule *r = calloc(1, sizeof *r);
    r->name = d->name;
    r->span = d->span;
    r->decl = d;
    rctx c = { p, r, 0, 0, NULL, 0, 0, 0, d->body, { 0 }, 0 };
    for (ast_stmt *s = d->body; s; s = s->next)
        if (s->kind == ST_PARAM) check_param(&c, s);
    for (ast_stmt *s = d->body; s; s = s->next) {
        if (s->kind == ST_NEURON) check_neuron(&c, s);
        else if (s->kind == ST_LET) check_let(&c, s);
        else if (s->kind == ST_ASSIGN) check_assign(&c, s);
    }
    if (!c.saw_assign)
        diag_error(d->name_span, "rule '%s' has no 'dw = ...;' statement", d->name);
    layout_meta(p, r);
    return r;
}
