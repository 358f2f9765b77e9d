/* schedule — an experiment's inner step as kernel calls (schedule.h). */
#include "config.h"
#include "schedule.h"
#include "build.h"
#include "plast.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- building blocks ---- */

static int add_buf(sched_plan *P, const char *name, int kind, long rows, long cols)
{
    if (P->n_buf == P->cap_buf) {
        P->cap_buf = P->cap_buf ? 2 * P->cap_buf : 32;
        P->buf = realloc(P->buf, (size_t)P->cap_buf * sizeof *P->buf);
    }
    sched_buf *b = &P->buf[P->n_buf];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->kind = kind;
    b->rows = rows;
    b->cols = cols;
    return P->n_buf++;
}

/* A per-sample signal (or data) buffer of COLS values. */
static int add_signal(sched_plan *P, int kind, long cols, const char *fmt, ...)
{
    char name[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return add_buf(P, name, kind, 1, cols);
}

/* A ROWS x COLS matrix drawn as the model's `init` says (fan-in COLS). */
static int add_matrix(sched_plan *P, const sema_model *m, const char *name, int kind, long rows, long cols, int stream)
{
    int b = add_buf(P, name, kind, rows, cols);
    sched_buf *B = &P->buf[b];
    static const int inits[] = { [INIT_XAVIER] = PLAST_INIT_XAVIER, [INIT_NORMAL] = PLAST_INIT_NORMAL,
                                 [INIT_UNIFORM] = PLAST_INIT_UNIFORM, [INIT_LECUN] = PLAST_INIT_LECUN };
    B->init = inits[m->init];
    B->init_arg = m->init_arg;
    B->fan_in = cols;
    B->fan_out = rows;
    B->stream = stream;
    return b;
}

static sched_call *add_call(sched_plan *P, int eval, const char *fwd, const char *adj, long n_pre, long n_post)
{
    sched_call **list = eval ? &P->eval : &P->step;
    int *n = eval ? &P->n_eval : &P->n_step, *cap = eval ? &P->cap_eval : &P->cap_step;
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 32;
        *list = realloc(*list, (size_t)*cap * sizeof **list);
    }
    sched_call *c = &(*list)[(*n)++];
    memset(c, 0, sizeof *c);
    snprintf(c->fwd, sizeof c->fwd, "%s", fwd);
    snprintf(c->adj, sizeof c->adj, "%s", adj);
    c->n_pre = n_pre;
    c->n_post = n_post;
    c->update = -1;
    c->fuses = -1;
    return c;
}

static void bind(sched_call *c, const char *arg, int buf)
{
    if (buf < 0 || c->n_bind == SCHED_MAX_BIND) return;
    snprintf(c->bind[c->n_bind].arg, sizeof c->bind[0].arg, "%.47s", arg);
    c->bind[c->n_bind].buf = buf;
    c->bind[c->n_bind++].next = 0;
}

static void bind_next(sched_call *c, const char *arg, int buf)
{
    bind(c, arg, buf);
    if (c->n_bind) c->bind[c->n_bind - 1].next = 1;
}

/* The kernel names NAME_fwd and NAME_adj of a model kernel. */
static sched_call *model_call(sched_plan *P, int eval, const sema_model *m, const char *what, int layer, long n_pre,
                              long n_post)
{
    char base[64], fwd[SCHED_NAME], adj[SCHED_NAME];
    if (layer > 0) snprintf(base, sizeof base, "%s_%s%d", m->name, what, layer);
    else snprintf(base, sizeof base, "%s_%s", m->name, what);
    snprintf(fwd, sizeof fwd, "%s_fwd", base);
    snprintf(adj, sizeof adj, "%s_adj", base);
    return add_call(P, eval, fwd, adj, n_pre, n_post);
}

/* ---- the feed-forward network ---- */

/* The buffers of a layered model: neuron l's signals sig[l] (l = 0: the
 * input, whose y and z are x itself), W_l and the feedback matrices.  A
 * recurrent layer l also has Wrec_l and its states x_s, s = 1..T+1, in
 * sy[l][s] and sz[l][s] (x_{T+1} is the layer's y[l]); states[l] = T + 1
 * (0 for any other layer). */
typedef struct ff_bufs {
    int y[65], z[65], e[65];
    int W[64], B[64], Wrec[64], Brec[64], bias[64];
    int n[65];
    int states[65];
    int *sy[65], *sz[65], *se[65];
    int dense_call[65];           /* the step's call of dense_l (a layer that is not recurrent) */
} ff_bufs;

static void unroll_buffers(sched_plan *P, const sema_model *m, ff_bufs *F, int l);
static void unroll_feedback_matrix(sched_plan *P, const sema_model *m, ff_bufs *F, int l);
static void unroll_errors(sched_plan *P, const sema_model *m, ff_bufs *F, int l);

/* The biases of the layers that have one: learner parameters, zero at
 * first (they draw nothing from the random streams).  (A recurrent layer
 * has none: the parser takes no `bias` there.) */
static void ff_biases(sched_plan *P, const sema_model *m, ff_bufs *F)
{
    for (int l = 1; l <= m->n_layers; l++) {
        F->bias[l - 1] = -1;
        if (!m->layers[l - 1].bias) continue;
        char name[32];
        snprintf(name, sizeof name, "bias%d", l);
        F->bias[l - 1] = add_buf(P, name, PLAST_BUF_PARAM, 1, F->n[l]);
        P->buf[F->bias[l - 1]].init = PLAST_INIT_ZERO;
    }
}

