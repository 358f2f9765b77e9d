/* eval_compare — plastcc eval --compare: one method's learning curves beside
 * others' (Gu et al.'s Fig. 2: a learned rule against supervised learning),
 * from the curve.csv of each evaluation.
 *
 *   compare-accuracy.svg   query accuracy against labelled samples seen
 *   compare-train-loss.svg training loss against labelled samples seen
 * each curve the mean over the tasks with a band of one standard error,
 * labelled by its evaluation's folder name (without ".eval"). */
#include "config.h"
#include "driver.h"
#include "plast.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COLS = 32, MAX_POINTS = 100000 };

typedef struct curve {
    char label[128];
    double *x, *mean[2], *lo[2], *hi[2];   /* [0]: query accuracy, [1]: training loss */
    int n;
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
    for (int k = 0; k < 2; k++) {
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
    for (int k = 0; k < 2; k++) { free(c->mean[k]); free(c->lo[k]); free(c->hi[k]); }
}

/* DIR/curve.csv: x = labelled_seen (samples_seen in files without it). */
static int read_curve(const char *dir, curve *c, char *err, size_t errlen)
{
    char path[4096], line[4096], names[MAX_COLS][64];
    snprintf(path, sizeof path, "%s/curve.csv", dir);
    memset(c, 0, sizeof *c);
    label_of(dir, c->label, sizeof c->label);
    FILE *f = plast_fopen_regular(path);
    if (!f) return plast_fail(err, errlen, "cannot read %s", path);
    int n_cols = 0;
    if (fgets(line, sizeof line, f))
        for (char *t = strtok(line, ",\n"); t && n_cols < MAX_COLS; t = strtok(NULL, ",\n"))
            snprintf(names[n_cols++], sizeof names[0], "%s", t);
    int cx = column(names, n_cols, "labelled_seen");
    if (cx < 0) cx = column(names, n_cols, "samples_seen");
    int cm[2] = { column(names, n_cols, "query_accuracy_mean"), column(names, n_cols, "train_loss_mean") };
    int cs[2] = { column(names, n_cols, "query_accuracy_se"), column(names, n_cols, "train_loss_se") };
    if (cx < 0 || cm[0] < 0 || cm[1] < 0 || cs[0] < 0 || cs[1] < 0 || alloc_curve(c, MAX_POINTS) < 0) {
        fclose(f);
        return plast_fail(err, errlen, "%s is not the curve.csv of an evaluation", path);
    }
    while (c->n < MAX_POINTS && fgets(line, sizeof line, f)) {
        double v[MAX_COLS];
        char *p = line;
        for (int k = 0; k < n_cols; k++) { v[k] = strtod(p, &p); if (*p == ',') p++; }
        c->x[c->n] = v[cx];
        for (int k = 0; k < 2; k++) {
            c->mean[k][c->n] = v[cm[k]];
            c->lo[k][c->n] = v[cm[k]] - v[cs[k]];
            c->hi[k][c->n] = v[cm[k]] + v[cs[k]];
        }
        c->n++;
    }
    fclose(f);
    return c->n ? 0 : plast_fail(err, errlen, "%s has no points", path);
}

int eval_compare_charts(const char *out_dir, const char *const *dirs, int n_dirs, char *err, size_t errlen)
{
    curve *c = calloc((size_t)n_dirs + 1, sizeof *c);
    plast_series *s = calloc((size_t)n_dirs + 1, sizeof *s);
    int rc = c && s ? read_curve(out_dir, &c[0], err, errlen) : plast_fail(err, errlen, "out of memory");
    for (int d = 0; rc == 0 && d < n_dirs; d++) rc = read_curve(dirs[d], &c[d + 1], err, errlen);
    static const char *const file[2] = { "compare-accuracy.svg", "compare-train-loss.svg" };
    static const char *const title[2] = { "Test accuracy (mean +- standard error over tasks)",
                                          "Training loss (mean +- standard error over tasks)" };
    for (int k = 0; rc == 0 && k < 2; k++) {
        for (int d = 0; d <= n_dirs; d++)
            s[d] = (plast_series){ c[d].label, c[d].x, c[d].mean[k], c[d].lo[k], c[d].hi[k], c[d].n, 0 };
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", out_dir, file[k]);
        plast_chart ch = { title[k], "labelled training samples seen", k ? "training loss" : "test accuracy", s,
                           n_dirs + 1, 0, 0 };
        rc = plast_chart_svg(path, &ch, err, errlen);
    }
    for (int d = 0; c && d <= n_dirs; d++) free_curve(&c[d]);
    free(c);
    free(s);
    return rc;
}
