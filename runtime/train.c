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
#include "rng.h"
#include "task.h"
#include "train_impl.h"
#include "ranks.h"
#include "cores.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int task_episode_open(task_episode *t, const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                      const plast_train_opts *o, uint64_t seed, uint64_t g, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (!(t->init = calloc((size_t)N->sched.n_buf + 1, sizeof *t->init)))
        return plast_fail(err, errlen, "cannot allocate the buffer table of task %llu", (unsigned long long)g);
    if (plast_draw_init(N, o->seed, g, t->init, err, errlen) < 0) {
        free(t->init);
        t->init = NULL;
        return -1;
    }
    plast_task_spec spec = task_spec(o);
    if (plast_task_draw(data, ci, &spec, seed, g, &t->task, err, errlen) < 0) {
        plast_free_init(N, t->init);
        free(t->init);
        t->init = NULL;
        return -1;
    }
    t->ed = (plast_episode_data){ t->task.x_train, t->task.y_train, t->task.n_train, t->task.x_query, t->task.y_query,
                                  o->ways * o->q_query, o->batch, spec.steps };
    return 0;
}

void task_episode_close(task_episode *t, const plast_net *N)
{
    if (!t->init) return;
    plast_free_init(N, t->init);
    free(t->init);
    plast_task_free(&t->task);
    t->init = NULL;
}

static void run_task(const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                     const plast_train_opts *o, const double *const *theta, uint64_t g, task_result *res)
{
    task_episode t;
    char err[256];
    int diag = o->diag_alignment || o->diag_orthonormality;
    double **final = calloc((size_t)N->sched.n_buf + 1, sizeof *final);
    if (!final || task_episode_open(&t, N, data, ci, o, o->seed, g, err, sizeof err) < 0) {
        snprintf(res->what, sizeof res->what, "%s", final ? err : "cannot allocate the final weights");
        res->failed = 1;
        free(final);
        return;
    }
    /* the episodes of a run share their sizes: each keeps its buffers for the
     * thread's next (an episode mapping its ~36 MB afresh spent 10-15% of its
     * time in the kernel's page clearing) */
    plast_episode_opts eo = { .checkpoint_every = o->inner_checkpoint, .want_grad = 1, .keep_buffers = 1,
                              .sweep_states = o->inner_sweep_states };
    plast_episode_out out;
    memset(&out, 0, sizeof out);
    out.grad = res->grad;
    for (int l = 0; diag && l < N->n_layers && !res->failed; l++) {
        const plast_buf *W = &N->sched.buf[N->w_buf[l]];
        if (!(final[N->w_buf[l]] = malloc((size_t)W->rows * (size_t)W->cols * sizeof(double)))) {
            snprintf(res->what, sizeof res->what, "cannot allocate %.0f MB for the final %s",
                     (double)W->rows * (double)W->cols * sizeof(double) / 1048576, W->name);
            res->failed = 1;
        }
        out.final = final;
    }
    const double *Wl[PLAST_MAX_LAYERS], *Bl[PLAST_MAX_LAYERS];
    if (res->failed) {
        /* reported above */
    } else if (plast_episode(N, (const double *const *)t.init, theta, &t.ed, &eo, &out) < 0) {
        snprintf(res->what, sizeof res->what, "%s", out.what);
        res->failed = 1;
        res->nonfinite = out.nonfinite;
    } else if (diag && (layer_views(N, final, t.init, Wl, Bl),
                        plast_diagnostics(N, Wl, Bl, &t.ed, res->diag, res->diag + N->n_layers, err, sizeof err) < 0)) {
        snprintf(res->what, sizeof res->what, "%s", err);
        res->failed = 1;
    }
    res->loss = out.meta_loss;
    res->accuracy = out.accuracy;
    plast_free_init(N, final);
    free(final);
    task_episode_close(&t, N);
}

/* ---- per-term scales measured on a probe task ---- */

/* s_k = min(1, |F_0| / |F_k|) for the rules with auto scale: the term sizes
 * along the inner loop of a probe task (its own random stream), with the
 * initial meta-parameters.  Entries with |F_k| = 0 keep s_k = 1. */
