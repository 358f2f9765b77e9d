/* train — meta-training: episodes of sampled tasks, the averaged exact
 * meta-gradient, and Adam on the meta-parameters.
 *
 * Episode e runs a meta-batch of M tasks (task g = e*M + m, in parallel
 * threads); every random draw of task g comes from the stream
 * (seed, g, purpose), and gradients are averaged in task order, so results do
 * not depend on the thread count.  The meta-step on the averaged gradient is
 * plast_meta_step (meta_state.c).  The meta-state (theta, phi, Adam moments, step) is written atomically every
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

/* ---- weights of a task ---- */

/* A ROWS x COLS matrix of doubles, or NULL with ERR saying how much it
 * wanted and for what (NAME and layer L). */
static double *alloc_matrix(size_t rows, size_t cols, const char *name, int l, char *err, size_t errlen)
{
    double *m = malloc(rows * cols * sizeof(double));
    if (!m) snprintf(err, errlen, "cannot allocate %.0f MB for %s%d (%zu x %zu doubles)",
                     (double)rows * (double)cols * sizeof(double) / 1048576, name, l, rows, cols);
    return m;
}

/* Allocates and draws W_l (and the feedback matrices, for random and direct
 * feedback) of task G, in the runtime's layouts; the caller frees them.
 * -1 with ERR when memory runs out (what was allocated is freed). */
static int init_weights(const plast_net *N, const plast_train_opts *o, uint64_t g, double **W, double **B,
                        char *err, size_t errlen)
{
    for (int l = 1; l <= N->n_layers; l++) {
        size_t bpost = N->feedback == PLAST_FB_DIRECT ? (size_t)N->size[N->n_layers] : (size_t)N->size[l];
        int random = N->feedback == PLAST_FB_RANDOM || N->feedback == PLAST_FB_DIRECT;
        if (!(W[l - 1] = alloc_matrix((size_t)N->size[l], (size_t)N->size[l - 1], "W", l, err, errlen)) ||
            (random && !(B[l - 1] = alloc_matrix(bpost, (size_t)N->size[l - 1], "B", l, err, errlen)))) {
            for (int k = 0; k < l; k++) { free(W[k]); free(B[k]); W[k] = B[k] = NULL; }
            return -1;
        }
    }
    plast_rng rw = plast_rng_stream(o->seed, g, PLAST_RNG_INIT_W), rb = plast_rng_stream(o->seed, g, PLAST_RNG_INIT_B);
    for (int l = 1; l <= N->n_layers; l++) {
        size_t fan_in = (size_t)N->size[l - 1], fan_out = (size_t)N->size[l];
        size_t bpost = N->feedback == PLAST_FB_DIRECT ? (size_t)N->size[N->n_layers] : fan_out;
        double a = o->init == PLAST_INIT_XAVIER ? sqrt(6.0 / (double)(fan_in + fan_out)) : o->init_arg;
        double ab = o->init == PLAST_INIT_XAVIER ? sqrt(6.0 / (double)(fan_in + bpost)) : o->init_arg;
        for (size_t k = 0; k < fan_in * fan_out; k++)
            W[l - 1][k] = o->init == PLAST_INIT_NORMAL ? a * plast_rng_normal(&rw) : a * (2 * plast_rng_uniform(&rw) - 1);
        if (!B[l - 1]) continue;
        for (size_t k = 0; k < fan_in * bpost; k++)
            B[l - 1][k] = o->init == PLAST_INIT_NORMAL ? ab * plast_rng_normal(&rb) : ab * (2 * plast_rng_uniform(&rb) - 1);
    }
    return 0;
}

/* ---- one task of a meta-batch ---- */

typedef struct task_result {
    double loss, accuracy;
    double **grad;          /* [n_rules][n_meta] */
    int failed, nonfinite;
    char what[256];
    double diag[2 * PLAST_MAX_LAYERS];   /* alpha_0..alpha_{L-1}, then orth_1..orth_{L-1} */
} task_result;

