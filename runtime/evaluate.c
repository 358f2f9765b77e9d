/* evaluate — fixed rules over new tasks, without meta-training (plast.h).
 *
 * Task i is the episode of index first_task + i: its initial weights and
 * samples come from the same streams the meta-trainer would use for that
 * episode, so a meta-training run and an evaluation never share a task when
 * first_task is beyond the run's episodes.  Each task runs the schedule's
 * inner loop forward only (no meta-gradient: no reverse sweep, no
 * checkpoints), with its learning curves on request.  Tasks run in parallel
 * threads, one task per thread, and each result lands in its own slot, so
 * the results do not depend on the thread count.
 */
#include "config.h"
#include "plast.h"
#include "train_impl.h"
#include "ranks.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int plast_eval_points(const plast_train_opts *o, const plast_eval_opts *eo)
{
    if (eo->curve_every <= 0) return 0;
    int steps = o->steps > 0 ? o->steps : o->ways * o->k_train / (o->batch > 0 ? o->batch : 1);
    return 1 + steps / eo->curve_every;
}

/* The diagnostics of 003 on the weights STATE of a layered net (the final
 * ones, or those at a curve point). */
static int task_diagnostics(const plast_net *N, const task_episode *t, const double *const *final, double *diag,
                            char *err, size_t errlen)
{
    const double *W[PLAST_MAX_LAYERS], *B[PLAST_MAX_LAYERS];
    for (int l = 0; l < N->n_layers; l++) {
        W[l] = final[N->w_buf[l]];
        B[l] = N->fb_buf[l] >= 0 ? t->init[N->fb_buf[l]] : NULL;
    }
    return plast_diagnostics(N, W, B, &t->ed, diag, diag + N->n_layers, err, errlen);
}

typedef struct point_ctx { const plast_net *N; const task_episode *t; double *curve_diag; } point_ctx;

/* plast_episode_opts.at_point: the diagnostics at curve point K, into row K
 * of the task's curve_diag. */
static int diag_at_point(void *ctx, int k, const double *const *state, char *what, size_t len)
{
    const point_ctx *P = ctx;
    return task_diagnostics(P->N, P->t, state, P->curve_diag + (size_t)k * 2 * P->N->n_layers, what, len);
}

/* Task 0's decision regions (eo->boundary): its final state with its
 * constants, its training stream and its query samples. */
static int task_boundary(const plast_net *N, const task_episode *t, double **final, const plast_eval_opts *eo,
                         double accuracy, char *err, size_t errlen)
{
    const plast_schedule *sc = &N->sched;
    const double **values = calloc((size_t)sc->n_buf + 1, sizeof *values);
    if (!values) return plast_fail(err, errlen, "cannot allocate the boundary's buffer table");
    for (int b = 0; b < sc->n_buf; b++) values[b] = sc->buf[b].kind == PLAST_BUF_STATE ? final[b] : t->init[b];
    char title[300];
    snprintf(title, sizeof title, "%s%stask %llu: query accuracy %.3f", eo->title ? eo->title : "",
             eo->title ? ", " : "", (unsigned long long)eo->first_task, accuracy);
    const plast_episode_data *d = &t->ed;
    int shown = d->steps * d->batch < d->n_train ? d->steps * d->batch : d->n_train;
    plast_boundary b = { values, d->x_train, d->y_train, shown, d->x_query, d->y_query, d->n_query, title, 0 };
    int rc = plast_plot_boundary(eo->boundary, N, &b, err, errlen);
    free(values);
    return rc;
}

/* The final value of every STATE buffer (for the diagnostics or a boundary). */
static int alloc_final(const plast_net *N, double **final, int all, char *what, size_t len)
{
    for (int b = 0; b < N->sched.n_buf; b++) {
        const plast_buf *B = &N->sched.buf[b];
        int layer = 0;
        for (int l = 0; l < N->n_layers; l++) layer |= N->w_buf[l] == b;
        if (B->kind != PLAST_BUF_STATE || !(all || layer)) continue;
        if (!(final[b] = malloc((size_t)B->rows * (size_t)B->cols * sizeof(double)))) {
            snprintf(what, len, "cannot allocate %.0f MB for the final %s",
                     (double)B->rows * (double)B->cols * sizeof(double) / 1048576, B->name);
            return -1;
        }
    }
    return 0;
}

static void eval_task(const plast_net *N, const plast_dataset *data, const plast_class_index *ci,
                      const double *const *meta, const plast_train_opts *o, const plast_eval_opts *eo, uint64_t g,
                      plast_eval_task *res)
{
    task_episode t;
    int diag = o->diag_alignment || o->diag_orthonormality;
    double **final = calloc((size_t)N->sched.n_buf + 1, sizeof *final);
    if (!final || task_episode_open(&t, N, data, ci, o, o->seed, g, res->what, sizeof res->what) < 0) {
        if (!final) snprintf(res->what, sizeof res->what, "cannot allocate the final weights");
        res->failed = 1;
        free(final);
        return;
    }
    int boundary = eo->boundary && g == eo->first_task;
    if ((diag || boundary) && alloc_final(N, final, boundary, res->what, sizeof res->what) < 0) res->failed = 1;
    plast_episode_opts opts = { .want_grad = 0, .eval_train = 1, .keep_buffers = 1, .curve_every = eo->curve_every,
                                .curve_loss = res->curve_loss, .curve_acc = res->curve_acc,
                                .curve_train_loss = res->curve_train_loss, .curve_train_acc = res->curve_train_acc };
    if (!res->curve_loss || !res->curve_acc) opts.curve_every = 0;
    point_ctx pc = { N, &t, res->curve_diag };
    if (diag && res->curve_diag && opts.curve_every) opts.at_point = diag_at_point, opts.point_ctx = &pc;
    plast_episode_out out;
    memset(&out, 0, sizeof out);
    out.final = diag || boundary ? final : NULL;
    if (res->failed) {
        /* reported above */
    } else if (plast_episode(N, (const double *const *)t.init, meta, &t.ed, &opts, &out) < 0) {
        snprintf(res->what, sizeof res->what, "%s", out.what);
        res->failed = 1;
        res->nonfinite = out.nonfinite;
    } else if (diag && task_diagnostics(N, &t, (const double *const *)final, res->diag, res->what, sizeof res->what) < 0) {
        res->failed = 1;
    } else if (boundary && task_boundary(N, &t, final, eo, out.accuracy, res->what, sizeof res->what) < 0) {
        res->failed = 1;
    }
    res->loss = out.meta_loss;
    res->accuracy = out.accuracy;
    res->train_loss = out.train_loss;
    res->train_accuracy = out.train_accuracy;
    plast_free_init(N, final);
    free(final);
    task_episode_close(&t, N);
}

