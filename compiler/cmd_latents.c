/* cmd_latents — plastcc latents: the representation a trained network
 * gives its data, and how good it is (paper 000, Balwani et al.).
 *
 *   compile the experiment -> its network with the weights of --state
 *   (NAME.npy per buffer, as plastcc episode) -> the samples (for generated
 *   2-D sets a fresh draw of the same distribution through the same
 *   projection, and its 2-D original) -> the forward pass (the eval calls)
 *   -> the signal that is the representation -> a linear probe's accuracy
 *   against the number of labels, and the earth mover's distance between
 *   its first two principal components and the 2-D original -> CSV, .npy
 *   and SVG in the output folder.  `--combine` puts several such folders
 *   side by side (latents_combine.c).
 */
#include "config.h"
#include "bind.h"
#include "driver.h"
#include "latents.h"
#include "outdir.h"
#include "state_npy.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: plastcc latents FILE [--experiment NAME] [--state DIR] --out DIR [--signal BUF]\n"
    "                       [--rules LEARNED.rule] [--train STEPS [--curve-every K]]\n"
    "                       [--samples N] [--labels 2,4,8,...] [--repeats R] [--points P]\n"
    "                       [--seed S] [--title TEXT] [--backend jit|c] [--force]\n"
    "       plastcc latents --combine OUT [--title TEXT] --group LABEL DIR... [--group LABEL DIR...]...\n"
    "\n"
    "The representation of the data by a trained network, and its quality.  The network\n"
    "is the experiment's model with the weights in DIR (W1.npy, Wrec1.npy, ..., as plastcc\n"
    "episode reads them), or drawn as the experiment's init says (task 2^40); with --train,\n"
    "it is first trained by the experiment's rules (their own meta-parameters, or those of\n"
    "--rules) for STEPS inner steps of the experiment's batch on fresh samples (data seed\n"
    "S + 2000003), and its final weights go to DIR/final/.  The measured samples: for\n"
    "moons, circles and blobs, N fresh samples of the same distribution (data seed S +\n"
    "1000003) through the experiment's projection; otherwise the first N of its data set.\n"
    "The representation is the signal BUF of the forward pass (default y<L-1>, the output\n"
    "of the layer below the readout; see plastcc emit-c --dump=schedule).\n"
    "\n"
    "Its quality: a logistic-regression probe (L2, C = 1) fitted on K labelled samples of\n"
    "the first half and scored on the second half, K in --labels, R draws each (mean and\n"
    "standard error); and the earth mover's distance between the first P samples' 2-D\n"
    "original and the first two principal components of their representation, both\n"
    "centred and scaled to a unit root-mean-square radius, at the best rotation or\n"
    "reflection of the plane (emd_aligned) and as they come (emd).  The input itself\n"
    "(its principal components) is measured the same way, as a reference.\n"
    "\n"
    "Writes to DIR: latents.npy [N, d], labels.npy, data2d.npy, latent2d.npy (aligned),\n"
    "probe.csv, summary.csv (loss, emd, emd_aligned, input_emd_aligned, final probe\n"
    "accuracy), latents.svg and data.svg (scatter by class), probe.svg; with --train,\n"
    "curve.csv and loss.svg (the loss on the measured samples along the training).\n"
    "\n"
    "  --state DIR        the weights (default: drawn)\n"
    "  --rules FILE       the meta-parameters of FILE's rules (a learned.rule of plastcc run)\n"
    "  --train STEPS      train for STEPS inner steps first (default 0)\n"
    "  --curve-every K    a point of the learning curve every K steps (default: about 50 points)\n"
    "  --signal BUF       the buffer that is the representation (default y<L-1>)\n"
    "  --samples N        samples (default 600)\n"
    "  --labels LIST      labelled samples of the probe (default 2,4,8,16,32,64,128,256)\n"
    "  --repeats R        draws per label count (default 20)\n"
    "  --points P         samples of the EMD (default 150; O(P^3) per assignment)\n"
    "  --seed S           the experiment's seed (default: its own): the projection and the data\n"
    "  --title TEXT       the figures' title\n"
    "  --combine OUT      put the folders of each group side by side: OUT/probe.csv and\n"
    "                     OUT/summary.csv (mean and standard error over a group's folders),\n"
    "                     OUT/probe.svg; with --train folders, OUT/loss.csv and loss.svg (the\n"
    "                     loss curves, same)\n";

