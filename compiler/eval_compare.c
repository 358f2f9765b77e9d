/* eval_compare — plastcc eval --compare: one method's learning curves beside
 * others' (Gu et al.'s Fig. 2: a learned rule against supervised learning),
 * from the curve.csv of each evaluation.
 *
 *   compare-accuracy.svg   query accuracy against labelled samples seen
 *   compare-train-loss.svg training loss against labelled samples seen
 *   compare-alignment.svg  with the experiments' alignment diagnostics: the
 *                          angles alpha_1..alpha_{L-1} of every evaluation on one
 *                          chart, a colour per evaluation and a dash per layer
 *   compare.csv            the curves' points: name, runs, labelled_seen,
 *                          accuracy_mean, accuracy_se, train_loss_mean, train_loss_se
 * each curve the mean over the tasks with a band of one standard error,
 * labelled by its evaluation's folder name (without ".eval") or by the name
 * given (--compare NAME=DIR, --label NAME).  Evaluations that share a name
 * are runs of one method (say, rules meta-trained from several seeds, each
 * evaluated on the same tasks): they make one curve, the mean over the runs
 * of their means over the tasks, with a band of one standard error over the
 * runs,
 *   m(x) = (1/R) sum_r m_r(x),  se(x) = sqrt(sum_r (m_r(x) - m(x))^2 / (R - 1)) / sqrt(R). */
#include "config.h"
#include "driver.h"
#include "plast.h"
#include "outdir.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COLS = 8 + 4 * PLAST_MAX_LAYERS, MAX_POINTS = 100000, MAX_METRICS = 2 + PLAST_MAX_LAYERS };

typedef struct curve {
    char label[128];
    double *x, *mean[MAX_METRICS], *lo[MAX_METRICS], *hi[MAX_METRICS];
    int n_metrics;                          /* [0]: query accuracy, [1]: training loss, [1 + l]: alpha_l */
    int n;
    int runs;                               /* evaluations merged into it (0: merged into another) */
} curve;

static int column(char names[][64], int n, const char *want)
{
    for (int c = 0; c < n; c++) if (!strcmp(names[c], want)) return c;
    return -1;
}

/* The folder's name without ".eval": the curve's label. */
static void label_of(const char *dir, char *buf, size_t len)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    const char *base = dir;
    for (size_t i = 0; i < n; i++) if (dir[i] == '/') base = dir + i + 1;
    size_t m = (size_t)(dir + n - base);
    if (m > 5 && !strncmp(base + m - 5, ".eval", 5)) m -= 5;
    snprintf(buf, len, "%.*s", (int)m, base);
}

static int alloc_curve(curve *c, int cap)
{
    c->x = malloc((size_t)cap * sizeof(double));
    for (int k = 0; k < c->n_metrics; k++) {
        c->mean[k] = malloc((size_t)cap * sizeof(double));
        c->lo[k] = malloc((size_t)cap * sizeof(double));
        c->hi[k] = malloc((size_t)cap * sizeof(double));
        if (!c->mean[k] || !c->lo[k] || !c->hi[k]) return -1;
    }
    return c->x ? 0 : -1;
}

static void free_curve(curve *c)
{
    free(c->x);
    for (int k = 0; k < MAX_METRICS; k++) { free(c->mean[k]); free(c->lo[k]); free(c->hi[k]); }
}

/* The columns of the metrics: the accuracy's and training loss's mean and
 * se, then alpha_1, alpha_2, ... as far as curve.csv has them. */
static int metric_columns(char names[][64], int n_cols, int *cm, int *cs)
{
    cm[0] = column(names, n_cols, "query_accuracy_mean"), cs[0] = column(names, n_cols, "query_accuracy_se");
    cm[1] = column(names, n_cols, "train_loss_mean"), cs[1] = column(names, n_cols, "train_loss_se");
    int k = 2;
    for (char m[64], e[64]; k < MAX_METRICS; k++) {
        snprintf(m, sizeof m, "alpha_%d_mean", k - 1);
        snprintf(e, sizeof e, "alpha_%d_se", k - 1);
        if ((cm[k] = column(names, n_cols, m)) < 0 || (cs[k] = column(names, n_cols, e)) < 0) break;
    }
    return k;
}

/* DIR/curve.csv: x = labelled_seen (samples_seen in files without it);
 * SPEC is DIR or NAME=DIR, LABEL (or NULL) the name of a plain DIR. */