/* FEEDBACK: the buffers of the feedback pathway (B_l, e_0..e_{L-1}). */
static void ff_buffers(sched_plan *P, const sema_model *m, ff_bufs *F, int feedback)
{
    int L = m->n_layers;
    F->n[0] = m->n_input;
    for (int l = 1; l <= L; l++) F->n[l] = m->layers[l - 1].size;
    for (int l = 1; l <= L; l++) {
        char name[32];
        snprintf(name, sizeof name, "W%d", l);
        F->W[l - 1] = P->w_buf[l - 1] = add_matrix(P, m, name, PLAST_BUF_STATE, F->n[l], F->n[l - 1], PLAST_STREAM_W);
        F->Wrec[l - 1] = -1;
        if (m->layers[l - 1].kind != LAYER_RECURRENT) continue;
        snprintf(name, sizeof name, "Wrec%d", l);
        F->Wrec[l - 1] = add_matrix(P, m, name, PLAST_BUF_STATE, F->n[l], F->n[l], PLAST_STREAM_W);
    }
    ff_biases(P, m, F);
    for (int l = 1; l <= L; l++) {
        F->B[l - 1] = P->fb_buf[l - 1] = -1;
        if (!feedback || (m->feedback != FB_RANDOM && m->feedback != FB_DIRECT)) continue;
        char name[32];
        snprintf(name, sizeof name, "B%d", l);
        long post = m->feedback == FB_DIRECT ? F->n[L] : F->n[l];
        F->B[l - 1] = P->fb_buf[l - 1] = add_matrix(P, m, name, PLAST_BUF_CONST, post, F->n[l - 1], PLAST_STREAM_B);
        unroll_feedback_matrix(P, m, F, l);
    }
    P->x = add_signal(P, PLAST_BUF_DATA, F->n[0], "x");
    P->target = m->loss == LOSS_MSE_INPUT ? -1 : add_signal(P, PLAST_BUF_DATA, F->n[L], "target");
    P->mask = add_signal(P, PLAST_BUF_DATA, 1, "mask");
    F->y[0] = F->z[0] = P->x;
    for (int l = 1; l <= L; l++) {
        unroll_buffers(P, m, F, l);
        F->z[l] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "z%d", l);
        F->y[l] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "y%d", l);
        if (F->states[l]) { F->sz[l][F->states[l]] = F->z[l]; F->sy[l][F->states[l]] = F->y[l]; }
    }
    /* e_L (dLoss/dz_L) always; below it only with a feedback pathway */
    for (int l = 0; l <= L; l++) {
        if (feedback) unroll_errors(P, m, F, l);
        F->e[l] = l == L || (feedback && m->feedback != FB_NONE) ? add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "e%d", l) : -1;
        if (F->se[l]) F->se[l][F->states[l]] = F->e[l];
    }
    P->loss = add_signal(P, PLAST_BUF_SIGNAL, 1, "loss");
    P->output = m->loss == LOSS_MSE_INPUT ? -1 : F->z[L];
    P->n_layers = L;
}

static void unroll_forward(sched_plan *P, int eval, const sema_model *m, const ff_bufs *F, int l);

/* z, y = dense_l(W_l or, with NEXT, its updated version, y_{l-1}, b_l). */
static void ff_dense(sched_plan *P, int eval, const sema_model *m, const ff_bufs *F, int l, int next, int z, int y)
{
    sched_call *c = model_call(P, eval, m, "dense", l, F->n[l - 1], F->n[l]);
    if (!eval) ((ff_bufs *)F)->dense_call[l] = (int)(c - P->step);
    if (next) bind_next(c, "w", F->W[l - 1]);
    else bind(c, "w", F->W[l - 1]);
    bind(c, "pre_y", F->y[l - 1]);
    bind(c, "bias", F->bias[l - 1]);
    bind(c, "post_z", z);
    bind(c, "post_y", y);
}

/* e_L and the per-sample loss from z_L, y_L. */
static void ff_loss(sched_plan *P, int eval, const sema_model *m, const ff_bufs *F)
{
    int L = m->n_layers;
    sched_call *c = model_call(P, eval, m, "loss", 0, F->n[L - 1], F->n[L]);
    bind(c, "post_z", F->z[L]);
    bind(c, "post_y", F->y[L]);
    bind(c, "target", m->loss == LOSS_MSE_INPUT ? P->x : P->target);
    bind(c, "mask", P->mask);
    bind(c, "post_e", F->e[L]);
    bind(c, "loss", P->loss);
}

/* z_l, y_l = dense_l(W_l, y_{l-1}), l = 1..L (a recurrent layer through its
 * steps); then e_L and the loss. */
static void ff_forward(sched_plan *P, int eval, const sema_model *m, const ff_bufs *F)
{
    for (int l = 1; l <= m->n_layers; l++) {
        if (F->states[l]) unroll_forward(P, eval, m, F, l);
        else ff_dense(P, eval, m, F, l, 0, F->z[l], F->y[l]);
    }
    ff_loss(P, eval, m, F);
}

static void unroll_back(sched_plan *P, const sema_model *m, const ff_bufs *F, int l);

/* e_{l-1} from e_l (or e_L, direct feedback) through W_l or B_l, l = L..1
 * (from e at x_1 of a recurrent layer, after its steps). */
static void ff_errors(sched_plan *P, const sema_model *m, const ff_bufs *F)
{
    int L = m->n_layers;
    for (int l = L; m->feedback != FB_NONE && l >= 1; l--) {
        int src = m->feedback == FB_DIRECT ? L : l;
        if (F->states[l]) unroll_back(P, m, F, l);
        sched_call *c = model_call(P, 0, m, "error", l, F->n[l - 1], F->n[src]);
        bind(c, "b", m->feedback == FB_SYMMETRIC ? F->W[l - 1] : F->B[l - 1]);
        bind(c, "post_e", F->states[src] ? F->se[src][1] : F->e[src]);
        bind(c, "pre_z", F->z[l - 1]);
        bind(c, "pre_y", F->y[l - 1]);
        bind(c, "pre_e", F->e[l - 1]);
    }
}