static void run_task(const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                     const plast_train_opts *o, const double *const *theta, uint64_t g, task_result *res)
{
    plast_task task;
    char err[256];
    double *W[PLAST_MAX_LAYERS] = { 0 }, *B[PLAST_MAX_LAYERS] = { 0 };
    if (plast_task_sample_indexed(data, ci, o->ways, o->k_train, o->q_query, o->seed, g, &task, err, sizeof err) < 0) {
        snprintf(res->what, sizeof res->what, "%s", err);
        res->failed = 1;
        return;
    }
    if (init_weights(N, o, g, W, B, res->what, sizeof res->what) < 0) {
        res->failed = 1;
        plast_task_free(&task);
        return;
    }
    int n_train = o->ways * o->k_train;
    plast_episode_data ed = { task.x_train, task.y_train, n_train, task.x_query, task.y_query,
                              o->ways * o->q_query, o->batch, o->steps > 0 ? o->steps : n_train / o->batch };
    plast_episode_opts eo = { o->inner_checkpoint, 1 };
    plast_episode_out out;
    memset(&out, 0, sizeof out);
    out.grad = res->grad;
    double *W_end[PLAST_MAX_LAYERS] = { 0 };
    int diag = o->diag_alignment || o->diag_orthonormality;
    for (int l = 0; diag && l < N->n_layers; l++)
        if (!(out.W = W_end, W_end[l] = alloc_matrix((size_t)N->size[l + 1], (size_t)N->size[l], "the final W", l + 1,
                                                     res->what, sizeof res->what)))
            res->failed = 1;
    int ready = !res->failed;   /* the final W of the diagnostics allocated */
    if (ready && plast_episode(N, (const double *const *)W, (const double *const *)B, theta, &ed, &eo, &out) < 0) {
        snprintf(res->what, sizeof res->what, "%s", out.what);
        res->failed = 1;
        res->nonfinite = out.nonfinite;
    } else if (ready && diag && plast_diagnostics(N, (const double *const *)W_end, (const double *const *)B, &ed,
                                                  res->diag, res->diag + N->n_layers, err, sizeof err) < 0) {
        snprintf(res->what, sizeof res->what, "%s", err);
        res->failed = 1;
    }
    res->loss = out.meta_loss;
    res->accuracy = out.accuracy;
    for (int l = 0; l < N->n_layers; l++) { free(W[l]); free(B[l]); free(W_end[l]); }
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
    if (plast_task_sample_indexed(data, ci, o->ways, o->k_train, o->q_query, o->seed ^ 0x5eed, probe, &task, err, sizeof err) < 0) {
        set_error(res, "probe task: %s", err);
        return -1;
    }
    double *W[PLAST_MAX_LAYERS] = { 0 }, *B[PLAST_MAX_LAYERS] = { 0 };
    if (init_weights(N, o, probe, W, B, err, sizeof err) < 0) {
        set_error(res, "probe task: %s", err);
        plast_task_free(&task);
        return -1;
    }
    int n_train = o->ways * o->k_train, rc = 0;
    plast_episode_data ed = { task.x_train, task.y_train, n_train, task.x_query, task.y_query,
                              o->ways * o->q_query, o->batch, o->steps > 0 ? o->steps : n_train / o->batch };
    for (int r = 0; rc == 0 && r < N->n_rules; r++) {
        int n = N->rules[r].n_meta, any = 0;
        for (int k = 0; o->auto_scale && o->auto_scale[r] && k < n; k++) any |= o->auto_scale[r][k];
        if (!any) continue;
        double *mag = calloc((size_t)n + 1, sizeof(double));
        rc = plast_term_magnitudes(N, (const double *const *)W, (const double *const *)B,
                                   (const double *const *)S->theta, &ed, r, mag, err, sizeof err);
        if (rc < 0) set_error(res, "probe task: %s", err);
        for (int k = 0; rc == 0 && k < n; k++) {
            if (!o->auto_scale[r][k] || N->rules[r].fixed[k] || mag[k] <= 0 || !isfinite(mag[k])) continue;
            double s = mag[0] > 0 ? mag[0] / mag[k] : 1;
            S->scale[r][k] = s < 1 ? s : 1;
            S->phi[r][k] = S->theta[r][k] / S->scale[r][k];
        }
        free(mag);
    }
    for (int l = 0; l < N->n_layers; l++) { free(W[l]); free(B[l]); }
    plast_task_free(&task);
    return rc;
}

