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

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: plastcc latents FILE [--experiment NAME] --state DIR --out DIR [--signal BUF]\n"
    "                       [--samples N] [--labels 2,4,8,...] [--repeats R] [--points P]\n"
    "                       [--seed S] [--title TEXT] [--backend jit|c] [--force]\n"
    "       plastcc latents --combine OUT [--title TEXT] --group LABEL DIR... [--group LABEL DIR...]...\n"
    "\n"
    "The representation of the data by a trained network, and its quality.  The network\n"
    "is the experiment's model with the weights in DIR (W1.npy, Wrec1.npy, ..., as plastcc\n"
    "episode reads them; a joint run writes them to its final/ folder).  The samples: for\n"
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
    "accuracy), latents.svg and data.svg (scatter by class), probe.svg.\n"
    "\n"
    "  --signal BUF       the buffer that is the representation (default y<L-1>)\n"
    "  --samples N        samples (default 600)\n"
    "  --labels LIST      labelled samples of the probe (default 2,4,8,16,32,64,128,256)\n"
    "  --repeats R        draws per label count (default 20)\n"
    "  --points P         samples of the EMD (default 150; O(P^3) per assignment)\n"
    "  --seed S           the experiment's seed (default: its own): the projection and the data\n"
    "  --title TEXT       the figures' title\n"
    "  --combine OUT      put the folders of each group side by side: OUT/probe.csv and\n"
    "                     OUT/summary.csv (mean and standard error over a group's folders),\n"
    "                     OUT/probe.svg\n";

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
    if (!a->file || !a->state || !a->out)
        return driver_usage_error(usage, "%s", "latents needs FILE, --state and --out");
    return 0;
}

/* ---- the samples ---- */

/* The experiment's samples (projected) into D and, for a generated 2-D set,
 * its original into ORIG (else ORIG->n is 0): N fresh samples of the same
 * distribution (data seed + 1000003), projected as the experiment is. */
static int load_samples(const sema_experiment *x, uint64_t seed, int n, plast_dataset *d, plast_dataset *orig,
                        char *err, size_t errlen)
{
    memset(orig, 0, sizeof *orig);
    sema_experiment raw = *x;
    int generated = x->data.kind == DATA_MOONS || x->data.kind == DATA_CIRCLES || x->data.kind == DATA_BLOBS;
    if (!generated) return bind_load_data(x, seed, d, err, errlen);
    raw.data.project = 0;
    raw.data.n = n;
    if (bind_load_data(&raw, seed + 1000003, orig, err, errlen) < 0) return -1;
    if (bind_load_data(&raw, seed + 1000003, d, err, errlen) < 0) return -1;
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

/* The eval calls on every sample of D with the weights INIT: the signal SIG
 * into OUT [n][cols], the mean loss into *LOSS. */
static int forward(const plast_net *N, const double *const *init, const double *const *meta, const plast_dataset *d,
                   int sig, double *out, double *loss, char *err, size_t errlen)
{
    int32_t *y = malloc(d->n * sizeof *y);
    double **sigs = calloc((size_t)N->sched.n_buf + 1, sizeof *sigs);
    if (!y || !sigs) { free(y); free(sigs); snprintf(err, errlen, "out of memory"); return -1; }
    for (size_t i = 0; i < d->n; i++) y[i] = N->sched.target >= 0 ? d->label[i] : -1;
    plast_episode_data ed = { d->x, y, (int)d->n, d->x, y, (int)d->n, 1, 0 };
    plast_episode_opts eo = { .want_grad = 0 };
    plast_episode_out eout;
    memset(&eout, 0, sizeof eout);
    sigs[sig] = out;
    eout.signals = sigs;
    int rc = plast_episode(N, init, meta, &ed, &eo, &eout);
    if (rc < 0) snprintf(err, errlen, "the forward pass failed: %s", eout.what);
    *loss = eout.meta_loss;
    free(y);
    free(sigs);
    return rc;
}

/* ---- one run ---- */

typedef struct run {
    bound_net bn;
    plast_array *files;
    double **init, *meta[PLAST_MAX_LAYERS];
    plast_dataset d, orig;
    double *lat;
} run;

static void run_free(run *R)
{
    if (R->files) state_free_buffers(&R->bn.net, R->files, R->init);
    free(R->files);
    free(R->init);
    for (int r = 0; r < PLAST_MAX_LAYERS; r++) free(R->meta[r]);
    plast_dataset_free(&R->d);
    plast_dataset_free(&R->orig);
    free(R->lat);
    bind_free(&R->bn);
}

static int run_latents(const latents_args *a, const compiled_unit *u, backend_module *m, const sema_experiment *x)
{
    char err[1024];
    run R;
    memset(&R, 0, sizeof R);
    uint64_t seed = a->seed >= 0 ? (uint64_t)a->seed : x->seed;
    int rc = bind_net(u, m, x, &R.bn, err, sizeof err);
    const plast_net *N = &R.bn.net;
    int sig = -1;
    if (rc == 0) {
        R.files = calloc((size_t)N->sched.n_buf + 1, sizeof *R.files);
        R.init = calloc((size_t)N->sched.n_buf + 1, sizeof *R.init);
        for (int r = 0; r < N->n_rules; r++) {
            R.meta[r] = calloc((size_t)N->rules[r].n_meta + 1, sizeof(double));
            memcpy(R.meta[r], N->rules[r].init, (size_t)N->rules[r].n_meta * sizeof(double));
        }
        if (state_load_buffers(a->state, N, R.files, R.init) < 0) rc = -2;
    }
    if (rc == 0) sig = find_signal(N, u->prog->models[x->model], a->signal, err, sizeof err);
    if (rc == 0 && sig < 0) rc = -1;
    if (rc == 0) rc = load_samples(x, seed, a->samples, &R.d, &R.orig, err, sizeof err);
    double loss = NAN;
    size_t dim = sig >= 0 ? (size_t)N->sched.buf[sig].cols : 0;
    if (rc == 0 && !(R.lat = malloc(R.d.n * dim * sizeof *R.lat))) { snprintf(err, sizeof err, "out of memory"); rc = -1; }
    if (rc == 0) rc = forward(N, (const double *const *)R.init, (const double *const *)R.meta, &R.d, sig, R.lat,
                              &loss, err, sizeof err);
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
                                            "latent2d.npy", "latents.svg", "data.svg", "probe.svg" };
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