/* An end of a projection as its rule sees it: layer K, and the state S of a
 * recurrent layer its plain signals are (0: the layer's y, z, e). */
typedef struct proj_end { int k, s; } proj_end;

/* The ends of W_l (REC 0) or Wrec_l (1), l = 1..L: the signals of the
 * projection's own transmission (for W_l of a recurrent layer, x_1; for
 * Wrec_l, x_T -> x_{T+1}). */
static void proj_ends(const ff_bufs *F, int l, int rec, proj_end *pre, proj_end *post)
{
    if (rec) {
        *pre = (proj_end){ l, F->states[l] - 1 };
        *post = (proj_end){ l, F->states[l] };
        return;
    }
    *pre = (proj_end){ l - 1, 0 };
    *post = (proj_end){ l, F->states[l] ? 1 : 0 };
}

static int end_signal(const ff_bufs *F, proj_end e, int signal, int step)
{
    int s = step ? step : e.s;
    if (signal == SIG_Y) return s ? F->sy[e.k][s] : F->y[e.k];
    if (signal == SIG_Z) return s ? F->sz[e.k][s] : F->z[e.k];
    if (signal == SIG_E) return s && F->se[e.k] ? F->se[e.k][s] : F->e[e.k];
    return -1;
}

static int read_buffer(sched_plan *P, const ff_bufs *F, proj_end e, const sema_read *rd);

/* The signals a rule reads at one end of its projection (-1: none). */
typedef struct ends { int y, z, e; } ends;

/* W' = W + dw by rule R for the N_POST x N_PRE matrix W, from the signals
 * at the two ends; the caller binds the rule's other reads, then w_next. */
static sched_call *rule_update(sched_plan *P, const sema_rule *r, int w, long n_pre, long n_post, ends pre, ends post)
{
    char fwd[SCHED_NAME], adj[SCHED_NAME];
    snprintf(fwd, sizeof fwd, "%s_step", r->name);
    int from_input = r == P->adj_input && (pre.y == P->x || pre.z == P->x);
    snprintf(adj, sizeof adj, "%s_adj%s", r->name, from_input ? "_input" : "");
    sched_call *c = add_call(P, 0, fwd, adj, n_pre, n_post);
    snprintf(c->dw, sizeof c->dw, "%s_fwd", r->name);
    c->rule = r;
    c->update = w;
    bind(c, "w", w);
    bind(c, "pre_y", pre.y);
    bind(c, "pre_z", pre.z);
    bind(c, "pre_e", pre.e);
    bind(c, "post_y", post.y);
    bind(c, "post_z", post.z);
    bind(c, "post_e", post.e);
    return c;
}

static ends end_signals(const sema_model *m, const ff_bufs *F, proj_end e)
{
    int fb = m->feedback != FB_NONE;
    return (ends){ end_signal(F, e, SIG_Y, 0), end_signal(F, e, SIG_Z, 0), fb ? end_signal(F, e, SIG_E, 0) : -1 };
}

/* The update call of one projection, W_l (REC 0) or Wrec_l (1): W' = W + dw
 * by rule R, from the pre-update weights and the step's signals, with the
 * slots of the rule's unrolled and neighbour reads bound. */
static void ff_update(sched_plan *P, const sema_model *m, const sema_rule *r, const ff_bufs *F, int l, int rec)
{
    proj_end pre, post;
    proj_ends(F, l, rec, &pre, &post);
    int w = rec ? F->Wrec[l - 1] : F->W[l - 1];
    sched_call *c = rule_update(P, r, w, F->n[pre.k], F->n[post.k], end_signals(m, F, pre), end_signals(m, F, post));
    for (int i = 0; i < r->n_reads; i++) {
        char slot[48];
        const sema_read *rd = &r->reads[i];
        build_read_name(slot, sizeof slot, rd->side, rd->signal, rd->step, rd->nb);
        bind(c, slot, read_buffer(P, F, rd->side == SIDE_PRE ? pre : post, rd));
    }
    bind_next(c, "w_next", w);
}

/* The update of W_l also runs the next step's dense_l over W_l's new
 * version (RULE_step_M_denseL, build_rule_step_dense): it reads the next
 * step's y_{l-1} and writes its z_l and y_l (signals bound in their next
 * version), so the runtime need not run that dense call at the next step. */
static void fuse_dense(sched_plan *P, const sema_model *m, const sema_rule *r, const ff_bufs *F, int l)
{
    sched_call *c = &P->step[P->n_step - 1];
    snprintf(c->fused, sizeof c->fused, "%s_step_%s_dense%d", r->name, m->name, l);
    c->fuses = F->dense_call[l];
    bind_next(c, "pre_y_next", F->y[l - 1]);
    bind(c, "bias", F->bias[l - 1]);
    bind_next(c, "post_z_next", F->z[l]);
    bind_next(c, "post_y_next", F->y[l]);
}

/* The updates of every projection, l = L..1 (Wrec_l before W_l); with
 * FUSE (sched_fuses_dense), l = 1..L, each with the next step's dense_l,
 * which needs the next step's y_{l-1} first. */