static int parse_labels(const char *s, latents_args *a)
{
    a->n_labels = 0;
    for (const char *p = s; *p && a->n_labels < LATENTS_MAX_LABELS;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000000 || (*end && *end != ',')) return -1;
        a->labels[a->n_labels++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return a->n_labels ? 0 : -1;
}

/* An option with a value: 0 (consumed), 1 (not this kind), or a usage error's 2. */
static int parse_value(const char *s, const char *v, latents_args *a)
{
    long long n;
    if (!strcmp(s, "--experiment")) a->exp = v;
    else if (!strcmp(s, "--state")) a->state = v;
    else if (!strcmp(s, "--out")) a->out = v;
    else if (!strcmp(s, "--signal")) a->signal = v;
    else if (!strcmp(s, "--title")) a->title = v;
    else if (!strcmp(s, "--rules")) a->rules = v;
    else if (!strcmp(s, "--train")) { if (driver_parse_int(usage, s, v, 0, 10000000, &n)) return 2; a->train = (int)n; }
    else if (!strcmp(s, "--curve-every")) {
        if (driver_parse_int(usage, s, v, 1, 10000000, &n)) return 2;
        a->curve_every = (int)n;
    }
    else if (!strcmp(s, "--labels")) { if (parse_labels(v, a) < 0) return driver_usage_error(usage, "bad --labels '%s'", v); }
    else if (!strcmp(s, "--samples")) { if (driver_parse_int(usage, s, v, 4, 1000000, &n)) return 2; a->samples = (int)n; }
    else if (!strcmp(s, "--repeats")) { if (driver_parse_int(usage, s, v, 1, 100000, &n)) return 2; a->repeats = (int)n; }
    else if (!strcmp(s, "--points")) { if (driver_parse_int(usage, s, v, 2, 100000, &n)) return 2; a->points = (int)n; }
    else if (!strcmp(s, "--seed")) { if (driver_parse_int(usage, s, v, 0, 1LL << 53, &n)) return 2; a->seed = n; }
    else if (!strcmp(s, "--backend")) {
        if (strcmp(v, "c") && strcmp(v, "jit")) return driver_usage_error(usage, "unknown backend '%s'", v);
        a->use_c = !strcmp(v, "c");
    } else return 1;
    return 0;
}

static int parse(int argc, char **argv, latents_args *a)
{
    memset(a, 0, sizeof *a);
    a->samples = 600;
    a->repeats = 20;
    a->points = 150;
    a->seed = -1;
    static const int labels[] = { 2, 4, 8, 16, 32, 64, 128, 256 };
    a->n_labels = 8;
    memcpy(a->labels, labels, sizeof labels);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int rc = s[0] == '-' && i + 1 < argc ? parse_value(s, argv[i + 1], a) : 1;
        if (rc > 1) return rc;
        if (rc == 0) i++;
        else if (!strcmp(s, "--force")) a->force = 1;
        else if (s[0] == '-' && s[1]) return driver_usage_error(usage, "unknown option or missing value: '%s'", s);
        else if (a->file) return driver_usage_error(usage, "%s", "latents takes one FILE");
        else a->file = s;
    }
    if (!a->file || !a->out) return driver_usage_error(usage, "%s", "latents needs FILE and --out");
    if (!a->curve_every) a->curve_every = a->train >= 50 ? a->train / 50 : 1;
    return 0;
}