static int read_curve(const char *spec, const char *label, curve *c, char *err, size_t errlen)
{
    char path[4096], line[16384], names[MAX_COLS][64];
    const char *dir = spec, *eq = strchr(spec, '=');
    memset(c, 0, sizeof *c);
    if (eq && eq > spec) { snprintf(c->label, sizeof c->label, "%.*s", (int)(eq - spec), spec); dir = eq + 1; }
    else if (label) snprintf(c->label, sizeof c->label, "%s", label);
    else label_of(dir, c->label, sizeof c->label);
    c->runs = 1;
    snprintf(path, sizeof path, "%s/curve.csv", dir);
    FILE *f = plast_fopen_regular(path);
    if (!f) return plast_fail(err, errlen, "cannot read %s", path);
    int n_cols = 0;
    if (fgets(line, sizeof line, f))
        for (char *t = strtok(line, ",\n"); t && n_cols < MAX_COLS; t = strtok(NULL, ",\n"))
            snprintf(names[n_cols++], sizeof names[0], "%s", t);
    int cx = column(names, n_cols, "labelled_seen");
    if (cx < 0) cx = column(names, n_cols, "samples_seen");
    int cm[MAX_METRICS], cs[MAX_METRICS];
    c->n_metrics = metric_columns(names, n_cols, cm, cs);
    if (cx < 0 || cm[0] < 0 || cm[1] < 0 || cs[0] < 0 || cs[1] < 0 || alloc_curve(c, MAX_POINTS) < 0) {
        fclose(f);
        return plast_fail(err, errlen, "%s is not the curve.csv of an evaluation", path);
    }
    while (c->n < MAX_POINTS && fgets(line, sizeof line, f)) {
        double v[MAX_COLS];
        char *p = line;
        for (int k = 0; k < n_cols; k++) { v[k] = strtod(p, &p); if (*p == ',') p++; }
        c->x[c->n] = v[cx];
        for (int k = 0; k < c->n_metrics; k++) {
            c->mean[k][c->n] = v[cm[k]];
            c->lo[k][c->n] = v[cm[k]] - v[cs[k]];
            c->hi[k][c->n] = v[cm[k]] + v[cs[k]];
        }
        c->n++;
    }
    fclose(f);
    return c->n ? 0 : plast_fail(err, errlen, "%s has no points", path);
}

/* Adds curve C's means to group G (the sums in mean, the sums of squares
 * in lo); the same points are required. */
static int add_to_group(curve *g, const curve *c, char *err, size_t errlen)
{
    if (c->n != g->n) return plast_fail(err, errlen, "the runs named '%s' have curves of %d and %d points", g->label, g->n, c->n);
    for (int i = 0; i < c->n; i++) {
        if (c->x[i] != g->x[i])
            return plast_fail(err, errlen, "the runs named '%s' have curves at different points (%g, %g samples)",
                              g->label, g->x[i], c->x[i]);
        for (int k = 0; k < g->n_metrics && k < c->n_metrics; k++) {
            if (g->runs == 1) g->lo[k][i] = g->mean[k][i] * g->mean[k][i];
            g->mean[k][i] += c->mean[k][i];
            g->lo[k][i] += c->mean[k][i] * c->mean[k][i];
        }
    }
    if (c->n_metrics < g->n_metrics) g->n_metrics = c->n_metrics;   /* the layers all runs have */
    g->runs++;
    return 0;
}

/* A group of R >= 2 runs: from the sums to the mean and its standard error. */
static void finish_group(curve *g)
{
    double R = g->runs;
    for (int i = 0; g->runs > 1 && i < g->n; i++)
        for (int k = 0; k < g->n_metrics; k++) {
            double m = g->mean[k][i] / R, var = (g->lo[k][i] - R * m * m) / (R - 1);
            double se = sqrt(var > 0 ? var : 0) / sqrt(R);
            g->mean[k][i] = m;
            g->lo[k][i] = m - se;
            g->hi[k][i] = m + se;
        }
}

/* Merges the curves that share a label into the first of them. */
static int group_runs(curve *c, int n, int *grouped, char *err, size_t errlen)
{
    *grouped = 0;
    for (int d = 1; d < n; d++)
        for (int e = 0; e < d; e++)
            if (c[e].runs && !strcmp(c[e].label, c[d].label)) {
                if (add_to_group(&c[e], &c[d], err, errlen) < 0) return -1;
                c[d].runs = 0;
                *grouped = 1;
                break;
            }
    for (int d = 0; d < n; d++) finish_group(&c[d]);
    return 0;
}