static void ff_updates(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                       const ff_bufs *F, int fuse)
{
    for (int l = 1; fuse && l <= m->n_layers; l++) {
        const sema_rule *r = p->rules[x->rule_of_projection[l - 1]];
        ff_update(P, m, r, F, l, 0);
        fuse_dense(P, m, r, F, l);
    }
    for (int l = m->n_layers; !fuse && l >= 1; l--) {
        if (F->Wrec[l - 1] >= 0) ff_update(P, m, p->rules[x->rule_of_recurrent[l - 1]], F, l, 1);
        ff_update(P, m, p->rules[x->rule_of_projection[l - 1]], F, l, 0);
    }
}

/* ---- top-down and lateral projections (Gu et al.), meta-MLP values ----
 *
 * A model with `topdown;` has Wtop_l (l = 0..L-1, [n_l][n_{l+1}]): it
 * gives layer l the input ztop_l = Wtop_l c_{l+1}, where c is what the model
 * carries (`topdown VALUE;`): a neuron value that the rule on W_{l+1}
 * computes for layer l+1 (delta by default), or a signal y, z or e of that
 * layer.  The top layer's ztop_L is e_L = dLoss/dz_L (the masked loss
 * gradient: zero for unlabelled samples).  A model with `lateral;` has
 * Wlat_l (l = 0..L, [n_l][n_l]): zlat_l = Wlat_l y_l.  Layer 0 is the input
 * (y_0 = z_0 = x).  A projection with a rule is a STATE buffer updated every
 * step; one without stays at its initial value (CONST).
 *
 * A rule's values of meta-MLPs are computed once per layer it touches, by its
 * neurons kernel (RULE_neurons, into signals a1, b1, ...), and its dw
 * kernels read them (pre_a, post_b); so this schedule also runs models
 * without top-down or lateral projections whose rules have such values.
 *
 *   step:  dense_l (1..L), loss, [error_l (L..1)], lateral zlat_l (0..L),
 *          from the top, for l = L..0: the values of layer l, then
 *          ztop_{l-1} = Wtop_{l-1} c_l;
 *          updates layer by layer from the top: for l = L..0,
 *          Wlat_l, Wtop_l, W_l
 *   eval:  dense_l (1..L), loss
 * Every update reads the weights and signals of the step before any update,
 * so their order changes no value; top-down is the order the paper states. */
typedef struct tl_bufs {
    int Wtop[64], Wlat[65];       /* -1: none */
    int ztop[65], zlat[65];       /* signals per layer 0..L (ztop_L is e_L) */
    int carried[65];              /* c_l, l = 1..L: a neuron value's buffer, or a signal's */
    int *value;                   /* [rule][value][layer]: a meta-MLP value's signal, or -1 */
    int n_values, n_layers;       /* strides of VALUE (the most values of a rule; L + 1) */
} tl_bufs;

static int *value_slot(const tl_bufs *T, int rule, int v, int l)
{
    return &T->value[((size_t)rule * (size_t)T->n_values + (size_t)v) * (size_t)T->n_layers + (size_t)l];
}

/* Projection P's buffer: STATE with a rule, CONST (fixed) without. */
static int tl_matrix(sched_plan *P, const sema_model *m, const sema_experiment *x, int proj, long rows, long cols)
{
    char name[32];
    sema_projection_name(m, proj, name, sizeof name);
    int kind = x->rule_of_projection[proj] >= 0 ? PLAST_BUF_STATE : PLAST_BUF_CONST;
    return add_matrix(P, m, name, kind, rows, cols, PLAST_STREAM_W);
}

static int find_buf(const sched_plan *P, const char *name)
{
    for (int b = 0; b < P->n_buf; b++) if (!strcmp(P->buf[b].name, name)) return b;
    return -1;
}

/* The signals "a1", "b1", ... of the meta-MLP values of every rule at every
 * layer its projections touch ("RULE.a1" when two rules share a name). */
static void tl_value_buffers(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                             const ff_bufs *F, tl_bufs *T)
{
    T->n_layers = m->n_layers + 1;
    T->n_values = 1;
    for (int r = 0; r < p->n_rules; r++) if (p->rules[r]->n_values > T->n_values) T->n_values = p->rules[r]->n_values;
    size_t n = (size_t)p->n_rules * (size_t)T->n_values * (size_t)T->n_layers;
    T->value = malloc((n ? n : 1) * sizeof *T->value);
    for (size_t k = 0; k < n; k++) T->value[k] = -1;
    for (int q = 0; q < sema_projection_count(m); q++) {
        int r = x->rule_of_projection[q], kind, layer, post, pre;
        if (r < 0) continue;
        sema_projection(m, q, &kind, &layer, &post, &pre);
        const sema_rule *R = p->rules[r];
        for (int v = 0; v < R->n_values; v++)
            for (int end = 0; end < 2 && build_value_is_mlp(R, v); end++) {
                int l = end ? post : pre, *slot = value_slot(T, r, v, l);
                if (*slot >= 0) continue;
                char name[32];
                snprintf(name, sizeof name, "%s%d", R->values[v].name, l);
                if (find_buf(P, name) >= 0) snprintf(name, sizeof name, "%s.%s%d", R->name, R->values[v].name, l);
                *slot = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "%s", name);
            }
    }
}

/* The carried value's buffer at layer l: the signal it is, the meta-MLP
 * value of the rule on W_l, or a signal of its own (RULE_neuron_VALUE). */
static int tl_carried(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                      const ff_bufs *F, const tl_bufs *T, int l)
{
    if (m->carried_signal >= 0)
        return m->carried_signal == SIG_Y ? F->y[l] : m->carried_signal == SIG_Z ? F->z[l] : F->e[l];
    int r = x->rule_of_projection[l - 1];
    const sema_rule *R = p->rules[r];
    for (int v = 0; v < R->n_values; v++)
        if (!strcmp(R->values[v].name, m->carried) && build_value_is_mlp(R, v)) return *value_slot(T, r, v, l);
    return add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "%s%d", m->carried, l);
}

