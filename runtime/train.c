/* train — meta-training: episodes of sampled tasks, the averaged exact
 * meta-gradient, and Adam on the meta-parameters.
 *
 * Episode e runs a meta-batch of M tasks (task g = e*M + m, in parallel
 * threads); every random draw of task g comes from the stream
 * (seed, g, purpose), and gradients are averaged in task order, so results do
 * not depend on the thread count.  Meta-step (theta = s * phi, Adam on phi):
 *   g_phi = s * mean_m d loss_m / d theta              (the meta-loss gradient)
 *   g_phi *= min(1, clip / |g_phi|)                    (clipping, when clip > 0)
 *   g_phi += s * l1 * sign(theta)   on `l1` entries    (subgradient L1, the paper's)
 *   lr_e = lr * warmup(e) * schedule(e) * 0.5^(backtracks so far)
 *   Adam(beta1 0.9, beta2 0.999, eps 1e-8) moves phi;  fixed entries never move
 *   proximal L1: phi = sign(phi) max(|phi| - lr_e * l1 * s, 0) on `l1` entries
 *   theta = clamp(s * phi, lo, hi)
 * The meta-state (theta, phi, Adam moments, step) is written atomically every
 * checkpoint_every episodes; a resumed run continues bit for bit.
 */
#include "config.h"
#include "plast.h"
#include "data.h"
#include "rng.h"
#include "task.h"
#include "train_impl.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void set_error(plast_train_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->what, sizeof r->what, fmt, ap);
    va_end(ap);
}

/* ---- one task of a meta-batch ---- */

typedef struct task_result {
    double loss, accuracy;
    double **grad;          /* [n_rules][n_meta] */
    int failed, nonfinite;
    char what[256];
    double diag[2 * PLAST_MAX_LAYERS];   /* alpha_0..alpha_{L-1}, then orth_1..orth_{L-1} */
} task_result;

/* The final weights and the feedback matrices of a layered net, per layer,
 * for the diagnostics. */
static void layer_views(const plast_net *N, double **final, double **init, const double **W, const double **B)
{
    for (int l = 0; l < N->n_layers; l++) {
        W[l] = N->w_buf[l] >= 0 ? final[N->w_buf[l]] : NULL;
        B[l] = N->fb_buf[l] >= 0 ? init[N->fb_buf[l]] : NULL;
    }
}

/* What a task's training stream holds (task.h): steps 0 is one pass over
 * the labelled samples. */
static plast_task_spec task_spec(const plast_train_opts *o)
{
    plast_task_spec s = { o->ways, o->k_train, o->q_query, o->batch, o->steps, o->unlabelled };
    if (s.steps <= 0) s.steps = o->ways * o->k_train / (o->batch > 0 ? o->batch : 1);
    return s;
}

static void run_task(const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                     const plast_train_opts *o, const double *const *theta, uint64_t g, task_result *res)
{
    plast_task task;
    char err[256];
    int nb = N->sched.n_buf, diag = o->diag_alignment || o->diag_orthonormality;
    double **init = calloc((size_t)nb + 1, sizeof *init), **final = calloc((size_t)nb + 1, sizeof *final);
    if (!init || !final || plast_draw_init(N, o->seed, g, init) < 0) {
        snprintf(res->what, sizeof res->what, "out of memory for the initial weights of task %llu", (unsigned long long)g);
        res->failed = 1;
        free(init); free(final);
        return;
    }
    plast_task_spec spec = task_spec(o);
    if (plast_task_draw(data, ci, &spec, o->seed, g, &task, err, sizeof err) < 0) {
        snprintf(res->what, sizeof res->what, "%s", err);
        res->failed = 1;
        plast_free_init(N, init);
        free(init); free(final);
        return;
    }
    int n_train = task.n_train;
    plast_episode_data ed = { task.x_train, task.y_train, n_train, task.x_query, task.y_query,
                              o->ways * o->q_query, o->batch, spec.steps };
    plast_episode_opts eo = { .checkpoint_every = o->inner_checkpoint, .want_grad = 1 };
    plast_episode_out out;
    memset(&out, 0, sizeof out);
    out.grad = res->grad;
    for (int l = 0; diag && l < N->n_layers; l++) {
        const plast_buf *W = &N->sched.buf[N->w_buf[l]];
        final[N->w_buf[l]] = malloc((size_t)W->rows * (size_t)W->cols * sizeof(double));
        out.final = final;
    }
    const double *Wl[PLAST_MAX_LAYERS], *Bl[PLAST_MAX_LAYERS];
    if (plast_episode(N, (const double *const *)init, theta, &ed, &eo, &out) < 0) {
        snprintf(res->what, sizeof res->what, "%s", out.what);
        res->failed = 1;
        res->nonfinite = out.nonfinite;
    } else if (diag && (layer_views(N, final, init, Wl, Bl),
                        plast_diagnostics(N, Wl, Bl, &ed, res->diag, res->diag + N->n_layers, err, sizeof err) < 0)) {
        snprintf(res->what, sizeof res->what, "%s", err);
        res->failed = 1;
    }
    res->loss = out.meta_loss;
    res->accuracy = out.accuracy;
    plast_free_init(N, init);
    plast_free_init(N, final);
    free(init); free(final);
    plast_task_free(&task);
}