/* compare.csv: every point of every curve drawn. */
static int write_points(const char *out_dir, const curve *c, int n, char *err, size_t errlen)
{
    char path[4096];
    plast_file out;
    snprintf(path, sizeof path, "%s/compare.csv", out_dir);
    FILE *f = plast_file_create(&out, path, err, errlen);
    if (!f) return -1;
    fputs("name,runs,labelled_seen,accuracy_mean,accuracy_se,train_loss_mean,train_loss_se\n", f);
    for (int d = 0; d < n; d++)
        for (int i = 0; c[d].runs && i < c[d].n; i++)
            fprintf(f, "%s,%d,%.10g,%.10g,%.10g,%.10g,%.10g\n", c[d].label, c[d].runs, c[d].x[i], c[d].mean[0][i],
                    c[d].hi[0][i] - c[d].mean[0][i], c[d].mean[1][i], c[d].hi[1][i] - c[d].mean[1][i]);
    return plast_file_commit(&out, err, errlen);
}

/* compare-alignment.svg: alpha_l of every curve that has it, the curve's
 * colour, layer l's dash (bands left out: too many to read). */
static int alignment_chart(const char *out_dir, const curve *c, int n, int grouped, char *err, size_t errlen)
{
    int n_series = 0, col = 0;
    for (int d = 0; d < n; d++) if (c[d].runs) n_series += c[d].n_metrics - 2;
    if (n_series == 0) return 0;
    plast_series *s = calloc((size_t)n_series, sizeof *s);
    plast_series_style *st = calloc((size_t)n_series, sizeof *st);
    char (*label)[160] = calloc((size_t)n_series, sizeof *label);
    if (!s || !st || !label) { free(s); free(st); free(label); return plast_fail(err, errlen, "out of memory"); }
    n_series = 0;
    for (int d = 0; d < n; d++) {
        if (!c[d].runs) continue;
        col++;
        for (int k = 2; k < c[d].n_metrics; k++, n_series++) {
            snprintf(label[n_series], sizeof label[n_series], "%s alpha_%d", c[d].label, k - 1);
            s[n_series] = (plast_series){ label[n_series], c[d].x, c[d].mean[k], NULL, NULL, c[d].n, 0 };
            st[n_series] = (plast_series_style){ col, k - 2, 0 };
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/compare-alignment.svg", out_dir);
    plast_chart ch = { grouped ? "Alignment angle to backprop per layer (mean over the runs of a method)"
                               : "Alignment angle to backprop per layer (mean over tasks)",
                       "labelled training samples seen", "angle (degrees)", s, n_series, 0, 0 };
    int rc = plast_chart_svg_styled(path, &ch, st, err, errlen);
    free(s);
    free(st);
    free(label);
    return rc;
}

int eval_compare_charts(const char *out_dir, const char *label, const char *const *dirs, int n_dirs, char *err,
                        size_t errlen)
{
    curve *c = calloc((size_t)n_dirs + 1, sizeof *c);
    plast_series *s = calloc((size_t)n_dirs + 1, sizeof *s);
    int rc = c && s ? read_curve(out_dir, label, &c[0], err, errlen) : plast_fail(err, errlen, "out of memory");
    for (int d = 0; rc == 0 && d < n_dirs; d++) rc = read_curve(dirs[d], NULL, &c[d + 1], err, errlen);
    int grouped = 0;
    if (rc == 0) rc = group_runs(c, n_dirs + 1, &grouped, err, errlen);
    if (rc == 0) rc = write_points(out_dir, c, n_dirs + 1, err, errlen);
    static const char *const file[2] = { "compare-accuracy.svg", "compare-train-loss.svg" };
    static const char *const title[2][2] = {
        { "Test accuracy (mean +- standard error over tasks)", "Training loss (mean +- standard error over tasks)" },
        { "Test accuracy (mean +- standard error over the runs of a method)",
          "Training loss (mean +- standard error over the runs of a method)" } };
    for (int k = 0; rc == 0 && k < 2; k++) {
        int n = 0;
        for (int d = 0; d <= n_dirs; d++)
            if (c[d].runs) s[n++] = (plast_series){ c[d].label, c[d].x, c[d].mean[k], c[d].lo[k], c[d].hi[k], c[d].n, 0 };
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", out_dir, file[k]);
        plast_chart ch = { title[grouped][k], "labelled training samples seen", k ? "training loss" : "test accuracy",
                           s, n, 0, 0 };
        rc = plast_chart_svg(path, &ch, err, errlen);
    }
    if (rc == 0) rc = alignment_chart(out_dir, c, n_dirs + 1, grouped, err, errlen);
    for (int d = 0; c && d <= n_dirs; d++) free_curve(&c[d]);
    free(c);
    free(s);
    return rc;
}