static void tl_buffers(sched_plan *P, const sema_program *p, const sema_model *m, const sema_experiment *x,
                       const ff_bufs *F, tl_bufs *T)
{
    int L = m->n_layers, q = L;
    for (int l = 0; l <= 64; l++) {
        if (l < 64) T->Wtop[l] = -1;
        T->Wlat[l] = T->ztop[l] = T->zlat[l] = T->carried[l] = -1;
    }
    for (int l = 0; m->topdown && l < L; l++) T->Wtop[l] = tl_matrix(P, m, x, q++, F->n[l], F->n[l + 1]);
    for (int l = 0; m->lateral && l <= L; l++) T->Wlat[l] = tl_matrix(P, m, x, q++, F->n[l], F->n[l]);
    for (int l = 0; m->topdown && l <= L; l++)
        T->ztop[l] = l == L ? F->e[L] : add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "ztop%d", l);
    for (int l = 0; m->lateral && l <= L; l++) T->zlat[l] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "zlat%d", l);
    tl_value_buffers(P, p, x, m, F, T);
    for (int l = 1; m->topdown && l <= L; l++) T->carried[l] = tl_carried(P, p, x, m, F, T, l);
}

/* Binds PREFIX_y, PREFIX_z, ... of a call to layer l's signals (those it
 * has), and with rule R, PREFIX_a, ... to R's meta-MLP values there. */
static void bind_layer(sched_call *c, const char *prefix, int l, const ff_bufs *F, const tl_bufs *T,
                       const sema_program *p, int r)
{
    static const char *const sig[] = { "y", "z", "e", "ztop", "zlat" };
    const int buf[] = { F->y[l], F->z[l], F->e[l], T->ztop[l], T->zlat[l] };
    char arg[300];
    for (int k = 0; k < 5; k++) {
        snprintf(arg, sizeof arg, "%s%s%s", prefix, prefix[0] ? "_" : "", sig[k]);
        bind(c, arg, buf[k]);
    }
    for (int v = 0; r >= 0 && prefix[0] && v < p->rules[r]->n_values; v++) {
        snprintf(arg, sizeof arg, "%s_%s", prefix, p->rules[r]->values[v].name);
        bind(c, arg, *value_slot(T, r, v, l));
    }
}

/* post_z = W pre_y: M_linear of projection W into SIGNAL. */
static void tl_linear(sched_plan *P, const sema_model *m, int W, int pre_y, int signal, long n_pre, long n_post)
{
    sched_call *c = model_call(P, 0, m, "linear", 0, n_pre, n_post);
    bind(c, "w", W);
    bind(c, "pre_y", pre_y);
    bind(c, "post_z", signal);
}

/* RULE_neurons at layer l: every meta-MLP value of rule R there (when a
 * projection of R touches the layer). */
static void tl_neurons(sched_plan *P, const sema_program *p, const ff_bufs *F, const tl_bufs *T, int r, int l)
{
    const sema_rule *R = p->rules[r];
    int any = 0;
    for (int v = 0; v < R->n_values; v++) any |= *value_slot(T, r, v, l) >= 0;
    if (!any) return;
    char fwd[SCHED_NAME], adj[SCHED_NAME];
    snprintf(fwd, sizeof fwd, "%s_neurons_fwd", R->name);
    snprintf(adj, sizeof adj, "%s_neurons_adj", R->name);
    sched_call *c = add_call(P, 0, fwd, adj, F->n[l], 1);
    c->rule = R;
    bind_layer(c, "", l, F, T, p, -1);
    for (int v = 0; v < R->n_values; v++) bind(c, R->values[v].name, *value_slot(T, r, v, l));
}

/* RULE_neuron_VALUE at layer l, for a carried value that is no meta-MLP's. */
static void tl_carried_value(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                             const ff_bufs *F, const tl_bufs *T, int l)
{
    const sema_rule *R = p->rules[x->rule_of_projection[l - 1]];
    for (int v = 0; v < R->n_values; v++)
        if (!strcmp(R->values[v].name, m->carried) && build_value_is_mlp(R, v)) return;   /* RULE_neurons has it */
    char fwd[SCHED_NAME], adj[SCHED_NAME];
    snprintf(fwd, sizeof fwd, "%s_neuron_%s_fwd", R->name, m->carried);
    snprintf(adj, sizeof adj, "%s_neuron_%s_adj", R->name, m->carried);
    sched_call *c = add_call(P, 0, fwd, adj, F->n[l], 1);
    c->rule = R;
    bind_layer(c, "", l, F, T, p, -1);
    bind(c, m->carried, T->carried[l]);
}

/* zlat_l = Wlat_l y_l (l = 0..L); then from the top, layer l's values, and
 * c_l and ztop_{l-1} = Wtop_{l-1} c_l (l = L..0). */
static void tl_signals(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                       const ff_bufs *F, const tl_bufs *T)
{
    int L = m->n_layers;
    for (int l = 0; m->lateral && l <= L; l++) tl_linear(P, m, T->Wlat[l], F->y[l], T->zlat[l], F->n[l], F->n[l]);
    for (int l = L; l >= 0; l--) {
        for (int r = 0; r < p->n_rules; r++) tl_neurons(P, p, F, T, r, l);
        if (!m->topdown || l == 0) continue;
        if (m->carried_signal < 0) tl_carried_value(P, p, x, m, F, T, l);
        tl_linear(P, m, T->Wtop[l - 1], T->carried[l], T->ztop[l - 1], F->n[l], F->n[l - 1]);
    }
}