static int probe_scales(const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                        const plast_train_opts *o, meta_state *S, plast_train_result *res)
{
    const uint64_t probe = (uint64_t)1 << 62;   /* never a training episode's index */
    task_episode t;
    char err[256];
    if (task_episode_open(&t, N, data, ci, o, o->seed ^ 0x5eed, probe, err, sizeof err) < 0) {
        set_error(res, "probe task: %s", err);
        return -1;
    }
    int rc = 0;
    for (int r = 0; rc == 0 && r < N->n_rules; r++) {
        int n = N->rules[r].n_meta, any = 0;
        for (int k = 0; o->auto_scale && o->auto_scale[r] && k < n; k++) any |= o->auto_scale[r][k];
        if (!any) continue;
        double *mag = calloc((size_t)n + 1, sizeof(double));
        rc = plast_term_magnitudes(N, (const double *const *)t.init, (const double *const *)S->theta, &t.ed, r, mag,
                                   err, sizeof err);
        if (rc < 0) set_error(res, "probe task: %s", err);
        for (int k = 0; rc == 0 && k < n; k++) {
            if (!o->auto_scale[r][k] || N->rules[r].fixed[k] || mag[k] <= 0 || !isfinite(mag[k])) continue;
            double s = mag[0] > 0 ? mag[0] / mag[k] : 1;
            S->scale[r][k] = s < 1 ? s : 1;
            S->phi[r][k] = S->theta[r][k] / S->scale[r][k];
        }
        free(mag);
    }
    task_episode_close(&t, N);
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
    double share_sec, share_bytes;   /* ranks: time and bytes sharing the tasks' results */
    double wait_sec;                 /* ranks: time waiting for the slowest rank before it */
    long share_steps;
    plast_cores cores;       /* the threads of a task, when one runs at a time */
} trainer;

/* Runs the M tasks of episode E in parallel; their failures are in tr. */
/* Task M's result packed (PUT) or unpacked: what every rank needs of it. */
static void pack_result(ranks_pack *p, const plast_net *N, task_result *r, int put)
{
    void (*io)(ranks_pack *, void *, size_t) = put ? (void (*)(ranks_pack *, void *, size_t))ranks_put : ranks_get;
    double d[2] = { r->loss, r->accuracy };
    int flags[2] = { r->failed, r->nonfinite };
    io(p, d, sizeof d);
    io(p, flags, sizeof flags);
    io(p, r->what, sizeof r->what);
    io(p, r->diag, sizeof r->diag);
    for (int k = 0; k < N->n_rules; k++) io(p, r->grad[k], (size_t)N->rules[k].n_meta * sizeof(double));
    if (!put) r->loss = d[0], r->accuracy = d[1], r->failed = flags[0], r->nonfinite = flags[1];
}

/* Each rank's tasks' results to every rank, in task order: one pack per
 * rank (its tasks in order), exchanged at once. */
static int share_results(trainer *T)
{
    const plast_comm *c = T->o->comm;
    int n = ranks_size(c), me = ranks_rank(c), rc = 0;
    if (n == 1) return 0;
    /* profiled apart: the wait for the slowest rank (a one-byte exchange
     * that every rank reaches), then the results themselves */
    double t0 = plast_seconds();
    unsigned char one = 1, *all = malloc((size_t)n);
    if (all) c->allgather(c->ctx, &one, all, 1);
    free(all);
    T->wait_sec += plast_seconds() - t0;
    t0 = plast_seconds();
    ranks_pack mine = { 0 }, *packs = calloc((size_t)n, sizeof *packs);
    for (int m = 0; packs && m < T->M; m++) if (ranks_owner(c, m) == me) pack_result(&mine, T->N, &T->tr[m], 1);
    rc = packs ? ranks_gather_packs(c, &mine, packs) : -1;
    for (int m = 0; rc == 0 && m < T->M; m++) {
        int owner = ranks_owner(c, m);
        pack_result(&packs[owner], T->N, &T->tr[m], 0);   /* the owner's own copy, unchanged */
        if (T->tr[m].failed) {   /* the message says where it happened */
            char what[sizeof T->tr[m].what];
            int k = snprintf(what, sizeof what, "rank %d: ", owner);
            snprintf(what + k, sizeof what - (size_t)k, "%.*s", (int)(sizeof what - (size_t)k - 1), T->tr[m].what);
            memcpy(T->tr[m].what, what, sizeof what);
        }
    }
    T->share_bytes += (double)mine.len * n;
    for (int r = 0; packs && r < n; r++) ranks_pack_free(&packs[r]);
    free(packs);
    ranks_pack_free(&mine);
    T->share_sec += plast_seconds() - t0;
    T->share_steps++;
    return rc;
}

static void episode_task(trainer *T, int e, int m)
{
    run_task(T->N, T->data, &T->ci, T->o, (const double *const *)T->S.theta,
             (uint64_t)e * (uint64_t)T->M + (uint64_t)m, &T->tr[m]);
}

/* The M tasks of episode E: this rank's share (task m on rank m mod size) in
 * parallel threads, then every result on every rank. */
