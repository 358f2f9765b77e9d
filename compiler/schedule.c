/* schedule — an experiment's inner step as kernel calls (schedule.h). */
#include "config.h"
#include "schedule.h"
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
    B->init = m->init == INIT_NORMAL ? PLAST_INIT_NORMAL : m->init == INIT_UNIFORM ? PLAST_INIT_UNIFORM : PLAST_INIT_XAVIER;
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
    return c;
}

static void bind(sched_call *c, const char *arg, int buf)
{
    if (buf < 0 || c->n_bind == SCHED_MAX_BIND) return;
    snprintf(c->bind[c->n_bind].arg, sizeof c->bind[0].arg, "%s", arg);
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
 * input, whose y and z are x itself), W_l and the feedback matrices. */
typedef struct ff_bufs {
    int y[65], z[65], e[65];
    int W[64], B[64], bias[64];
    int n[65];
} ff_bufs;

/* The biases of the layers that have one: learner parameters, zero at
 * first (they draw nothing from the random streams). */
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
    }
    ff_biases(P, m, F);
    for (int l = 1; l <= L; l++) {
        F->B[l - 1] = P->fb_buf[l - 1] = -1;
        if (!feedback || (m->feedback != FB_RANDOM && m->feedback != FB_DIRECT)) continue;
        char name[32];
        snprintf(name, sizeof name, "B%d", l);
        long post = m->feedback == FB_DIRECT ? F->n[L] : F->n[l];
        F->B[l - 1] = P->fb_buf[l - 1] = add_matrix(P, m, name, PLAST_BUF_CONST, post, F->n[l - 1], PLAST_STREAM_B);
    }
    P->x = add_signal(P, PLAST_BUF_DATA, F->n[0], "x");
    P->target = m->loss == LOSS_MSE_INPUT ? -1 : add_signal(P, PLAST_BUF_DATA, F->n[L], "target");
    P->mask = add_signal(P, PLAST_BUF_DATA, 1, "mask");
    F->y[0] = F->z[0] = P->x;
    for (int l = 1; l <= L; l++) {
        F->z[l] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "z%d", l);
        F->y[l] = add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "y%d", l);
    }
    /* e_L (dLoss/dz_L) always; below it only with a feedback pathway */
    for (int l = 0; l <= L; l++)
        F->e[l] = l == L || (feedback && m->feedback != FB_NONE) ? add_signal(P, PLAST_BUF_SIGNAL, F->n[l], "e%d", l) : -1;
    P->loss = add_signal(P, PLAST_BUF_SIGNAL, 1, "loss");
    P->output = m->loss == LOSS_MSE_INPUT ? -1 : F->z[L];
    P->n_layers = L;
}

