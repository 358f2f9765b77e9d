/* latents_measure — the quality of one run's representation (latents.h):
 *
 *   probe:  plast_probe_curve, K labels drawn from the first half of the
 *           samples, scored on the second half (l2 = 1: C = 1);
 *   EMD:    the first P samples' representation brought to 2-D by its first
 *           two principal components, the 2-D original likewise centred and
 *           both scaled to a unit RMS radius (plast_normalise_cloud), then
 *           plast_emd as they come and plast_emd_aligned at the best rotation
 *           or reflection (principal axes have no fixed orientation); the
 *           network's input, brought to 2-D the same way, is the reference;
 *   files:  latents.npy, labels.npy, data2d.npy, latent2d.npy, probe.csv,
 *           summary.csv, latents.svg, data.svg, probe.svg.
 */
#include "config.h"
#include "latents.h"
#include "outdir.h"
#include "state_npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct measures {
    double emd, emd_aligned, input_emd_aligned;
    int counts[LATENTS_MAX_LABELS], n_counts;
    double acc[LATENTS_MAX_LABELS], se[LATENTS_MAX_LABELS];
    double *lat2d, *orig2d;       /* [P][2], normalised; lat2d aligned */
    size_t points;
} measures;

/* The representation X [n][dim] of P points as a normalised 2-D cloud OUT. */
static int to_plane(const double *x, size_t p, size_t dim, double *out)
{
    if (dim >= 2) {
        if (plast_pca(x, p, dim, 2, out, NULL) < 0) return -1;
    } else {
        for (size_t i = 0; i < p; i++) { out[2 * i] = x[i * dim]; out[2 * i + 1] = 0; }
    }
    plast_normalise_cloud(out, p, 2);
    return 0;
}

static int measure_emd(const latents_rep *r, size_t p, measures *M, char *err, size_t errlen)
{
    M->points = p;
    M->emd = M->emd_aligned = M->input_emd_aligned = NAN;
    if (!r->orig2d) return 0;
    double *in2d = malloc(2 * p * sizeof *in2d), *tmp = malloc(2 * p * sizeof *tmp);
    M->lat2d = malloc(2 * p * sizeof *M->lat2d);
    M->orig2d = malloc(2 * p * sizeof *M->orig2d);
    int rc = in2d && tmp && M->lat2d && M->orig2d ? 0 : -1;
    if (rc == 0) {
        memcpy(M->orig2d, r->orig2d, 2 * p * sizeof *M->orig2d);
        plast_normalise_cloud(M->orig2d, p, 2);
        rc = to_plane(r->lat, p, r->dim, tmp) | to_plane(r->input, p, r->input_dim, in2d);
    }
    if (rc == 0) {
        M->emd = plast_emd(tmp, M->orig2d, p, 2);
        M->emd_aligned = plast_emd_aligned(tmp, M->orig2d, p, M->lat2d);
        M->input_emd_aligned = plast_emd_aligned(in2d, M->orig2d, p, NULL);
    }
    free(in2d);
    free(tmp);
    if (rc < 0) snprintf(err, errlen, "out of memory for the earth mover's distance");
    return rc;
}

static int measure_probe(const latents_args *a, const latents_rep *r, uint64_t seed, measures *M, char *err,
                         size_t errlen)
{
    size_t n_train = r->n / 2;
    M->n_counts = 0;
    for (int k = 0; k < a->n_labels; k++)
        if (a->labels[k] >= r->n_classes && (size_t)a->labels[k] <= n_train) M->counts[M->n_counts++] = a->labels[k];
    if (!M->n_counts) {
        snprintf(err, errlen, "no label count of --labels lies between %d (the classes) and %zu (half the samples)",
                 r->n_classes, n_train);
        return -1;
    }
    return plast_probe_curve(r->lat, r->label, r->n, r->dim, r->n_classes, n_train, M->counts, M->n_counts,
                             a->repeats, seed, 1.0, M->acc, M->se, err, errlen);
}

/* ---- files ---- */

static int write_arrays(const latents_args *a, const latents_rep *r, const measures *M)
{
    double *lab = malloc(r->n * sizeof *lab);
    if (!lab) return -1;
    for (size_t i = 0; i < r->n; i++) lab[i] = r->label[i];
    int rc = state_write_npy(a->out, "latents", r->lat, 2, r->n, r->dim);
    char path[4096], err[512];
    plast_array la = { 1, { r->n }, lab };
    snprintf(path, sizeof path, "%s/labels.npy", a->out);
    if (plast_npy_write_i64(path, &la, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); rc = -1; }
    free(lab);
    if (M->lat2d) {
        rc |= state_write_npy(a->out, "data2d", M->orig2d, 2, M->points, 2);
        rc |= state_write_npy(a->out, "latent2d", M->lat2d, 2, M->points, 2);
    }
    return rc;
}

static FILE *open_csv(plast_file *f, const char *dir, const char *name)
{
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *out = plast_file_create(f, path, err, sizeof err);
    if (!out) fprintf(stderr, "plastcc: %s\n", err);
    return out;
}

static int commit(plast_file *f)
{
    char err[1024];
    if (plast_file_commit(f, err, sizeof err) == 0) return 0;
    fprintf(stderr, "plastcc: %s\n", err);
    return -1;
}

