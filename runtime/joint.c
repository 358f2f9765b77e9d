/* joint — the joint training scheme of paper 001 (HAT, Algorithm 1): the
 * learner and the rules trained together, minibatch by minibatch, with no
 * outer episodes.
 *
 * Data.  Minibatch t (epoch e = t / P, P = floor(n / B) per epoch) holds the
 * samples order_e[k B .. k B + B), k = t mod P, of the training split, with
 * order_e a shuffle of 0..n-1 by the stream (seed, e, SHUFFLE); the last
 * n mod B samples of an epoch are left out.  A sample keeps its label when it
 * is among the first round(labelled n) of a shuffle by (seed, 0, LABELS); the
 * others are unlabelled (-1): the rules' updates see them, the loss does not.
 * The learner starts from plast_draw_init(seed, 0): the control (a rule
 * that does nothing) starts from the same weights and sees the same data.
 *
 * One minibatch is one engine episode of one inner step (plast_episode):
 * the schedule's step on the minibatch (with `updates forward`, each layer's
 * rule updates its weights and the layer is recomputed: Algorithm 1's
 * forward pass), then the eval, the forward pass of the same minibatch with
 * the updated weights, whose cross-entropy over its labelled samples is the
 * loss H.  Its exact gradient reaches the meta-parameters through the rules'
 * generated adjoints, and the learner's weights and biases (grad_init), and
 * both take a step:
 *   meta:     plast_meta_step, the episodic trainer's (options of `meta`);
 *   learner:  W <- W' - lr_t adam(dH/dW),  b <- b - lr_t adam(dH/db)
 *             (Adam: beta1 0.9, beta2 0.999, eps 1e-8, lr_t = learner lr
 *             times the backtracking factor).  The step is applied to the
 *             rule-updated weights W' (what the forward pass left, as
 *             Algorithm 1 updates W in place before backpropagating), with
 *             the gradient with respect to the weights before the update,
 *             through the update (Algorithm 1's single backward pass).
 *             Biases are not changed by the rules.
 * The test split is evaluated (the eval calls only: no rule updates) before
 * the first minibatch, every test_every minibatches (0: every epoch) and
 * after the last, in chunks of TEST_CHUNK samples.
 *
 * A NaN or Inf minibatch stops the run, or with `nonfinite skip` is skipped;
 * with `backtrack` the learner and meta steps before it are undone and both
 * learning rates halved from then on.  At the first minibatch, a loss with
 * no gradient at all (every gradient exactly 0), or a rule update as large
 * as the weights it updates (which saturates a layer), is reported.
 */
#include "config.h"
#include "plast.h"
#include "outdir.h"
#include "joint_impl.h"
#include "cores.h"
#include "rng.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { TEST_CHUNK = 1000 };

typedef struct joint {
    const plast_net *N;
    const plast_joint_opts *o;
    plast_train_opts mo;          /* the meta options, episodes = minibatches (schedules) */
    const plast_dataset *train, *test;
    int32_t *label;               /* [n_train]: the class, or -1 */
    int *order, order_epoch;      /* this epoch's sample order */
    learner L, prev;              /* prev: before the last step (backtrack) */
    meta_state S;
    double **G;                   /* [n_rules] one minibatch's meta-gradient */
    double **final, **grad;       /* [n_buf] one minibatch's updated values and gradients */
    double *x;                    /* a minibatch or a test chunk */
    int32_t *y;
    long per_epoch, total;
    joint_log log;
    plast_joint_result *res;
} joint;