static int run_episode(trainer *T, int e)
{
    const plast_comm *c = T->o->comm;
    for (int m = 0; m < T->M; m++) {
        T->tr[m].failed = T->tr[m].nonfinite = 0;
        T->tr[m].what[0] = '\0';
    }
    int mine = (T->M + ranks_size(c) - 1 - ranks_rank(c)) / ranks_size(c);
    if (mine > 1) {
        #pragma omp parallel for schedule(dynamic, 1)
        for (int m = 0; m < T->M; m++)
            if (ranks_owner(c, m) == ranks_rank(c)) episode_task(T, e, m);
    } else {
        plast_cores_pick(&T->cores);   /* as many threads as other processes leave cores */
        /* not even an inactive region: the kernels' own parallel loops would
         * be nested in it, and a nested team's threads sleep between regions
         * (a wake-up of ~50-80 us for each of a batch-1 step's small loops) */
        for (int m = 0; m < T->M; m++)
            if (ranks_owner(c, m) == ranks_rank(c)) episode_task(T, e, m);
    }
    if (share_results(T) == 0) return 0;
    set_error(T->res, "episode %d: the ranks could not share the tasks' results", e);
    return -1;
}

/* Options the runtime cannot train with (plastcc's checker reports the
 * experiment's own with their line; this guards the library's callers). */
static int check_opts(const plast_net *N, const plast_dataset *data, const plast_train_opts *o, plast_train_result *res)
{
    const plast_schedule *sc = &N->sched;
    if (o->ways < 1 || o->k_train < 1 || o->q_query < 1 || o->batch < 1 || o->episodes < 0)
        set_error(res, "tasks need ways, train and query of at least 1, and a batch of at least 1");
    else if (!o->unlabelled && o->batch > o->ways * o->k_train)   /* unlabelled samples fill a batch */
        set_error(res, "the inner batch of %d is larger than the %d training samples of a task (ways %d x train %d): "
                  "no inner step would run", o->batch, o->ways * o->k_train, o->ways, o->k_train);
    else if (!(o->lr > 0) || !isfinite(o->lr) || !(o->clip >= 0) || !(o->l1 >= 0))
        set_error(res, "the learning rate must be positive, the clipping norm and the L1 weight at least 0");
    else if (sc->target >= 0 && o->ways > sc->buf[sc->target].cols)
        set_error(res, "%d-way tasks need %d output neurons; the network has %lld", o->ways, o->ways,
                  (long long)sc->buf[sc->target].cols);
    else if (N->precision == PLAST_SINGLE && (o->diag_alignment || o->diag_orthonormality))
        set_error(res, "the diagnostics run in double precision only");
    else if ((size_t)sc->buf[sc->x].cols != data->dim)
        set_error(res, "the data have %zu features per sample, but the network's input layer has %lld", data->dim,
                  (long long)sc->buf[sc->x].cols);
    else
        return 0;
    return -1;
}

/* Whether the data can make the tasks (enough classes, and samples in each),
 * before anything is written: the first episode's task, drawn and dropped. */