/* ---- the samples ---- */

/* The experiment's samples (projected) into D and, for a generated 2-D set,
 * its original into ORIG (else ORIG->n is 0): N fresh samples of the same
 * distribution (data seed + OFFSET), projected as the experiment is. */
static int load_samples(const sema_experiment *x, uint64_t seed, uint64_t offset, int n, plast_dataset *d,
                        plast_dataset *orig, char *err, size_t errlen)
{
    memset(orig, 0, sizeof *orig);
    sema_experiment raw = *x;
    int generated = x->data.kind == DATA_MOONS || x->data.kind == DATA_CIRCLES || x->data.kind == DATA_BLOBS;
    if (!generated) return bind_load_data(x, seed, d, err, errlen);
    raw.data.project = 0;
    raw.data.n = n;
    if (bind_load_data(&raw, seed + offset, orig, err, errlen) < 0) return -1;
    if (bind_load_data(&raw, seed + offset, d, err, errlen) < 0) return -1;
    if (x->data.project > 0 && plast_project(d, (size_t)x->data.project, seed) < 0) {
        snprintf(err, errlen, "cannot project the samples to %d dimensions", x->data.project);
        return -1;
    }
    return 0;
}

/* ---- the forward pass ---- */

/* The buffer named NAME, or y<L-1>. */
static int find_signal(const plast_net *N, const sema_model *m, const char *name, char *err, size_t errlen)
{
    char dflt[32];
    snprintf(dflt, sizeof dflt, "y%d", m->n_layers - 1);
    if (!name) name = dflt;
    for (int b = 0; b < N->sched.n_buf; b++) {
        int kind = N->sched.buf[b].kind;
        if (!strcmp(N->sched.buf[b].name, name) && (kind == PLAST_BUF_SIGNAL || kind == PLAST_BUF_DATA)) return b;
    }
    snprintf(err, errlen, "the network has no signal '%s' (plastcc emit-c --dump=schedule lists its buffers)", name);
    return -1;
}

/* Rows of D as the labels an episode takes: the class, or -1 without a
 * target (autoencoding). */
static int32_t *episode_labels(const plast_net *N, const plast_dataset *d)
{
    int32_t *y = malloc((d->n ? d->n : 1) * sizeof *y);
    for (size_t i = 0; y && i < d->n; i++) y[i] = N->sched.target >= 0 ? d->label[i] : -1;
    return y;
}

typedef struct pass {
    const plast_dataset *train;    /* or NULL: no training */
    int steps, batch, curve_every;
    double *curve;                 /* [1 + steps / curve_every] */
    double **final;                /* [n_buf] the final STATE values */
} pass;

/* One episode: STEPS inner steps on TRAIN (none without), then the eval
 * calls on every sample of D: the signal SIG into OUT [n][cols], the mean
 * loss into *LOSS, the learning curve on D. */