/* W' = W + dw of projection PROJ by its rule's dw of that kind. */
static void tl_update(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                      const ff_bufs *F, const tl_bufs *T, int proj, int W)
{
    int ri = x->rule_of_projection[proj], kind, layer, post, pre;
    if (ri < 0) return;   /* a fixed projection */
    const sema_rule *r = p->rules[ri];
    sema_projection(m, proj, &kind, &layer, &post, &pre);
    char base[64], fwd[SCHED_NAME], adj[SCHED_NAME];
    build_rule_kernel_name(base, sizeof base, r, kind);
    snprintf(fwd, sizeof fwd, "%s_step", base);
    snprintf(adj, sizeof adj, "%s_adj", base);
    sched_call *c = add_call(P, 0, fwd, adj, F->n[pre], F->n[post]);
    snprintf(c->dw, sizeof c->dw, "%s_fwd", base);
    c->rule = r;
    c->update = W;
    bind(c, "w", W);
    bind_layer(c, "pre", pre, F, T, p, ri);
    bind_layer(c, "post", post, F, T, p, ri);
    bind_next(c, "w_next", W);
}

static void tl_updates(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                       const ff_bufs *F, const tl_bufs *T)
{
    int L = m->n_layers, top0 = L, lat0 = L + (m->topdown ? L : 0);
    for (int l = L; l >= 0; l--) {
        if (m->lateral) tl_update(P, p, x, m, F, T, lat0 + l, T->Wlat[l]);
        if (m->topdown && l < L) tl_update(P, p, x, m, F, T, top0 + l, T->Wtop[l]);
        if (l >= 1) tl_update(P, p, x, m, F, T, l - 1, F->W[l - 1]);
    }
}

/* Whether a rule of X has values of a meta-MLP (computed by RULE_neurons). */
static int any_mlp_values(const sema_program *p, const sema_experiment *x, const sema_model *m)
{
    for (int q = 0; q < sema_projection_count(m); q++) {
        int r = x->rule_of_projection[q];
        for (int v = 0; r >= 0 && v < p->rules[r]->n_values; v++)
            if (build_value_is_mlp(p->rules[r], v)) return 1;
    }
    for (int l = 0; x->rule_of_recurrent && l < m->n_layers; l++) {
        int r = x->rule_of_recurrent[l];
        for (int v = 0; r >= 0 && v < p->rules[r]->n_values; v++)
            if (build_value_is_mlp(p->rules[r], v)) return 1;
    }
    return 0;
}

/* ---- rules inside the forward pass (`updates forward;`, HAT: paper 001) ----
 *
 *   step:  for l = 1..L:  zhat_l, yhat_l = dense_l(W_l, y_{l-1})
 *                         W_l' = W_l + dw_l(pre y_{l-1}, post yhat_l)
 *                         z_l, y_l = dense_l(W_l', y_{l-1})   (the layer recomputed)
 *          then e_L and the loss from z_L
 *   eval:  dense_l (l = 1..L), loss
 * The rules read no error (sema refuses it), so there is no feedback
 * pathway; each recomputed layer reads its updated weights (a next version).
 * Recurrent layers are refused (refuse_model). */
static void fwd_buffers(sched_plan *P, const sema_model *m, ff_bufs *F, int *zhat, int *yhat)
{
    ff_buffers(P, m, F, 0);
    for (int l = 1; l <= m->n_layers; l++) {
        zhat[l] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "zhat%d", l);
        yhat[l] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "yhat%d", l);
    }
}

static void fwd_step(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                     const ff_bufs *F, const int *zhat, const int *yhat)
{
    for (int l = 1; l <= m->n_layers; l++) {
        ff_dense(P, 0, m, F, l, 0, zhat[l], yhat[l]);
        ends pre = { F->y[l - 1], F->z[l - 1], -1 }, post = { yhat[l], zhat[l], -1 };
        sched_call *c = rule_update(P, p->rules[x->rule_of_projection[l - 1]], F->W[l - 1], F->n[l - 1], F->n[l], pre, post);
        bind_next(c, "w_next", F->W[l - 1]);
        ff_dense(P, 0, m, F, l, 1, F->z[l], F->y[l]);
    }
    ff_loss(P, 0, m, F);
}

/* ---- recurrent layers and the rules' unrolled and neighbour reads ----
 * A layer `recurrent N act steps T` runs its dense kernel T + 1 times:
 * x_1 = act(W_l y_{l-1}), then x_{s+1} = act(Wrec_l x_s), s = 1..T, the same
 * kernel with other bindings (n_pre = n_post = N for the recurrent steps);
 * x_{T+1} is the layer's y.  The reverse sweep runs their adjoints in
 * reverse, through the steps.  A rule's read pre[d].y is the signal shifted
 * by the fixed cyclic matrix P_d (a CONST buffer) with M_shift, called after
 * the loss and before the updates. */

static void unroll_buffers(sched_plan *P, const sema_model *m, ff_bufs *F, int l)
{
    F->states[l] = m->layers[l - 1].kind == LAYER_RECURRENT ? m->layers[l - 1].steps + 1 : 0;
    if (!F->states[l]) return;
    F->sy[l] = calloc((size_t)F->states[l] + 1, sizeof **F->sy);
    F->sz[l] = calloc((size_t)F->states[l] + 1, sizeof **F->sz);
    for (int s = 1; s < F->states[l]; s++) {
        F->sz[l][s] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "z%d_t%d", l, s);
        F->sy[l][s] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "y%d_t%d", l, s);
    }
}