/* ---- per-term scales measured on a probe task ---- */

/* s_k = min(1, |F_0| / |F_k|) for the rules with auto scale: the term sizes
 * along the inner loop of a probe task (its own random stream), with the
 * initial meta-parameters.  Entries with |F_k| = 0 keep s_k = 1. */
static int probe_scales(const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                        const plast_train_opts *o, meta_state *S, plast_train_result *res)
{
    const uint64_t probe = (uint64_t)1 << 62;   /* never a training episode's index */
    plast_task task;
    char err[256];
    plast_task_spec spec = task_spec(o);
    if (plast_task_draw(data, ci, &spec, o->seed ^ 0x5eed, probe, &task, err, sizeof err) < 0) {
        set_error(res, "probe task: %s", err);
        return -1;
    }
    double **init = calloc((size_t)N->sched.n_buf + 1, sizeof *init);
    if (!init || plast_draw_init(N, o->seed, probe, init) < 0) {
        set_error(res, "probe task: out of memory for the initial weights");
        free(init);
        plast_task_free(&task);
        return -1;
    }
    int n_train = task.n_train, rc = 0;
    plast_episode_data ed = { task.x_train, task.y_train, n_train, task.x_query, task.y_query,
                              o->ways * o->q_query, o->batch, spec.steps };
    for (int r = 0; rc == 0 && r < N->n_rules; r++) {
        int n = N->rules[r].n_meta, any = 0;
        for (int k = 0; o->auto_scale && o->auto_scale[r] && k < n; k++) any |= o->auto_scale[r][k];
        if (!any) continue;
        double *mag = calloc((size_t)n + 1, sizeof(double));
        rc = plast_term_magnitudes(N, (const double *const *)init, (const double *const *)S->theta, &ed, r, mag, err,
                                   sizeof err);
        if (rc < 0) set_error(res, "probe task: %s", err);
        for (int k = 0; rc == 0 && k < n; k++) {
            if (!o->auto_scale[r][k] || N->rules[r].fixed[k] || mag[k] <= 0 || !isfinite(mag[k])) continue;
            double s = mag[0] > 0 ? mag[0] / mag[k] : 1;
            S->scale[r][k] = s < 1 ? s : 1;
            S->phi[r][k] = S->theta[r][k] / S->scale[r][k];
        }
        free(mag);
    }
    plast_free_init(N, init);
    free(init);
    plast_task_free(&task);
    return rc;
}

/* ---- the meta-optimiser ---- */

static double learning_rate(const plast_train_opts *o, int e)
{
    double lr = o->lr;
    if (o->warmup > 0 && e < o->warmup) lr *= (double)(e + 1) / o->warmup;
    if (o->schedule == PLAST_SCHEDULE_STEP && o->sched_every > 0) lr *= pow(o->sched_gamma, (double)(e / o->sched_every));
    if (o->schedule == PLAST_SCHEDULE_COSINE && o->episodes > 0) lr *= 0.5 * (1 + cos(M_PI * e / o->episodes));
    return lr;
}