/* ---- the loop ---- */

typedef struct trainer {
    const plast_net *N;
    const plast_dataset *data;
    const plast_train_opts *o;
    plast_train_result *res;
    plast_class_index ci;
    meta_state S;
    train_log log;
    task_result *tr;         /* [M] */
    double **G;              /* the averaged meta-gradient */
    int M, first;
    int saved_at;            /* the episodes the meta-state file on disk holds (-1: none of this run) */
    double t_start;
} trainer;

/* Runs the M tasks of episode E in parallel; their failures are in tr. */
static void run_episode(trainer *T, int e)
{
    for (int m = 0; m < T->M; m++) {
        T->tr[m].failed = T->tr[m].nonfinite = 0;
        T->tr[m].what[0] = '\0';
    }
    #pragma omp parallel for schedule(dynamic, 1) if (T->M > 1)
    for (int m = 0; m < T->M; m++)
        run_task(T->N, T->data, &T->ci, T->o, (const double *const *)T->S.theta,
                 (uint64_t)e * (uint64_t)T->M + (uint64_t)m, &T->tr[m]);
}

/* Options the runtime cannot train with (plastcc's checker reports the
 * experiment's own with their line; this guards the library's callers). */
static int check_opts(const plast_net *N, const plast_dataset *data, const plast_train_opts *o, plast_train_result *res)
{
    if (o->ways < 1 || o->k_train < 1 || o->q_query < 1 || o->batch < 1 || o->episodes < 0)
        set_error(res, "tasks need ways, train and query of at least 1, and a batch of at least 1");
    else if (o->batch > o->ways * o->k_train)
        set_error(res, "the inner batch of %d is larger than the %d training samples of a task (ways %d x train %d): "
                  "no inner step would run", o->batch, o->ways * o->k_train, o->ways, o->k_train);
    else if (!(o->lr > 0) || !isfinite(o->lr) || !(o->clip >= 0) || !(o->l1 >= 0))
        set_error(res, "the learning rate must be positive, the clipping norm and the L1 weight at least 0");
    else if (o->ways > N->size[N->n_layers])
        set_error(res, "%d-way tasks need %d output neurons; the network has %d", o->ways, o->ways, N->size[N->n_layers]);
    else if (N->precision == PLAST_SINGLE && (o->diag_alignment || o->diag_orthonormality))
        set_error(res, "the diagnostics run in double precision only");
    else if ((size_t)N->size[0] != data->dim)
        set_error(res, "the data have %zu features per sample, but the network's input layer has %d", data->dim, N->size[0]);
    else
        return 0;
    return -1;
}

/* Whether the data can make the tasks (enough classes, and samples in each),
 * before anything is written: the first episode's task, drawn and dropped. */
static int tasks_possible(trainer *T, char *err, size_t errlen)
{
    plast_task task;
    const plast_train_opts *o = T->o;
    if (plast_task_sample_indexed(T->data, &T->ci, o->ways, o->k_train, o->q_query, o->seed, 0, &task, err, errlen) < 0)
        return -1;
    plast_task_free(&task);
    return 0;
}

static int any_auto_scale(const plast_net *N, const plast_train_opts *o)
{
    for (int r = 0; o->auto_scale && r < N->n_rules; r++)
        for (int k = 0; o->auto_scale[r] && k < N->rules[r].n_meta; k++)
            if (o->auto_scale[r][k]) return 1;
    return 0;
}

/* The meta-state of the first episode: loaded (--resume) or initial, with
 * the scales measured; then the log, and the buffers of the loop. */