/* Task I's result, packed (PUT) or unpacked. */
static void pack_task(ranks_pack *p, plast_eval_task *r, int n_points, int n_layers, int put)
{
    void (*io)(ranks_pack *, void *, size_t) = put ? (void (*)(ranks_pack *, void *, size_t))ranks_put : ranks_get;
    double d[4] = { r->loss, r->accuracy, r->train_loss, r->train_accuracy };
    int flags[2] = { r->failed, r->nonfinite };
    io(p, d, sizeof d);
    io(p, flags, sizeof flags);
    io(p, r->what, sizeof r->what);
    io(p, r->diag, sizeof r->diag);
    double *curves[4] = { r->curve_loss, r->curve_acc, r->curve_train_loss, r->curve_train_acc };
    for (int k = 0; k < 4; k++) if (curves[k]) io(p, curves[k], (size_t)n_points * sizeof(double));
    if (r->curve_diag) io(p, r->curve_diag, (size_t)n_points * 2 * (size_t)n_layers * sizeof(double));
    if (!put) {
        r->loss = d[0], r->accuracy = d[1], r->train_loss = d[2], r->train_accuracy = d[3];
        r->failed = flags[0], r->nonfinite = flags[1];
    }
}

/* Every task's result on every rank: one pack per rank (its tasks in
 * order), exchanged at once. */
static int share_results(const plast_comm *c, const plast_net *N, const plast_train_opts *o, const plast_eval_opts *eo,
                         plast_eval_task *res)
{
    int n = ranks_size(c), me = ranks_rank(c), n_points = plast_eval_points(o, eo);
    if (n == 1) return 0;
    ranks_pack mine = { 0 }, *packs = calloc((size_t)n, sizeof *packs);
    for (int i = 0; packs && i < eo->tasks; i++) if (ranks_owner(c, i) == me) pack_task(&mine, &res[i], n_points, N->n_layers, 1);
    int rc = packs ? ranks_gather_packs(c, &mine, packs) : -1;
    for (int i = 0; rc == 0 && i < eo->tasks; i++) pack_task(&packs[ranks_owner(c, i)], &res[i], n_points, N->n_layers, 0);
    for (int r = 0; packs && r < n; r++) ranks_pack_free(&packs[r]);
    free(packs);
    ranks_pack_free(&mine);
    return rc;
}

int plast_evaluate(const plast_net *N, const plast_dataset *data, const double *const *meta,
                   const plast_train_opts *o, const plast_eval_opts *eo, plast_eval_task *res, char *err, size_t errlen)
{
    if (eo->tasks < 1) return plast_fail(err, errlen, "an evaluation needs at least one task");
    if (o->ways < 1 || o->k_train < 1 || o->q_query < 1 || o->batch < 1 ||
        (!o->unlabelled && o->batch > o->ways * o->k_train))   /* unlabelled samples may fill a batch */
        return plast_fail(err, errlen, "tasks need ways, train and query of at least 1, and a batch of 1 to ways x train");
    const plast_schedule *sc = &N->sched;
    if ((size_t)sc->buf[sc->x].cols != data->dim)
        return plast_fail(err, errlen, "the data have %zu features per sample, but the network's input layer has %lld",
                          data->dim, (long long)sc->buf[sc->x].cols);
    plast_class_index ci;
    if (plast_class_index_build(data, &ci, err, errlen) < 0) return -1;
#ifdef _OPENMP
    if (o->threads > 0) omp_set_num_threads(o->threads);
#endif
    int done = 0, mine = (eo->tasks + ranks_size(o->comm) - 1 - ranks_rank(o->comm)) / ranks_size(o->comm);
    double t0 = plast_seconds(), acc_sum = 0, loss_sum = 0;
    #pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < eo->tasks; i++) {
        if (ranks_owner(o->comm, i) != ranks_rank(o->comm)) continue;
        res[i].failed = res[i].nonfinite = 0;
        res[i].what[0] = '\0';
        eval_task(N, data, &ci, meta, o, eo, eo->first_task + (uint64_t)i, &res[i]);
        #pragma omp critical(plast_eval_progress)
        {
            done++;
            acc_sum += res[i].accuracy;
            loss_sum += res[i].loss;
            train_progress(o, "task", done, mine, done, mine, loss_sum / done, acc_sum / done, plast_seconds() - t0);
        }
    }
    train_progress_end(o);
    plast_class_index_free(&ci);
    if (share_results(o->comm, N, o, eo, res) == 0) return 0;
    return plast_fail(err, errlen, "the ranks could not share the tasks' results");
}
