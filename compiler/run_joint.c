/* run_joint — `plastcc run` on an experiment with `train joint` (paper 001):
 *
 *   the training data (loaded by cmd_run) and a test split -> the options
 *   -> plast_train_joint -> log.csv, test.csv, joint-state.txt, run.txt,
 *   learned.rule, meta.csv, learning-curve.svg, train-loss.svg.
 *
 * The test split: Fashion-MNIST's own test set; for any other source, the
 * last sixth of a seeded shuffle of the samples (the rest trains).
 */
#include "config.h"
#include "run_joint.h"
#include "outdir.h"
#include "learned.h"
#include "rng.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows ROWS[0..n) of D as a new data set OUT, in D's own representation. */
static int take_rows(const plast_dataset *d, const int *rows, size_t n, plast_dataset *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->dim = d->dim;
    out->n_classes = d->n_classes;
    out->label = malloc((n ? n : 1) * sizeof *out->label);
    if (d->x_u8) out->x_u8 = malloc((n ? n : 1) * d->dim);
    else out->x = malloc((n ? n : 1) * d->dim * sizeof(double));
    if (!out->label || (!out->x_u8 && !out->x)) { plast_dataset_free(out); return -1; }
    for (size_t k = 0; k < n; k++) {
        size_t r = (size_t)rows[k];
        out->label[k] = d->label[r];
        if (d->x_u8) memcpy(out->x_u8 + k * d->dim, d->x_u8 + r * d->dim, d->dim);
        else memcpy(out->x + k * d->dim, d->x + r * d->dim, d->dim * sizeof(double));
    }
    return 0;
}

/* ALL split by a shuffle from SEED: the first five sixths train, the rest tests. */
static int hold_out(const plast_dataset *all, uint64_t seed, plast_dataset *train, plast_dataset *test)
{
    int *order = malloc((all->n ? all->n : 1) * sizeof *order);
    if (!order) return -1;
    for (size_t i = 0; i < all->n; i++) order[i] = (int)i;
    plast_rng r = plast_rng_stream(seed, 1, PLAST_RNG_LABELS);
    plast_rng_shuffle(&r, order, all->n);
    size_t n_test = all->n / 6;
    int rc = take_rows(all, order, all->n - n_test, train);
    if (rc == 0 && take_rows(all, order + (all->n - n_test), n_test, test) < 0) { plast_dataset_free(train); rc = -1; }
    free(order);
    return rc;
}

/* The test split of experiment X; DATA becomes the training split when the
 * test split is held out of it. */
static int test_split(const sema_experiment *x, uint64_t seed, plast_dataset *data, plast_dataset *test, char *err,
                      size_t errlen)
{
    if (x->data.kind == DATA_FASHION_MNIST) {
        if (plast_load_fashion_mnist(1, test, err, errlen) < 0) return -1;
        if (x->data.project > 0 && plast_project(test, (size_t)x->data.project, seed) < 0) {
            snprintf(err, errlen, "cannot project the test split to %d dimensions", x->data.project);
            return -1;
        }
        return 0;
    }
    plast_dataset train;
    if (hold_out(data, seed, &train, test) < 0) { snprintf(err, errlen, "out of memory for the test split"); return -1; }
    plast_dataset_free(data);
    *data = train;
    return 0;
}

/* `scale PARAM [..]` of X for each rule of BN (1 elsewhere); `auto` needs
 * episodes (probe tasks) and is refused. */
static double **joint_scales(const sema_experiment *x, const bound_net *bn, char *err, size_t errlen)
{
    double **s = calloc((size_t)bn->net.n_rules + 1, sizeof *s);
    for (int r = 0; s && r < bn->net.n_rules; r++) {
        s[r] = malloc((size_t)(bn->rules[r].n_meta + 1) * sizeof(double));
        for (int k = 0; s[r] && k < bn->rules[r].n_meta; k++) s[r][k] = 1;
        for (int i = 0; s[r] && i < x->n_scales; i++) {
            const sema_scale *sc = &x->scales[i];
            if (bn->compiled[r]->rule != sc->rule_ptr) continue;
            if (sc->is_auto) {
                snprintf(err, errlen, "scale %s auto measures terms on probe tasks, which train joint has none of; "
                         "give the scales as numbers", sc->rule_ptr->params[sc->param].name);
                return s;   /* the caller sees ERR */
            }
            const sema_param *prm = &sc->rule_ptr->params[sc->param];
            for (int k = 0; k < (prm->size ? prm->size : 1); k++) s[r][prm->offset + k] = sc->values[k];
        }
    }
    return s;
}