static int trainer_start(trainer *T)
{
    const plast_net *N = T->N;
    const plast_train_opts *o = T->o;
    char err[512];
    if (plast_class_index_build(T->data, &T->ci, err, sizeof err) < 0 || tasks_possible(T, err, sizeof err) < 0) {
        set_error(T->res, "%s", err);
        return -1;
    }
    if (meta_state_init(&T->S, N, o) < 0) { set_error(T->res, "cannot allocate the meta-state"); return -1; }
    if (o->resume && meta_state_load(&T->S, N, o->out_dir, err, sizeof err) < 0) { set_error(T->res, "%s", err); return -1; }
    if (!o->resume && any_auto_scale(N, o) && probe_scales(N, T->data, &T->ci, o, &T->S, T->res) < 0) return -1;
    T->first = T->S.episode;
    T->saved_at = o->resume ? T->first : -1;
    if (train_log_open(&T->log, N, o, T->first, err, sizeof err) < 0) { set_error(T->res, "%s", err); return -1; }
    T->tr = calloc((size_t)T->M, sizeof *T->tr);
    T->G = meta_alloc(N);
    for (int m = 0; T->tr && m < T->M; m++)
        if (!(T->tr[m].grad = meta_alloc(N))) break;
    if (!T->tr || !T->G || !T->tr[T->M - 1].grad) {
        set_error(T->res, "cannot allocate the meta-gradients of %d tasks", T->M);
        return -1;
    }
    T->res->episodes_done = T->first;
    return 0;
}

static int save_state(trainer *T)
{
    char err[512];
    if (!T->o->out_dir || T->saved_at == T->S.episode) return 0;
    if (meta_state_save(&T->S, T->N, T->o->out_dir, err, sizeof err) < 0) { set_error(T->res, "%s", err); return -1; }
    T->saved_at = T->S.episode;
    return 0;
}

/* The final save: on a run that failed, the first error stays the one reported. */
static int save_keeping_error(trainer *T, int rc)
{
    char what[sizeof T->res->what];
    memcpy(what, T->res->what, sizeof what);
    if (save_state(T) < 0 && rc < 0) {
        if (strcmp(T->res->what, what)) fprintf(stderr, "plastcc: %s\n", T->res->what);
        memcpy(T->res->what, what, sizeof what);
    }
    return rc < 0 || (T->o->out_dir && T->saved_at != T->S.episode) ? -1 : 0;
}

/* A NaN or Inf in episode E (WHY), with nonfinite skip or backtrack: the
 * episode is skipped, and with backtrack the meta-step before it undone. */
static void skip_episode(trainer *T, int e, const char *why)
{
    T->res->nonfinite_skipped++;
    train_log_skip(&T->log, e, why);
    if (T->o->nonfinite_skip == 2) {   /* backtrack: out of the region that diverged, more carefully */
        meta_state_undo(&T->S, T->N);
        T->S.lr_factor *= 0.5;
        fprintf(stderr, "plastcc: episode %d: the meta-step before it undone, learning rate now x%g\n", e,
                T->S.lr_factor);
    }
    T->S.episode = e + 1;
}

/* The tasks' mean loss, accuracy, diagnostics and gradient (in task order). */
static void average(trainer *T, double *loss, double *acc, double *diag)
{
    const plast_net *N = T->N;
    *loss = *acc = 0;
    meta_zero(N, T->G);
    for (int m = 0; m < T->M; m++) {
        *loss += T->tr[m].loss / T->M;
        *acc += T->tr[m].accuracy / T->M;
        for (int q = 0; q < 2 * N->n_layers - 1; q++) diag[q] += T->tr[m].diag[q] / T->M;
        for (int r = 0; r < N->n_rules; r++)
            for (int k = 0; k < N->rules[r].n_meta; k++) T->G[r][k] += T->tr[m].grad[r][k] / T->M;
    }
}