/* One Adam step of the meta-state from the averaged gradient G (theta space). */
void plast_meta_step(meta_state *S, const plast_net *N, const plast_train_opts *o, double **G, int e,
                     double *grad_norm, int *clipped)
{
    double norm2 = 0;
    for (int r = 0; r < N->n_rules; r++)
        for (int k = 0; k < N->rules[r].n_meta; k++) {
            if (N->rules[r].fixed[k]) continue;
            double gp = S->scale[r][k] * G[r][k];
            norm2 += gp * gp;
        }
    double norm = sqrt(norm2), factor = o->clip > 0 && norm > o->clip ? o->clip / norm : 1;
    *grad_norm = norm;
    *clipped = factor < 1;
    double lr = learning_rate(o, e) * S->lr_factor;
    S->t++;
    double c1 = 1 - pow(0.9, S->t), c2 = 1 - pow(0.999, S->t);
    for (int r = 0; r < N->n_rules; r++) {
        const plast_rule *R = &N->rules[r];
        for (int k = 0; k < R->n_meta; k++) {
            if (R->fixed[k]) continue;
            double s = S->scale[r][k], gp = s * G[r][k] * factor;
            if (R->l1[k] && !o->l1_prox && S->theta[r][k] != 0) gp += s * o->l1 * (S->theta[r][k] > 0 ? 1 : -1);
            S->m[r][k] = 0.9 * S->m[r][k] + 0.1 * gp;
            S->v[r][k] = 0.999 * S->v[r][k] + 0.001 * gp * gp;
            S->phi[r][k] -= lr * (S->m[r][k] / c1) / (sqrt(S->v[r][k] / c2) + 1e-8);
            if (R->l1[k] && o->l1_prox) {
                double tau = lr * o->l1 * s, a = fabs(S->phi[r][k]);
                S->phi[r][k] = a <= tau ? 0 : (S->phi[r][k] > 0 ? a - tau : tau - a);
            }
            double th = s * S->phi[r][k];
            double lo = R->lo ? R->lo[k] : -INFINITY, hi = R->hi ? R->hi[k] : INFINITY;
            if (th < lo) { th = lo; S->phi[r][k] = lo / s; }
            if (th > hi) { th = hi; S->phi[r][k] = hi / s; }
            S->theta[r][k] = th;
        }
    }
}

/* ---- the loop ---- */

/* Runs the M tasks of episode E in parallel; returns 0, or -1 for a failure
 * that stops the run (data errors, or a NaN without nonfinite_skip). */
static int run_episode(const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                       const plast_train_opts *o, meta_state *S, int e, task_result *tr)
{
    int M = o->meta_batch > 0 ? o->meta_batch : 1;
    for (int m = 0; m < M; m++) {
        tr[m].failed = tr[m].nonfinite = 0;
        tr[m].what[0] = '\0';
    }
    #pragma omp parallel for schedule(dynamic, 1) if (M > 1)
    for (int m = 0; m < M; m++)
        run_task(N, data, ci, o, (const double *const *)S->theta, (uint64_t)e * (uint64_t)M + (uint64_t)m, &tr[m]);
    return 0;
}