static int episode(const plast_net *N, const double *const *init, const double *const *meta, const plast_dataset *d,
                   const pass *ps, int sig, double *out, double *loss, char *err, size_t errlen)
{
    int32_t *y = episode_labels(N, d), *yt = ps->train ? episode_labels(N, ps->train) : NULL;
    double **sigs = calloc((size_t)N->sched.n_buf + 1, sizeof *sigs);
    double *acc = ps->train ? calloc((size_t)(ps->steps / ps->curve_every + 1), sizeof *acc) : NULL;
    if (!y || !sigs || (ps->train && (!yt || !acc))) {
        free(y); free(yt); free(sigs); free(acc);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const plast_dataset *t = ps->train ? ps->train : d;
    plast_episode_data ed = { t->x, ps->train ? yt : y, (int)t->n, d->x, y, (int)d->n, ps->train ? ps->batch : 1,
                              ps->train ? ps->steps : 0 };
    plast_episode_opts eo = { .want_grad = 0, .curve_every = ps->train ? ps->curve_every : 0,
                              .curve_loss = ps->curve, .curve_acc = acc };
    plast_episode_out eout;
    memset(&eout, 0, sizeof eout);
    sigs[sig] = out;
    eout.signals = sigs;
    eout.final = ps->final;
    int rc = plast_episode(N, init, meta, &ed, &eo, &eout);
    if (rc < 0) snprintf(err, errlen, "the episode failed: %s", eout.what);
    *loss = eout.meta_loss;
    free(y); free(yt); free(sigs); free(acc);
    return rc;
}

/* ---- one run ---- */

typedef struct run {
    bound_net bn;
    plast_array *files;
    double **init, *meta[PLAST_MAX_LAYERS], **final, *curve;
    plast_dataset d, orig, train, train_orig;
    double *lat;
} run;

static void run_free(run *R)
{
    const plast_net *N = &R->bn.net;
    if (R->files) state_free_buffers(N, R->files, R->init);
    else if (R->init) plast_free_init(N, R->init);
    for (int b = 0; R->final && b < N->sched.n_buf; b++) free(R->final[b]);
    free(R->files); free(R->init); free(R->final); free(R->curve);
    for (int r = 0; r < PLAST_MAX_LAYERS; r++) free(R->meta[r]);
    plast_dataset_free(&R->d); plast_dataset_free(&R->orig);
    plast_dataset_free(&R->train); plast_dataset_free(&R->train_orig);
    free(R->lat);
    bind_free(&R->bn);
}

/* The starting weights: DIR's, or drawn (task 2^40 of SEED). */
static int start_weights(const latents_args *a, run *R, uint64_t seed, char *err, size_t errlen)
{
    const plast_net *N = &R->bn.net;
    R->init = calloc((size_t)N->sched.n_buf + 1, sizeof *R->init);
    if (!R->init) { snprintf(err, errlen, "out of memory"); return -1; }
    if (!a->state) return plast_draw_init(N, seed, 1ull << 40, R->init, err, errlen);
    R->files = calloc((size_t)N->sched.n_buf + 1, sizeof *R->files);
    if (!R->files) { snprintf(err, errlen, "out of memory"); return -1; }
    return state_load_buffers(a->state, N, R->files, R->init) < 0 ? -2 : 0;
}

/* With --train: the training samples, the curve and the final weights' arrays. */
static int training(const latents_args *a, const sema_experiment *x, run *R, uint64_t seed, char *err, size_t errlen)
{
    const plast_net *N = &R->bn.net;
    if (!a->train) return 0;
    long n = (long)a->train * x->batch;
    if (load_samples(x, seed, 2000003, (int)(n < 20000 ? n : 20000), &R->train, &R->train_orig, err, errlen) < 0)
        return -1;
    R->curve = calloc((size_t)(a->train / a->curve_every + 1), sizeof *R->curve);
    R->final = calloc((size_t)N->sched.n_buf + 1, sizeof *R->final);
    for (int b = 0; R->final && b < N->sched.n_buf; b++)
        if (N->sched.buf[b].kind == PLAST_BUF_STATE)
            R->final[b] = malloc((size_t)N->sched.buf[b].rows * (size_t)N->sched.buf[b].cols * sizeof(double));
    if (!R->curve || !R->final) { snprintf(err, errlen, "out of memory"); return -1; }
    return 0;
}

/* DIR/final/NAME.npy for each STATE buffer. */
static int write_final(const char *dir, const plast_net *N, double **final)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/final", dir);
    if (plast_mkdirs(path) != 0) { fprintf(stderr, "plastcc: cannot create %s\n", path); return -1; }
    int rc = 0;
    for (int b = 0; b < N->sched.n_buf; b++)
        if (final[b]) rc |= state_write_npy(path, N->sched.buf[b].name, final[b], 2, (size_t)N->sched.buf[b].rows,
                                            (size_t)N->sched.buf[b].cols);
    return rc;
}