static int fail(joint *J, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(J->res->what, sizeof J->res->what, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- data ---- */

static void choose_labels(joint *J)
{
    size_t n = J->train->n;
    for (size_t i = 0; i < n; i++) J->label[i] = J->train->label[i];
    size_t keep = (size_t)llround(J->o->labelled * (double)n);
    if (keep >= n) return;
    for (size_t i = 0; i < n; i++) J->order[i] = (int)i;   /* order is rebuilt per epoch */
    plast_rng r = plast_rng_stream(J->o->meta.seed, 0, PLAST_RNG_LABELS);
    plast_rng_shuffle(&r, J->order, n);
    for (size_t i = keep; i < n; i++) J->label[J->order[i]] = -1;
}

static void epoch_order(joint *J, int e)
{
    if (J->order_epoch == e) return;
    for (size_t i = 0; i < J->train->n; i++) J->order[i] = (int)i;
    plast_rng r = plast_rng_stream(J->o->meta.seed, (uint64_t)e, PLAST_RNG_SHUFFLE);
    plast_rng_shuffle(&r, J->order, J->train->n);
    J->order_epoch = e;
}

/* Rows ROWS[0..n) of D into J->x, their classes (or LABEL's) into J->y. */
static void load_rows(joint *J, const plast_dataset *d, const int *rows, int n, const int32_t *label)
{
    for (int k = 0; k < n; k++) {
        plast_dataset_row(d, (size_t)rows[k], J->x + (size_t)k * d->dim);
        J->y[k] = label ? label[rows[k]] : d->label[rows[k]];
    }
}

/* ---- one minibatch ---- */

static int labelled_in(const joint *J, int n)
{
    int c = 0;
    for (int k = 0; k < n; k++) c += J->y[k] >= 0;
    return c;
}

static int run_batch(joint *J, long t, plast_episode_out *out)
{
    int B = J->o->batch, e = (int)(t / J->per_epoch);
    epoch_order(J, e);
    load_rows(J, J->train, J->order + (t % J->per_epoch) * B, B, J->label);
    plast_episode_data d = { J->x, J->y, B, J->x, J->y, B, B, 1 };
    plast_episode_opts eo = { .want_grad = 1, .keep_buffers = 1 };   /* the next minibatch's are the same */
    memset(out, 0, sizeof *out);
    out->grad = J->G;
    out->final = J->final;
    out->grad_init = J->grad;
    return plast_episode(J->N, (const double *const *)J->L.val, (const double *const *)J->S.theta, &d, &eo, out);
}

/* One Adam step of N values P from FROM with gradient G; returns |G|^2. */
static double adam(double *p, const double *from, double *m, double *v, const double *g, size_t n, double lr, long t)
{
    double c1 = 1 - pow(0.9, (double)t), c2 = 1 - pow(0.999, (double)t), norm2 = 0;
    for (size_t k = 0; k < n; k++) {
        m[k] = 0.9 * m[k] + 0.1 * g[k];
        v[k] = 0.999 * v[k] + 0.001 * g[k] * g[k];
        p[k] = from[k] - lr * (m[k] / c1) / (sqrt(v[k] / c2) + 1e-8);
        norm2 += g[k] * g[k];
    }
    return norm2;
}

/* The learner's step from the minibatch's updated values and gradients;
 * returns the gradient's norm. */
static double learner_step(joint *J)
{
    const plast_schedule *S = &J->N->sched;
    double lr = J->o->learner_lr * J->S.lr_factor, norm2 = 0;
    J->L.t++;
    for (int b = 0; b < S->n_buf; b++) {
        int kind = S->buf[b].kind;
        if (kind != PLAST_BUF_STATE && kind != PLAST_BUF_PARAM) continue;
        const double *from = kind == PLAST_BUF_STATE ? J->final[b] : J->L.val[b];
        norm2 += adam(J->L.val[b], from, J->L.m[b], J->L.v[b], J->grad[b], learner_size(J->N, b), lr, J->L.t);
    }
    return sqrt(norm2);
}

static double meta_norm(const joint *J)
{
    double s = 0;
    for (int r = 0; r < J->N->n_rules; r++)
        for (int k = 0; k < J->N->rules[r].n_meta; k++) s += J->G[r][k] * J->G[r][k];
    return sqrt(s);
}

/* ---- the test split ---- */

static int evaluate(joint *J, double *loss, double *acc)
{
    const plast_dataset *d = J->test;
    int rows[TEST_CHUNK];
    double sum_loss = 0, sum_acc = 0;
    for (size_t first = 0; first < d->n; first += TEST_CHUNK) {
        int n = d->n - first < TEST_CHUNK ? (int)(d->n - first) : TEST_CHUNK;
        for (int k = 0; k < n; k++) rows[k] = (int)(first + (size_t)k);
        load_rows(J, d, rows, n, NULL);
        plast_episode_data ed = { J->x, J->y, 0, J->x, J->y, n, 1, 0 };
        plast_episode_opts eo = { .want_grad = 0 };
        plast_episode_out out;
        memset(&out, 0, sizeof out);
        if (plast_episode(J->N, (const double *const *)J->L.val, (const double *const *)J->S.theta, &ed, &eo, &out) < 0)
            return fail(J, "the test split: %s", out.what);
        sum_loss += out.meta_loss * n;
        sum_acc += out.accuracy * n;
    }
    *loss = sum_loss / (double)d->n;
    *acc = sum_acc / (double)d->n;
    J->res->test_loss = *loss;
    J->res->test_accuracy = *acc;
    return 0;
}

static int test_due(const joint *J, long done)
{
    long every = J->o->test_every > 0 ? J->o->test_every : J->per_epoch;
    return done % every == 0 || done == J->total;
}

static int test_and_log(joint *J, long done)
{
    double loss, acc;
    if (evaluate(J, &loss, &acc) < 0) return -1;
    char why[4352];
    if (joint_log_test(&J->log, done, done * J->o->batch, loss, acc, why, sizeof why) < 0) return fail(J, "%s", why);
    return 0;
}

/* ---- setup ---- */

static double **alloc_bufs(const plast_net *N, int kinds_state_param)
{
    double **a = calloc((size_t)N->sched.n_buf + 1, sizeof *a);
    for (int b = 0; a && b < N->sched.n_buf; b++) {
        int kind = N->sched.buf[b].kind;
        if (kinds_state_param && kind != PLAST_BUF_STATE && kind != PLAST_BUF_PARAM) continue;
        a[b] = calloc(learner_size(N, b) + 1, sizeof(double));
    }
    return a;
}

static void free_bufs(const plast_net *N, double **a)
{
    for (int b = 0; a && b < N->sched.n_buf; b++) free(a[b]);
    free(a);
}

static int check_opts(joint *J)
{
    const plast_joint_opts *o = J->o;
    const plast_schedule *S = &J->N->sched;
    if (o->batch < 1 || o->epochs < 1 || !(o->labelled > 0 && o->labelled <= 1) || !(o->learner_lr > 0))
        return fail(J, "joint training needs a minibatch and epochs of at least 1, a labelled fraction in (0, 1] "
                    "and a positive learning rate");
    if (J->train->dim != (size_t)S->buf[S->x].cols || J->test->dim != J->train->dim)
        return fail(J, "the data have %zu features per sample, but the network's input layer has %lld",
                    J->train->dim, (long long)S->buf[S->x].cols);
    if (J->test->n < 1) return fail(J, "the test split is empty");
    int classes = J->train->n_classes > J->test->n_classes ? J->train->n_classes : J->test->n_classes;
    if (S->target >= 0 && classes > S->buf[S->target].cols)
        return fail(J, "the data have %d classes, but the network's output layer has %lld neurons", classes,
                    (long long)S->buf[S->target].cols);
    J->per_epoch = (long)(J->train->n / (size_t)o->batch);
    if (J->per_epoch < 1)
        return fail(J, "a minibatch of %d is larger than the %zu training samples", o->batch, J->train->n);
    J->total = J->per_epoch * o->epochs;
    if (o->max_batches > 0 && o->max_batches < J->total) J->total = o->max_batches;
    return 0;
}

/* The learner's initial values, as every task of the episodic trainer
 * draws them (task 0). */
static int init_learner(joint *J)
{
    double **init = calloc((size_t)J->N->sched.n_buf + 1, sizeof *init);
    char err[256];
    if (!init) return fail(J, "cannot allocate the learner's buffer table");
    if (plast_draw_init(J->N, J->o->meta.seed, 0, init, err, sizeof err) < 0) { free(init); return fail(J, "%s", err); }
    for (int b = 0; b < J->N->sched.n_buf; b++)
        if (J->L.val[b] && init[b]) memcpy(J->L.val[b], init[b], learner_size(J->N, b) * sizeof(double));
    plast_free_init(J->N, init);
    free(init);
    return 0;
}

static int setup(joint *J, long *first)
{
    const plast_joint_opts *o = J->o;
    const plast_net *N = J->N;
    char err[256];
    J->mo = o->meta;
    if (check_opts(J) < 0) return -1;
    J->mo.episodes = (int)(J->total < 2000000000 ? J->total : 2000000000);
    size_t big = J->train->n > TEST_CHUNK ? J->train->n : TEST_CHUNK;
    J->label = malloc(J->train->n * sizeof *J->label);
    J->order = malloc(big * sizeof *J->order);
    J->x = malloc(((size_t)o->batch > TEST_CHUNK ? (size_t)o->batch : TEST_CHUNK) * J->train->dim * sizeof(double));
    J->y = malloc(((size_t)o->batch > TEST_CHUNK ? (size_t)o->batch : TEST_CHUNK) * sizeof *J->y);
    J->G = meta_alloc(N);
    J->final = alloc_bufs(N, 1);
    J->grad = alloc_bufs(N, 1);
    J->order_epoch = -1;
    if (!J->label || !J->order || !J->x || !J->y || !J->G || !J->final || !J->grad || learner_alloc(&J->L, N) < 0 ||
        learner_alloc(&J->prev, N) < 0 || meta_state_init(&J->S, N, &J->mo) < 0)
        return fail(J, "out of memory");
    choose_labels(J);
    *first = 0;
    if (o->meta.resume && joint_state_load(&J->L, &J->S, N, first, o->meta.out_dir, err, sizeof err) < 0)
        return fail(J, "%s", err);
    if (!o->meta.resume && init_learner(J) < 0) return -1;
    if (joint_log_open(&J->log, N, o->meta.out_dir, o->meta.resume, *first, err, sizeof err) < 0)
        return fail(J, "%s", err);
    return 0;
}

static void teardown(joint *J)
{
    joint_log_close(&J->log);
    free(J->label); free(J->order); free(J->x); free(J->y);
    meta_free(J->N, J->G);
    free_bufs(J->N, J->final); free_bufs(J->N, J->grad);
    learner_free(&J->L, J->N); learner_free(&J->prev, J->N);
    if (J->S.theta) meta_state_free(&J->S, J->N);
}

/* ---- the loop ---- */

/* A NaN or Inf minibatch: -1 to stop, 0 to go on (skipped or backtracked). */
static int nonfinite(joint *J, long t, const char *what)
{
    if (!J->mo.nonfinite_skip) return fail(J, "minibatch %ld: %s", t + 1, what);
    J->res->nonfinite_skipped++;
    fprintf(stderr, "plastcc: minibatch %ld skipped: %s\n", t + 1, what);
    if (J->mo.nonfinite_skip == 2 && J->S.has_prev) {
        meta_state_undo(&J->S, J->N);
        learner_copy(&J->L, &J->prev, J->N);
        J->S.lr_factor *= 0.5;
        fprintf(stderr, "plastcc: the steps before it undone, learning rates now x%g\n", J->S.lr_factor);
    }
    return 0;
}

/* |W' - W| / |W| of STATE buffer B: how much the rules' updates of the
 * minibatch changed it. */
static double relative_update(const joint *J, int b)
{
    double d = 0, w = 0;
    for (size_t k = 0; k < learner_size(J->N, b); k++) {
        double u = J->final[b][k] - J->L.val[b][k];
        d += u * u;
        w += J->L.val[b][k] * J->L.val[b][k];
    }
    return w > 0 ? sqrt(d / w) : 0;
}

/* At the first minibatch (before the learner's step): no gradient at all,
 * or rules' updates as large as half the weights themselves (HAT's
 * meta-MLP at its default scale adds about 3.6 times |W1| to a 784-183
 * layer, which saturates it: the learner then learns nothing), is reported. */
static void report_first_batch(joint *J, double loss)
{
    const plast_schedule *S = &J->N->sched;
    for (int b = 0; b < S->n_buf; b++) {
        double r = S->buf[b].kind == PLAST_BUF_STATE ? relative_update(J, b) : 0;
        if (!(r > 0.5)) continue;
        J->res->no_gradient = 1;
        fprintf(stderr, "plastcc: warning: the rules' first update changes %s by %.3g times its size "
                "(|%s' - %s| / |%s|): a step that large likely saturates its layer, which then learns nothing; give "
                "the rule a smaller output, e.g. `param eta = 1e-3 fixed; dw = eta * ...`, or its mlp "
                "`init output 0;`\n", S->buf[b].name, r, S->buf[b].name, S->buf[b].name, S->buf[b].name);
    }
    double g = 0;
    for (int b = 0; b < S->n_buf; b++)
        for (size_t k = 0; J->grad[b] && k < learner_size(J->N, b); k++) g += J->grad[b][k] * J->grad[b][k];
    if (!(loss > 0) || labelled_in(J, J->o->batch) == 0 || g != 0 || meta_norm(J) != 0) return;
    J->res->no_gradient = 1;
    train_warn_no_gradient("the first minibatch", loss);
}

static int one_batch(joint *J, long t, double t_start, long first)
{
    double t0 = plast_seconds();
    plast_episode_out out;
    if (run_batch(J, t, &out) < 0)
        return out.nonfinite ? nonfinite(J, t, out.what) : fail(J, "minibatch %ld: %s", t + 1, out.what);
    if (J->mo.nonfinite_skip == 2) { meta_state_remember(&J->S, J->N); learner_copy(&J->prev, &J->L, J->N); }
    joint_row row = { t + 1, (int)(t / J->per_epoch), (t + 1) * J->o->batch, out.meta_loss, out.accuracy, 0, 0,
                      meta_learning_rate(&J->mo, (int)t) * J->S.lr_factor, 0, 0 };
    if (t == 0) report_first_batch(J, out.meta_loss);
    row.learner_grad_norm = learner_step(J);
    plast_meta_step(&J->S, J->N, &J->mo, J->G, (int)t, &row.grad_norm, &row.clipped);
    J->S.episode = (int)(t + 1);
    row.seconds = plast_seconds() - t0;
    char why[4352];
    if (joint_log_batch(&J->log, &J->S, &row, why, sizeof why) < 0) return fail(J, "%s", why);
    train_progress(&J->mo, "minibatch", (int)(t + 1 - first), (int)(J->total - first), (int)(t + 1), (int)J->total, out.meta_loss,
                   out.accuracy, plast_seconds() - t_start);
    return 0;
}

/* Saves the state after DONE minibatches; on a failure, the first error
 * of the run stays the one reported (RC < 0: there is one already). */
static int save(joint *J, long done, int rc)
{
    char err[256];
    if (!J->o->meta.out_dir || joint_state_save(&J->L, &J->S, J->N, done, J->o->meta.out_dir, err, sizeof err) == 0)
        return rc;
    return rc < 0 ? rc : fail(J, "%s", err);
}

int plast_train_joint(const plast_net *N, const plast_dataset *train, const plast_dataset *test,
                      const plast_joint_opts *o, plast_joint_result *res)
{
    joint J;
    memset(&J, 0, sizeof J);
    memset(res->what, 0, sizeof res->what);
    res->batches_done = 0;
    res->nonfinite_skipped = res->no_gradient = res->stopped = 0;
    res->test_loss = res->test_accuracy = NAN;
    J.N = N; J.o = o; J.train = train; J.test = test; J.res = res;
    plast_cores cores;   /* the threads of each minibatch */
    plast_cores_start(&cores, o->meta.threads);
    long first = 0, done = 0;
    int rc = setup(&J, &first);
    if (rc < 0) first = 0;   /* a resume that could not start did nothing: no output is written again */
    done = first;
    if (rc == 0 && first == 0) rc = test_and_log(&J, 0);
    double t_start = plast_seconds();
    for (long t = first; rc == 0 && t < J.total; t++) {
        if (o->meta.stop && *o->meta.stop) {   /* a signal: the state of the minibatches done is saved below */
            res->stopped = 1;
            break;
        }
        plast_cores_pick(&cores);
        rc = one_batch(&J, t, t_start, first);
        if (rc == 0) done = t + 1;
        if (rc == 0 && test_due(&J, done)) rc = test_and_log(&J, done);
        if (rc == 0 && J.mo.checkpoint_every > 0 && done % J.mo.checkpoint_every == 0) rc = save(&J, done, rc);
    }
    /* a resume of a finished run trains nothing: its result is still the
     * trained learner's test accuracy (evaluated again, not logged again) */
    double loss, acc;
    if (rc == 0 && first > 0 && done == first && isnan(res->test_accuracy)) rc = evaluate(&J, &loss, &acc);
    train_progress_end(&J.mo);
    /* saved on a failure too: the last good minibatch stays resumable */
    if (J.S.theta && done > first) rc = save(&J, done, rc);
    res->batches_done = done;
    for (int r = 0; J.S.theta && res->meta && r < N->n_rules; r++)
        memcpy(res->meta[r], J.S.theta[r], (size_t)N->rules[r].n_meta * sizeof(double));
    teardown(&J);
    return rc;
}