int plast_train(const plast_net *N, const plast_dataset *data, const plast_train_opts *o, plast_train_result *res)
{
    memset(res->what, 0, sizeof res->what);
    res->episodes_done = 0;
    res->nonfinite_skipped = 0;
    char err[256];
    if (o->ways < 1 || o->k_train < 1 || o->q_query < 1 || o->batch < 1 || o->episodes < 0) {
        set_error(res, "tasks need ways, train and query of at least 1, and a batch of at least 1");
        return -1;
    }
    const plast_schedule *sc = &N->sched;
    if (sc->target >= 0 && o->ways > sc->buf[sc->target].cols) {
        set_error(res, "%d-way tasks need %d output neurons; the network has %lld", o->ways, o->ways,
                  (long long)sc->buf[sc->target].cols);
        return -1;
    }
    if (N->precision == PLAST_SINGLE && (o->diag_alignment || o->diag_orthonormality)) {
        set_error(res, "the diagnostics run in double precision only");
        return -1;
    }
    if ((size_t)sc->buf[sc->x].cols != data->dim) {
        set_error(res, "the data have %zu features per sample, but the network's input layer has %lld", data->dim,
                  (long long)sc->buf[sc->x].cols);
        return -1;
    }
#ifdef _OPENMP
    if (o->threads > 0) omp_set_num_threads(o->threads);
#endif
    plast_class_index ci;
    if (plast_class_index_build(data, &ci, err, sizeof err) < 0) { set_error(res, "%s", err); return -1; }
    meta_state S;
    if (meta_state_init(&S, N, o) < 0) { set_error(res, "out of memory"); plast_class_index_free(&ci); return -1; }
    int first = 0, rc = 0;
    train_log log;
    if (o->resume && meta_state_load(&S, N, o->out_dir, err, sizeof err) < 0) { set_error(res, "%s", err); rc = -1; }
    if (rc == 0 && !o->resume && o->auto_scale) rc = probe_scales(N, data, &ci, o, &S, res);
    for (int r = 0; rc == 0 && res->scale && r < N->n_rules; r++)
        memcpy(res->scale[r], S.scale[r], (size_t)N->rules[r].n_meta * sizeof(double));
    first = S.episode;
    if (rc == 0 && train_log_open(&log, N, o, first, err, sizeof err) < 0) { set_error(res, "%s", err); rc = -1; }
    int M = o->meta_batch > 0 ? o->meta_batch : 1;
    task_result *tr = calloc((size_t)M, sizeof *tr);
    double **G = meta_alloc(N);
    for (int m = 0; m < M; m++) tr[m].grad = meta_alloc(N);
    double t_start = plast_seconds();
    for (int e = first; rc == 0 && e < o->episodes; e++) {
        double t0 = plast_seconds();
        run_episode(N, data, &ci, o, &S, e, tr);
        int bad = -1;
        for (int m = 0; m < M && bad < 0; m++) if (tr[m].failed) bad = m;
        if (bad >= 0 && !(tr[bad].nonfinite && o->nonfinite_skip)) {
            set_error(res, "episode %d: %s", e, tr[bad].what);
            rc = -1;
            break;
        }
        if (bad >= 0) {
            res->nonfinite_skipped++;
            train_log_skip(&log, e, tr[bad].what);
            if (o->nonfinite_skip == 2) {   /* backtrack: out of the region that diverged, more carefully */
                meta_state_undo(&S, N);
                S.lr_factor *= 0.5;
                fprintf(stderr, "plastcc: episode %d: the meta-step before it undone, learning rate now x%g\n", e,
                        S.lr_factor);
            }
            S.episode = e + 1;
            continue;
        }
        double loss = 0, acc = 0, grad_norm, diag[2 * PLAST_MAX_LAYERS] = { 0 };
        int clipped;
        meta_zero(N, G);
        for (int m = 0; m < M; m++) {
            loss += tr[m].loss / M;
            acc += tr[m].accuracy / M;
            for (int q = 0; q < 2 * N->n_layers - 1; q++) diag[q] += tr[m].diag[q] / M;
            for (int r = 0; r < N->n_rules; r++)
                for (int k = 0; k < N->rules[r].n_meta; k++) G[r][k] += tr[m].grad[r][k] / M;
        }
        meta_state_remember(&S, N);
        plast_meta_step(&S, N, o, G, e, &grad_norm, &clipped);
        S.episode = e + 1;
        res->last_loss = loss;
        res->last_accuracy = acc;
        train_log_row(&log, &S, e, loss, acc, grad_norm, clipped, learning_rate(o, e) * S.lr_factor, plast_seconds() - t0, diag);
        train_progress(o, e + 1 - first, o->episodes - first, e + 1, o->episodes, loss, acc, plast_seconds() - t_start);
        if (o->out_dir && o->checkpoint_every > 0 && (e + 1) % o->checkpoint_every == 0 &&
            meta_state_save(&S, N, o->out_dir, err, sizeof err) < 0) { set_error(res, "%s", err); rc = -1; }
    }
    train_progress_end(o);
    /* saved on a failure too: the state of the last good episode stays resumable */
    if (o->out_dir && S.episode > first && meta_state_save(&S, N, o->out_dir, err, sizeof err) < 0 && rc == 0) {
        set_error(res, "%s", err);
        rc = -1;
    }
    train_log_close(&log);
    res->episodes_done = S.episode;
    for (int r = 0; r < N->n_rules && res->meta; r++)
        memcpy(res->meta[r], S.theta[r], (size_t)N->rules[r].n_meta * sizeof(double));
    for (int m = 0; m < M; m++) meta_free(N, tr[m].grad);
    free(tr);
    meta_free(N, G);
    meta_state_free(&S, N);
    plast_class_index_free(&ci);
    return rc;
}