/* Episode E: tasks, meta-step, log row, meta-state.  -1 stops the run. */
static int train_episode(trainer *T, int e)
{
    const plast_train_opts *o = T->o;
    double t0 = plast_seconds(), loss, acc, grad_norm, diag[2 * PLAST_MAX_LAYERS] = { 0 };
    int clipped, bad = -1;
    char why[512];
    run_episode(T, e);
    for (int m = 0; m < T->M && bad < 0; m++) if (T->tr[m].failed) bad = m;
    if (bad >= 0 && !(T->tr[bad].nonfinite && o->nonfinite_skip)) {
        set_error(T->res, "episode %d: %s", e, T->tr[bad].what);
        return -1;
    }
    if (bad >= 0) { skip_episode(T, e, T->tr[bad].what); return save_state(T); }
    average(T, &loss, &acc, diag);
    meta_state_remember(&T->S, T->N);
    plast_meta_step(&T->S, T->N, o, T->G, e, &grad_norm, &clipped);
    if (meta_state_check_finite(&T->S, T->N, why, sizeof why) < 0) {   /* caught before it is written anywhere */
        meta_state_undo(&T->S, T->N);
        if (!o->nonfinite_skip) { set_error(T->res, "episode %d: %s", e, why); return -1; }
        skip_episode(T, e, why);
        return save_state(T);
    }
    T->S.episode = e + 1;
    T->res->last_loss = loss;
    T->res->last_accuracy = acc;
    if (train_log_row(&T->log, &T->S, e, loss, acc, grad_norm, clipped, meta_learning_rate(o, e) * T->S.lr_factor,
                      plast_seconds() - t0, diag, why, sizeof why) < 0) {
        set_error(T->res, "%s", why);
        return -1;
    }
    train_progress(o, e + 1 - T->first, o->episodes - T->first, e + 1, o->episodes, loss, acc, plast_seconds() - T->t_start);
    return o->checkpoint_every > 0 && (e + 1) % o->checkpoint_every == 0 ? save_state(T) : 0;
}

static void trainer_free(trainer *T)
{
    train_log_close(&T->log);
    for (int m = 0; T->tr && m < T->M; m++) meta_free(T->N, T->tr[m].grad);
    free(T->tr);
    meta_free(T->N, T->G);
    meta_state_free(&T->S, T->N);
    plast_class_index_free(&T->ci);
}

int plast_train(const plast_net *N, const plast_dataset *data, const plast_train_opts *o, plast_train_result *res)
{
    memset(res->what, 0, sizeof res->what);
    res->episodes_done = res->nonfinite_skipped = res->state_saved = res->stopped = 0;
    if (check_opts(N, data, o, res) < 0) return -1;
#ifdef _OPENMP
    if (o->threads > 0) omp_set_num_threads(o->threads);
#endif
    trainer T;
    memset(&T, 0, sizeof T);
    T.N = N, T.data = data, T.o = o, T.res = res;
    T.M = o->meta_batch > 0 ? o->meta_batch : 1;
    int rc = trainer_start(&T);
    for (int r = 0; rc == 0 && res->scale && r < N->n_rules; r++)
        memcpy(res->scale[r], T.S.scale[r], (size_t)N->rules[r].n_meta * sizeof(double));
    T.t_start = plast_seconds();
    for (int e = T.first; rc == 0 && e < o->episodes; e++) {
        if (o->stop && *o->stop) { res->stopped = 1; break; }
        rc = train_episode(&T, e);
        res->episodes_done = T.S.episode;
    }
    train_progress_end(o);
    /* saved on a failure too: the state of the last good episode stays resumable */
    if (res->episodes_done > 0) rc = save_keeping_error(&T, rc);
    res->state_saved = o->out_dir && res->episodes_done > 0 && T.saved_at == res->episodes_done;
    for (int r = 0; r < N->n_rules && res->meta && res->episodes_done > 0; r++)
        memcpy(res->meta[r], T.S.theta[r], (size_t)N->rules[r].n_meta * sizeof(double));
    trainer_free(&T);
    return rc;
}