static void joint_opts(const sema_experiment *x, const plast_train_opts *o, double **scale, plast_joint_opts *j)
{
    memset(j, 0, sizeof *j);
    j->meta = *o;
    j->meta.scale = scale;
    j->meta.auto_scale = NULL;
    j->meta.checkpoint_every = x->checkpoint_every;
    j->batch = x->batch;
    j->epochs = x->epochs;
    j->max_batches = x->max_batches;
    j->labelled = x->labelled;
    j->test_every = x->test_every;
    j->learner_lr = x->learner_lr;
}

/* DIR/run.txt: the run's settings and results as "key value" lines, written whole. */
static int write_run_txt(const char *dir, const sema_experiment *x, const plast_joint_opts *j,
                         const plast_joint_result *res)
{
    char path[4096], err[4608];
    plast_file out;
    snprintf(path, sizeof path, "%s/run.txt", dir);
    FILE *f = plast_file_create(&out, path, err, sizeof err);
    if (f) fprintf(f, "experiment %s\nscheme joint\nseed %llu\nlabelled %.17g\nbatch %d\nepochs %d\nbatches %ld\n"
                   "test_loss %.10g\ntest_accuracy %.6g\n", x->name, (unsigned long long)j->meta.seed, j->labelled,
                   j->batch, j->epochs, res->batches_done, res->test_loss, res->test_accuracy);
    if (f && plast_file_commit(&out, err, sizeof err) == 0) return 0;
    fprintf(stderr, "plastcc: %s\n", err);
    return -1;
}

static int outputs(const compiled_unit *u, const bound_net *bn, const sema_experiment *x, const char *file,
                   const plast_joint_opts *j, const plast_joint_result *res, double **meta, double **scale)
{
    const char *dir = j->meta.out_dir;
    char header[512], err[512];
    snprintf(header, sizeof header, "Learned by `plastcc run %s --experiment %s` (train joint) after %ld minibatches.",
             file, x->name, res->batches_done);
    int rc = learned_write_files(dir, u->prog, bn, meta, scale, header, err, sizeof err);
    if (rc < 0) fprintf(stderr, "plastcc: %s\n", err);
    rc |= write_run_txt(dir, x, j, res);
    if (plast_plot_joint(dir, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); rc = -1; }
    printf("%s: %ld minibatches (%ld samples), test accuracy %.4f (loss %.4f)\n", x->name, res->batches_done,
           res->batches_done * j->batch, res->test_accuracy, res->test_loss);
    if (res->nonfinite_skipped)
        printf("%d minibatch%s skipped for a NaN or Inf, named on stderr\n", res->nonfinite_skipped,
               res->nonfinite_skipped == 1 ? "" : "es");
    if (rc == 0)   /* else each file not written was named above */
        printf("results in %s/ (log.csv, test.csv, joint-state.txt, learned.rule, learning-curve.svg, train-loss.svg)\n",
               dir);
    return rc;
}

int run_joint(const compiled_unit *u, const bound_net *bn, const sema_experiment *x, const char *file,
              const plast_train_opts *o, plast_dataset *data)
{
    char err[512] = "";
    plast_dataset test;
    memset(&test, 0, sizeof test);
    double **scale = joint_scales(x, bn, err, sizeof err);
    double *meta[PLAST_MAX_LAYERS] = { 0 };
    int rc = !scale || err[0] || test_split(x, o->seed, data, &test, err, sizeof err) < 0 ? -1 : 0;
    if (rc < 0) fprintf(stderr, "plastcc: %s\n", err[0] ? err : "out of memory");
    plast_joint_opts j;
    joint_opts(x, o, scale, &j);
    plast_joint_result res;
    memset(&res, 0, sizeof res);
    for (int r = 0; r < bn->net.n_rules; r++) meta[r] = calloc((size_t)bn->rules[r].n_meta + 1, sizeof(double));
    res.meta = meta;
    if (rc == 0 && (rc = plast_train_joint(&bn->net, data, &test, &j, &res)) < 0)
        fprintf(stderr, "plastcc: run stopped: %s\n", res.what);
    if (res.batches_done > 0 && outputs(u, bn, x, file, &j, &res, meta, scale) < 0) rc = -1;
    if (res.stopped && res.batches_done > 0)
        fprintf(stderr, "plastcc: stopped after minibatch %ld; %s %s; continue with --resume %s\n",
                res.batches_done, rc < 0 ? "its state and log are in" : "the results so far are in", o->out_dir,
                o->out_dir);
    else if (res.stopped)
        fprintf(stderr, "plastcc: stopped before the first minibatch\n");
    else if (rc < 0 && res.batches_done > 0)   /* the state is written whole or not at all: the last one stands */
        fprintf(stderr, "plastcc: %s keeps the state last saved; continue with --resume %s\n", o->out_dir, o->out_dir);
    for (int r = 0; r < bn->net.n_rules; r++) { free(meta[r]); if (scale) free(scale[r]); }
    free(scale);
    plast_dataset_free(&test);
    return rc == 0 && res.stopped ? RUN_JOINT_STOPPED : rc < 0;
}