/* x_1 = dense_l(W_l, y_{l-1}); x_{s+1} = dense_l(Wrec_l, x_s), s = 1..T */
static void unroll_forward(sched_plan *P, int eval, const sema_model *m, const ff_bufs *F, int l)
{
    for (int s = 0; s < F->states[l]; s++) {
        sched_call *c = model_call(P, eval, m, "dense", l, s ? F->n[l] : F->n[l - 1], F->n[l]);
        bind(c, "w", s ? F->Wrec[l - 1] : F->W[l - 1]);
        bind(c, "pre_y", s ? F->sy[l][s] : F->y[l - 1]);
        bind(c, "post_z", F->sz[l][s + 1]);
        bind(c, "post_y", F->sy[l][s + 1]);
    }
}

static void unroll_free(ff_bufs *F)
{
    for (int l = 0; l <= 64; l++) { free(F->sy[l]); free(F->sz[l]); free(F->se[l]); }
}

/* Random feedback through the steps of a recurrent layer l: a fixed Brec_l
 * (symmetric feedback reads Wrec_l itself; direct feedback is refused). */
static void unroll_feedback_matrix(sched_plan *P, const sema_model *m, ff_bufs *F, int l)
{
    F->Brec[l - 1] = -1;
    if (m->feedback != FB_RANDOM || m->layers[l - 1].kind != LAYER_RECURRENT) return;
    char name[32];
    snprintf(name, sizeof name, "Brec%d", l);
    F->Brec[l - 1] = add_matrix(P, m, name, PLAST_BUF_CONST, F->n[l], F->n[l], PLAST_STREAM_B);
}

/* The errors of steps 1..T of a recurrent layer l (e at x_{T+1} is e_l). */
static void unroll_errors(sched_plan *P, const sema_model *m, ff_bufs *F, int l)
{
    if (!F->states[l] || m->feedback == FB_NONE) return;
    F->se[l] = calloc((size_t)F->states[l] + 1, sizeof **F->se);
    for (int s = 1; s < F->states[l]; s++) F->se[l][s] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "e%d_t%d", l, s);
}

/* e_s = (Brec_l e_{s+1}) * act_l'(z_s), s = T..1: back through the steps. */
static void unroll_back(sched_plan *P, const sema_model *m, const ff_bufs *F, int l)
{
    for (int s = F->states[l] - 1; s >= 1; s--) {
        sched_call *c = model_call(P, 0, m, "recerror", l, F->n[l], F->n[l]);
        bind(c, "b", m->feedback == FB_SYMMETRIC ? F->Wrec[l - 1] : F->Brec[l - 1]);
        bind(c, "post_e", F->se[l][s + 1]);
        bind(c, "pre_z", F->sz[l][s]);
        bind(c, "pre_e", F->se[l][s]);
    }
}

/* "y1_t2_m1": buffer SRC seen from the neuron D places away. */
static void shifted_name(const sched_plan *P, int src, int d, char *name, size_t len)
{
    snprintf(name, len, "%.20s_%c%d", P->buf[src].name, d < 0 ? 'm' : 'p', abs(d));
}

/* The buffer a read pre.y[2] / pre[-1].y of a rule binds at end E: the
 * state's signal, or its shifted copy (found by name: unroll_shifts made
 * each once per step). */
static int read_buffer(sched_plan *P, const ff_bufs *F, proj_end e, const sema_read *rd)
{
    int src = end_signal(F, e, rd->signal, rd->step);
    if (!rd->nb || src < 0) return src;
    char name[48];
    shifted_name(P, src, rd->nb, name, sizeof name);
    return find_buf(P, name);
}

/* P_d of layer K (n x n, d places), made once. */
static int shift_matrix(sched_plan *P, int k, long n, int d)
{
    char name[48];
    snprintf(name, sizeof name, "P%d_%c%d", k, d < 0 ? 'm' : 'p', abs(d));
    int b = find_buf(P, name);
    if (b >= 0) return b;
    b = add_buf(P, name, PLAST_BUF_CONST, n, n);
    P->buf[b].init = PLAST_INIT_SHIFT;
    P->buf[b].init_arg = d;
    P->buf[b].fan_in = P->buf[b].fan_out = n;
    P->buf[b].stream = PLAST_STREAM_B;
    return b;
}

/* The shifted signals the reads of rule R on one projection need. */
static void shifts_of(sched_plan *P, const sema_model *m, const sema_rule *r, const ff_bufs *F, int l, int rec)
{
    proj_end ends[2];
    proj_ends(F, l, rec, &ends[0], &ends[1]);
    for (int i = 0; i < r->n_reads; i++) {
        const sema_read *rd = &r->reads[i];
        proj_end e = ends[rd->side == SIDE_POST];
        int src = end_signal(F, e, rd->signal, rd->step);
        if (!rd->nb || src < 0) continue;
        char name[48];
        shifted_name(P, src, rd->nb, name, sizeof name);
        if (find_buf(P, name) >= 0) continue;
        int pm = shift_matrix(P, e.k, F->n[e.k], rd->nb);
        int dst = add_signal(P, PLAST_BUF_SIGNAL, F->n[e.k], "%s", name);
        sched_call *c = model_call(P, 0, m, "shift", 0, F->n[e.k], F->n[e.k]);
        bind(c, "p", pm);
        bind(c, "pre_y", src);
        bind(c, "post_y", dst);
    }
}

static void unroll_shifts(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                          const ff_bufs *F)
{
    for (int l = m->n_layers; l >= 1; l--) {
        if (F->Wrec[l - 1] >= 0) shifts_of(P, m, p->rules[x->rule_of_recurrent[l - 1]], F, l, 1);
        shifts_of(P, m, p->rules[x->rule_of_projection[l - 1]], F, l, 0);
    }
}