static int write_csvs(const latents_args *a, const latents_rep *r, const measures *M)
{
    plast_file pf, sf;
    FILE *p = open_csv(&pf, a->out, "probe.csv");
    if (!p) return -1;
    fputs("labels,accuracy,se\n", p);
    for (int k = 0; k < M->n_counts; k++) fprintf(p, "%d,%.10g,%.10g\n", M->counts[k], M->acc[k], M->se[k]);
    if (commit(&pf) < 0) return -1;
    FILE *s = open_csv(&sf, a->out, "summary.csv");
    if (!s) return -1;
    fprintf(s, "signal,dim,samples,loss,emd,emd_aligned,input_emd_aligned,emd_points,probe_labels,probe_accuracy\n"
            "%s,%zu,%zu,%.10g,%.10g,%.10g,%.10g,%zu,%d,%.10g\n", r->signal, r->dim, r->n, r->loss, M->emd,
            M->emd_aligned, M->input_emd_aligned, M->points, M->counts[M->n_counts - 1], M->acc[M->n_counts - 1]);
    return commit(&sf);
}

/* A scatter of the 2-D points XY [n][2] by class. */
static int scatter(const char *path, const char *title, const double *xy, const int32_t *label, size_t n,
                   int n_classes)
{
    enum { MAX_CLASSES = 10 };
    int classes = n_classes < MAX_CLASSES ? n_classes : MAX_CLASSES;
    plast_series S[MAX_CLASSES];
    double *xs = malloc(2 * n * sizeof *xs);
    char names[MAX_CLASSES][16], err[1024];
    if (!xs) return -1;
    size_t at = 0;
    for (int c = 0; c < classes; c++) {
        size_t first = at;
        for (size_t i = 0; i < n; i++)
            if (label[i] == c) { xs[at] = xy[2 * i]; xs[n + at] = xy[2 * i + 1]; at++; }
        snprintf(names[c], sizeof names[c], "class %d", c);
        S[c] = (plast_series){ names[c], xs + first, xs + n + first, NULL, NULL, (int)(at - first), 1 };
    }
    plast_chart ch = { title, "component 1", "component 2", S, classes, 0, 0 };
    int rc = plast_chart_svg(path, &ch, err, sizeof err);
    if (rc < 0) fprintf(stderr, "plastcc: %s\n", err);
    free(xs);
    return rc;
}

static int write_charts(const latents_args *a, const latents_rep *r, const measures *M)
{
    char path[4096], title[512], err[1024];
    const char *t = a->title ? a->title : a->exp;
    int rc = 0;
    if (M->lat2d) {
        snprintf(path, sizeof path, "%s/latents.svg", a->out);
        snprintf(title, sizeof title, "%s: %s, principal components (EMD %.3g)", t, r->signal, M->emd_aligned);
        rc |= scatter(path, title, M->lat2d, r->label, M->points, r->n_classes);
        snprintf(path, sizeof path, "%s/data.svg", a->out);
        snprintf(title, sizeof title, "%s: the 2-D data (scaled)", t);
        rc |= scatter(path, title, M->orig2d, r->label, M->points, r->n_classes);
    }
    double x[LATENTS_MAX_LABELS], lo[LATENTS_MAX_LABELS], hi[LATENTS_MAX_LABELS];
    for (int k = 0; k < M->n_counts; k++) {
        x[k] = log2(M->counts[k]);
        lo[k] = M->acc[k] - M->se[k];
        hi[k] = M->acc[k] + M->se[k];
    }
    plast_series s = { r->signal, x, M->acc, lo, hi, M->n_counts, 0 };
    snprintf(title, sizeof title, "%s: linear probe", t);
    plast_chart ch = { title, "log2 labelled samples", "test accuracy", &s, 1, 0, 1 };
    snprintf(path, sizeof path, "%s/probe.svg", a->out);
    if (plast_chart_svg(path, &ch, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); rc = -1; }
    return rc;
}

int latents_curve(const latents_args *a, const double *loss, int n, int batch)
{
    plast_file cf;
    FILE *f = open_csv(&cf, a->out, "curve.csv");
    if (!f) return -1;
    double *x = malloc((size_t)n * sizeof *x);
    if (!x) { plast_file_discard(&cf); return -1; }
    fputs("step,samples,loss\n", f);
    for (int k = 0; k < n; k++) {
        x[k] = (double)k * a->curve_every;
        fprintf(f, "%d,%ld,%.10g\n", k * a->curve_every, (long)k * a->curve_every * batch, loss[k]);
    }
    int rc = commit(&cf);
    char path[4096], title[512], err[1024];
    snprintf(path, sizeof path, "%s/loss.svg", a->out);
    snprintf(title, sizeof title, "%s: the loss along the training", a->title ? a->title : a->exp);
    plast_series s = { "held-out loss", x, loss, NULL, NULL, n, 0 };
    plast_chart ch = { title, "inner steps", "loss", &s, 1, 0, 0 };
    if (rc == 0 && plast_chart_svg(path, &ch, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); rc = -1; }
    free(x);
    return rc;
}

int latents_measure(const latents_args *a, const latents_rep *r, uint64_t seed, char *err, size_t errlen)
{
    measures M;
    memset(&M, 0, sizeof M);
    size_t p = (size_t)a->points < r->n ? (size_t)a->points : r->n;
    int rc = measure_probe(a, r, seed, &M, err, errlen);
    if (rc == 0) rc = measure_emd(r, p, &M, err, errlen);
    if (rc == 0 && (write_arrays(a, r, &M) < 0 || write_csvs(a, r, &M) < 0 || write_charts(a, r, &M) < 0)) rc = -2;
    if (rc == 0)
        printf("%s: loss %.4g, probe accuracy %.3f with %d labels, EMD %.4f aligned (%.4f as is; the input %.4f)\n",
               r->signal, r->loss, M.acc[M.n_counts - 1], M.counts[M.n_counts - 1], M.emd_aligned, M.emd,
               M.input_emd_aligned);
    free(M.lat2d);
    free(M.orig2d);
    return rc;
}