static int tasks_possible(trainer *T, char *err, size_t errlen)
{
    plast_task task;
    plast_task_spec spec = task_spec(T->o);
    if (plast_task_draw(T->data, &T->ci, &spec, T->o->seed, 0, &task, err, errlen) < 0) return -1;
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
    const plast_comm *c = o->comm;
    char err[512] = "", why[512];
    int ok = plast_class_index_build(T->data, &T->ci, err, sizeof err) == 0 && tasks_possible(T, err, sizeof err) == 0;
    if (ranks_agree(c, ok, err, why, sizeof why) < 0) { set_error(T->res, "%s", why); return -1; }
    if (meta_state_init(&T->S, N, o) < 0) { set_error(T->res, "cannot allocate the meta-state"); return -1; }
    /* rank 0 reads the meta-state or measures the scales, then hands it on */
    if (ranks_rank(c) == 0) {
        if (o->resume) ok = meta_state_load(&T->S, N, o->out_dir, err, sizeof err) == 0;
        else if (any_auto_scale(N, o)) ok = probe_scales(N, T->data, &T->ci, o, &T->S, T->res) == 0;
        if (!ok && !err[0]) snprintf(err, sizeof err, "%s", T->res->what);
    }
    if (ranks_agree(c, ok, err, why, sizeof why) < 0) { set_error(T->res, "%s", why); return -1; }
    if (meta_state_share(&T->S, N, c) < 0) { set_error(T->res, "the ranks could not share the meta-state"); return -1; }
    T->first = T->S.episode;
    T->saved_at = o->resume ? T->first : -1;
    if (ranks_rank(c) == 0 && train_log_open(&T->log, N, o, T->first, err, sizeof err) < 0) {
        set_error(T->res, "%s", err);
        return -1;
    }
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
    if (!T->o->out_dir || ranks_rank(T->o->comm) != 0 || T->saved_at == T->S.episode) return 0;
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
    int talk = ranks_rank(T->o->comm) == 0;
    T->res->nonfinite_skipped++;
    if (talk) train_log_skip(&T->log, e, why);
    if (T->o->nonfinite_skip == 2) {   /* backtrack: out of the region that diverged, more carefully */
        meta_state_undo(&T->S, T->N);
        T->S.lr_factor *= 0.5;
        if (talk) fprintf(stderr, "plastcc: episode %d: the meta-step before it undone, learning rate now x%g\n", e,
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
    if (run_episode(T, e) < 0) return -1;
    for (int m = 0; m < T->M && bad < 0; m++) if (T->tr[m].failed) bad = m;
    if (bad >= 0 && !(T->tr[bad].nonfinite && o->nonfinite_skip)) {
        set_error(T->res, "episode %d: %s", e, T->tr[bad].what);
        return -1;
    }
    if (bad >= 0) { skip_episode(T, e, T->tr[bad].what); return save_state(T); }
    average(T, &loss, &acc, diag);
    meta_state_remember(&T->S, T->N);
    plast_meta_step(&T->S, T->N, o, T->G, e, &grad_norm, &clipped);
    if (e == 0 && grad_norm == 0 && loss > 0 && ranks_rank(o->comm) == 0)
        train_warn_no_gradient("the first episode", loss);
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
    train_progress(o, "episode", e + 1 - T->first, o->episodes - T->first, e + 1, o->episodes, loss, acc, plast_seconds() - T->t_start);
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

/* RC as rank 0 has it: a file it alone writes may fail (every rank stops). */
static int rank0_decides(const plast_comm *c, int rc)
{
    return ranks_bcast(c, &rc, sizeof rc, 0) < 0 ? -1 : rc;
}

/* A stop signal, as rank 0 received it (every rank stops at the same episode). */
static int stop_now(const plast_train_opts *o)
{
    int stop = o->stop && *o->stop;
    if (ranks_bcast(o->comm, &stop, sizeof stop, 0) < 0) stop = 1;
    return stop;
}

int plast_train(const plast_net *N, const plast_dataset *data, const plast_train_opts *o, plast_train_result *res)
{
    memset(res->what, 0, sizeof res->what);
    res->episodes_done = res->nonfinite_skipped = res->state_saved = res->stopped = 0;
    if (check_opts(N, data, o, res) < 0) return -1;
    trainer T;
    memset(&T, 0, sizeof T);
    plast_cores_start(&T.cores, o->threads);
    T.N = N, T.data = data, T.o = o, T.res = res;
    T.M = o->meta_batch > 0 ? o->meta_batch : 1;
    int rc = trainer_start(&T);
    for (int r = 0; rc == 0 && res->scale && r < N->n_rules; r++)
        memcpy(res->scale[r], T.S.scale[r], (size_t)N->rules[r].n_meta * sizeof(double));
    T.t_start = plast_seconds();
    for (int e = T.first; rc == 0 && e < o->episodes; e++) {
        if (stop_now(o)) { res->stopped = 1; break; }
        rc = rank0_decides(o->comm, train_episode(&T, e));   /* rank 0 alone writes: it may fail alone */
        res->episodes_done = T.S.episode;
    }
    train_progress_end(o);
    const char *prof = getenv("PLASTCC_PROFILE");
    if (T.share_steps && ranks_rank(o->comm) == 0 && prof && *prof && strcmp(prof, "0"))
        fprintf(stderr, "profile: %d ranks: per meta-step %.6f s sharing the tasks' results (%.0f bytes), %.4f s "
                "waiting for the slowest rank; %ld meta-steps\n", ranks_size(o->comm), T.share_sec / T.share_steps,
                T.share_bytes / T.share_steps, T.wait_sec / T.share_steps, T.share_steps);
    if (T.cores.picks && prof && *prof && strcmp(prof, "0"))
        fprintf(stderr, "profile: threads per task chosen from the free cores %d times, changed %d times, last %d\n",
                T.cores.picks, T.cores.changes, T.cores.threads);
    /* saved on a failure too: the state of the last good episode stays resumable */
    if (res->episodes_done > 0) rc = rank0_decides(o->comm, save_keeping_error(&T, rc));
    res->state_saved = o->out_dir && res->episodes_done > 0 && T.saved_at == res->episodes_done;
    for (int r = 0; r < N->n_rules && res->meta && res->episodes_done > 0; r++)
        memcpy(res->meta[r], T.S.theta[r], (size_t)N->rules[r].n_meta * sizeof(double));
    trainer_free(&T);
    return rc;
}