int sched_fuses_dense(const sema_program *p, const sema_experiment *x)
{
    const sema_model *m = p->models[x->model];
    /* (for a batch of several the engine runs the calls apart: episode.c,
     * plan_fusion; the fused kernels would be compiled for nothing) */
    if (x->batch != 1 || x->updates_forward || m->topdown || m->lateral || any_mlp_values(p, x, m)) return 0;
    for (int l = 0; l < m->n_layers; l++)
        if (m->layers[l].kind == LAYER_RECURRENT || x->rule_of_projection[l] < 0) return 0;
    return 1;
}

/* What the compiler has kernels for but the engine cannot run yet. */
static int refuse_model(const sema_program *p, const sema_experiment *x, const sema_model *m, char *err,
                        size_t errlen)
{
    int recurrent = 0;
    for (int l = 0; l < m->n_layers; l++) recurrent |= m->layers[l].kind == LAYER_RECURRENT;
    if (recurrent && (m->topdown || m->lateral || any_mlp_values(p, x, m))) {
        snprintf(err, errlen, "model %s: recurrent layers with top-down or lateral projections or with neuron values "
                 "computed by a meta-MLP are not run by the engine yet (each works alone)", m->name);
        return -1;
    }
    for (int l = 0; x->updates_forward && l < m->n_layers; l++) {
        if (m->layers[l].kind != LAYER_RECURRENT) continue;
        snprintf(err, errlen, "model %s: layer %d is recurrent, which `updates forward;` cannot run: "
                 "the rules update after the whole unrolled pass (`updates last;`)", m->name, l + 1);
        return -1;
    }
    return 0;
}

int sched_adj_input(const sema_program *p, const sema_experiment *x, const sema_rule *r)
{
    const sema_model *m = p->models[x->model];
    const char *off = getenv("PLASTCC_NO_ADJ_INPUT");
    if ((off && *off && strcmp(off, "0")) || m->topdown || m->lateral || any_mlp_values(p, x, m) ||
        x->rule_of_projection[0] < 0 || p->rules[x->rule_of_projection[0]] != r)
        return 0;
    return (r->pre_signals & (1u << SIG_Y | 1u << SIG_Z)) != 0;
}

int sched_build(const sema_program *p, const sema_experiment *x, sched_plan *P, char *err, size_t errlen)
{
    memset(P, 0, sizeof *P);
    const sema_model *m = p->models[x->model];
    if (refuse_model(p, x, m, err, errlen) < 0) return -1;
    if (x->rule_of_projection[0] >= 0 && sched_adj_input(p, x, p->rules[x->rule_of_projection[0]]))
        P->adj_input = p->rules[x->rule_of_projection[0]];
    ff_bufs F;
    memset(&F, 0, sizeof F);
    if (x->updates_forward) {
        int zhat[65], yhat[65];
        fwd_buffers(P, m, &F, zhat, yhat);
        fwd_step(P, p, x, m, &F, zhat, yhat);
    } else {
        ff_buffers(P, m, &F, 1);
        ff_forward(P, 0, m, &F);
        ff_errors(P, m, &F);
        unroll_shifts(P, p, x, m, &F);
        if (m->topdown || m->lateral || any_mlp_values(p, x, m)) {
            tl_bufs T;
            tl_buffers(P, p, m, x, &F, &T);
            tl_signals(P, p, x, m, &F, &T);
            tl_updates(P, p, x, m, &F, &T);
            free(T.value);
        } else
            ff_updates(P, p, x, m, &F, sched_fuses_dense(p, x));
    }
    ff_forward(P, 1, m, &F);
    unroll_free(&F);
    return 0;
}

void sched_free(sched_plan *P)
{
    free(P->buf);
    free(P->step);
    free(P->eval);
    memset(P, 0, sizeof *P);
}

/* ---- printing ---- */

static const char *const kind_names[] = { "state", "param", "const", "data", "signal" };

static void print_calls(FILE *out, const sched_plan *P, const sched_call *calls, int n)
{
    for (int c = 0; c < n; c++) {
        const sched_call *C = &calls[c];
        char size[48];
        snprintf(size, sizeof size, "%ldx%ld", C->n_post, C->n_pre);
        fprintf(out, "  %-24s %-9s", C->fwd, size);
        for (int k = 0; k < C->n_bind; k++)
            fprintf(out, " %s=%s%s", C->bind[k].arg, P->buf[C->bind[k].buf].name, C->bind[k].next ? "'" : "");
        if (C->update >= 0) fprintf(out, "  (updates %s)", P->buf[C->update].name);
        if (C->fused[0]) fprintf(out, "  (and the next step's %s: %s)", calls[C->fuses].fwd, C->fused);
        fputc('\n', out);
    }
}

void sched_print(FILE *out, const sched_plan *P)
{
    fprintf(out, "buffers:\n");
    for (int b = 0; b < P->n_buf; b++) {
        const sched_buf *B = &P->buf[b];
        if (B->kind == PLAST_BUF_DATA || B->kind == PLAST_BUF_SIGNAL)
            fprintf(out, "  %-10s %-6s %ld per sample\n", B->name, kind_names[B->kind], B->cols);
        else
            fprintf(out, "  %-10s %-6s %ldx%ld\n", B->name, kind_names[B->kind], B->rows, B->cols);
    }
    fprintf(out, "step (one inner step; ' is a state after its update, or a signal of the next step):\n");
    print_calls(out, P, P->step, P->n_step);
    fprintf(out, "eval (the meta-loss on the query batch; mean of %s over the samples that count):\n",
            P->buf[P->loss].name);
    print_calls(out, P, P->eval, P->n_eval);
}