static int run_latents(const latents_args *a, const compiled_unit *u, backend_module *m, const sema_experiment *x)
{
    char err[1024] = "";
    run R;
    memset(&R, 0, sizeof R);
    uint64_t seed = a->seed >= 0 ? (uint64_t)a->seed : x->seed;
    int rc = bind_net(u, m, x, &R.bn, err, sizeof err);
    const plast_net *N = &R.bn.net;
    int sig = -1;
    if (rc == 0 && bind_learned_meta(a->rules, &R.bn, R.meta) < 0) rc = -2;
    if (rc == 0) rc = start_weights(a, &R, seed, err, sizeof err);
    if (rc == 0 && (sig = find_signal(N, u->prog->models[x->model], a->signal, err, sizeof err)) < 0) rc = -1;
    if (rc == 0) rc = load_samples(x, seed, 1000003, a->samples, &R.d, &R.orig, err, sizeof err);
    if (rc == 0) rc = training(a, x, &R, seed, err, sizeof err);
    double loss = NAN;
    size_t dim = sig >= 0 ? (size_t)N->sched.buf[sig].cols : 0;
    if (rc == 0 && !(R.lat = malloc(R.d.n * dim * sizeof *R.lat))) { snprintf(err, sizeof err, "out of memory"); rc = -1; }
    pass ps = { a->train ? &R.train : NULL, a->train, x->batch, a->curve_every, R.curve, R.final };
    if (rc == 0) rc = episode(N, (const double *const *)R.init, (const double *const *)R.meta, &R.d, &ps, sig, R.lat,
                              &loss, err, sizeof err);
    if (rc == 0 && a->train && (write_final(a->out, N, R.final) < 0 ||
                                latents_curve(a, R.curve, a->train / a->curve_every + 1, x->batch) < 0))
        rc = -2;
    if (rc == 0) {
        latents_rep rep = { R.lat, R.d.label, R.d.n, dim, R.d.n_classes, R.orig.n ? R.orig.x : NULL, R.d.x, R.d.dim,
                            loss, N->sched.buf[sig].name };
        rc = latents_measure(a, &rep, seed, err, sizeof err);
    }
    if (rc == -1) fprintf(stderr, "plastcc: %s\n", err);
    run_free(&R);
    return rc < 0;
}

int cmd_latents(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--combine")) return latents_combine(argc, argv, usage);
    latents_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc;
    char name[256];
    if (!a.exp) {
        if ((rc = driver_only_experiment(a.file, name, sizeof name))) return rc == 2 ? 2 : 1;
        a.exp = name;
    }
    int not_found;
    compiled_unit *u = pipeline_compile_experiment(a.file, a.exp, &not_found);
    if (!u) {
        if (not_found) fprintf(stderr, "plastcc: %s has no experiment '%s'\n", a.file, a.exp);
        else driver_report_errors();
        return 1;
    }
    static const char *const outputs[] = { "summary.csv", "probe.csv", "latents.npy", "labels.npy", "data2d.npy",
                                            "latent2d.npy", "latents.svg", "data.svg", "probe.svg", "curve.csv",
                                            "loss.svg" };
    int lock = driver_take_folder(a.out, "plastcc latents", outputs, sizeof outputs / sizeof *outputs, 2, a.force,
                                  "plastcc latents", "");
    if (lock < 0) { pipeline_free(u); return 1; }
    char err[512];
    const sema_experiment *x = u->prog->experiments[sema_find_experiment(u->prog, a.exp)];
    backend_module *m = bind_load(u, a.file, x, a.use_c, 0, err, sizeof err);
    if (!m) { fprintf(stderr, "plastcc: %s\n", err); pipeline_free(u); plast_outdir_unlock(lock); return 1; }
    rc = run_latents(&a, u, m, x);
    backend_close(m);
    pipeline_free(u);
    plast_outdir_unlock(lock);
    return rc;
}