/* z, y = dense_l(W_l or, with NEXT, its updated version, y_{l-1}, b_l). */
static void ff_dense(sched_plan *P, int eval, const sema_model *m, const ff_bufs *F, int l, int next, int z, int y)
{
    sched_call *c = model_call(P, eval, m, "dense", l, F->n[l - 1], F->n[l]);
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

/* z_l, y_l = dense_l(W_l, y_{l-1}), l = 1..L; then e_L and the loss. */
static void ff_forward(sched_plan *P, int eval, const sema_model *m, const ff_bufs *F)
{
    for (int l = 1; l <= m->n_layers; l++) ff_dense(P, eval, m, F, l, 0, F->z[l], F->y[l]);
    ff_loss(P, eval, m, F);
}

/* e_{l-1} from e_l (or e_L, direct feedback) through W_l or B_l, l = L..1. */
static void ff_errors(sched_plan *P, const sema_model *m, const ff_bufs *F)
{
    int L = m->n_layers;
    for (int l = L; m->feedback != FB_NONE && l >= 1; l--) {
        int src = m->feedback == FB_DIRECT ? L : l;
        sched_call *c = model_call(P, 0, m, "error", l, F->n[l - 1], F->n[src]);
        bind(c, "b", m->feedback == FB_SYMMETRIC ? F->W[l - 1] : F->B[l - 1]);
        bind(c, "post_e", F->e[src]);
        bind(c, "pre_z", F->z[l - 1]);
        bind(c, "pre_y", F->y[l - 1]);
        bind(c, "pre_e", F->e[l - 1]);
    }
}

/* The signals a rule reads at one end of its projection (-1: none). */
typedef struct ends { int y, z, e; } ends;

/* W_l' = W_l + dw_l by rule R, from the signals at the two ends. */
static void rule_update(sched_plan *P, const sema_rule *r, const ff_bufs *F, int l, ends pre, ends post)
{
    char fwd[SCHED_NAME], adj[SCHED_NAME];
    snprintf(fwd, sizeof fwd, "%s_step", r->name);
    snprintf(adj, sizeof adj, "%s_adj", r->name);
    sched_call *c = add_call(P, 0, fwd, adj, F->n[l - 1], F->n[l]);
    snprintf(c->dw, sizeof c->dw, "%s_fwd", r->name);
    c->rule = r;
    c->update = F->W[l - 1];
    bind(c, "w", F->W[l - 1]);
    bind(c, "pre_y", pre.y);
    bind(c, "pre_z", pre.z);
    bind(c, "pre_e", pre.e);
    bind(c, "post_y", post.y);
    bind(c, "post_z", post.z);
    bind(c, "post_e", post.e);
    bind_next(c, "w_next", F->W[l - 1]);
}

/* W_l' = W_l + dw_l by the rule of projection l, from the pre-update W_l and
 * the step's signals, l = L..1. */
static void ff_updates(sched_plan *P, const sema_program *p, const sema_experiment *x, const sema_model *m,
                       const ff_bufs *F)
{
    int fb = m->feedback != FB_NONE;
    for (int l = m->n_layers; l >= 1; l--) {
        ends pre = { F->y[l - 1], F->z[l - 1], fb ? F->e[l - 1] : -1 }, post = { F->y[l], F->z[l], fb ? F->e[l] : -1 };
        rule_update(P, p->rules[x->rule_of_projection[l - 1]], F, l, pre, post);
    }
}

/* ---- rules inside the forward pass (`updates forward;`, HAT: paper 001) ----
 *
 *   step:  for l = 1..L:  zhat_l, yhat_l = dense_l(W_l, y_{l-1})
 *                         W_l' = W_l + dw_l(pre y_{l-1}, post yhat_l)
 *                         z_l, y_l = dense_l(W_l', y_{l-1})   (the layer recomputed)
 *          then e_L and the loss from z_L
 *   eval:  dense_l (l = 1..L), loss
 * The rules read no error (sema refuses it), so there is no feedback
 * pathway; each recomputed layer reads its updated weights (a next version). */
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
        rule_update(P, p->rules[x->rule_of_projection[l - 1]], F, l, pre, post);
        ff_dense(P, 0, m, F, l, 1, F->z[l], F->y[l]);
    }
    ff_loss(P, 0, m, F);
}

/* What the compiler has kernels for but the engine cannot run yet. */
static int refuse_model(const sema_model *m, char *err, size_t errlen)
{
    for (int l = 0; l < m->n_layers; l++) {
        if (m->layers[l].kind != LAYER_RECURRENT) continue;
        snprintf(err, errlen, "model %s: layer %d is recurrent (steps %d), which the runtime cannot train yet: "
                 "it runs each layer once; its kernels (%s_dense%d, one step) are compiled, the loop over the "
                 "steps and the recurrent weights are not", m->name, l + 1, m->layers[l].steps, m->name, l + 1);
        return -1;
    }
    if (m->topdown || m->lateral) {
        snprintf(err, errlen, "model %s: top-down and lateral projections are not run by the engine yet", m->name);
        return -1;
    }
    return 0;
}

int sched_build(const sema_program *p, const sema_experiment *x, sched_plan *P, char *err, size_t errlen)
{
    memset(P, 0, sizeof *P);
    const sema_model *m = p->models[x->model];
    if (refuse_model(m, err, errlen) < 0) return -1;
    ff_bufs F;
    if (x->updates_forward) {
        int zhat[65], yhat[65];
        fwd_buffers(P, m, &F, zhat, yhat);
        fwd_step(P, p, x, m, &F, zhat, yhat);
    } else {
        ff_buffers(P, m, &F, 1);
        ff_forward(P, 0, m, &F);
        ff_errors(P, m, &F);
        ff_updates(P, p, x, m, &F);
    }
    ff_forward(P, 1, m, &F);
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
    fprintf(out, "step (one inner step; ' is a state after its update):\n");
    print_calls(out, P, P->step, P->n_step);
    fprintf(out, "eval (the meta-loss on the query batch; mean of %s over the samples that count):\n",
            P->buf[P->loss].name);
    print_calls(out, P, P->eval, P->n_eval);
}
