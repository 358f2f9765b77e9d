/* plot — the SVG charts of a run, drawn from its logs by plast_chart_svg:
 * meta-training's log.csv (meta-accuracy, meta-loss, the meta-parameter
 * trajectories, the diagnostics) and a joint run's test.csv and log.csv
 * (the learning curve, the minibatch loss). */
#include "config.h"
#include "outdir.h"
#include "plast.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COLS = 64 };

typedef struct table {
    char name[MAX_COLS][96];
    int n_cols;
    double *col[MAX_COLS];
    int n_rows, cap;
} table;

static void table_free(table *t) { for (int c = 0; c < t->n_cols; c++) free(t->col[c]); }

static int grow(table *t)
{
    int cap = t->cap ? 2 * t->cap : 256;
    for (int c = 0; c < t->n_cols; c++) {
        double *bigger = realloc(t->col[c], (size_t)cap * sizeof(double));
        if (!bigger) return -1;
        t->col[c] = bigger;
    }
    t->cap = cap;
    return 0;
}

static int read_log(const char *path, table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = plast_fopen_regular(path);
    if (!f) { snprintf(err, errlen, "cannot read %s: %s", path, plast_open_strerror(errno)); return -1; }
    static char line[1 << 16];
    if (!fgets(line, sizeof line, f)) { fclose(f); snprintf(err, errlen, "%s is empty", path); return -1; }
    for (char *tok = strtok(line, ",\n"); tok && t->n_cols < MAX_COLS; tok = strtok(NULL, ",\n"))
        snprintf(t->name[t->n_cols++], sizeof t->name[0], "%s", tok);
    while (fgets(line, sizeof line, f)) {
        if (t->n_rows == t->cap && grow(t) < 0) {
            fclose(f);
            table_free(t);
            return plast_fail(err, errlen, "cannot allocate %.1f MB to plot %s", 2.0 * t->cap * t->n_cols * sizeof(double) / 1048576, path);
        }
        char *p = line;
        for (int c = 0; c < t->n_cols; c++) {
            t->col[c][t->n_rows] = strtod(p, &p);
            if (*p == ',') p++;
        }
        t->n_rows++;
    }
    fclose(f);
    return 0;
}

/* A diagnostic column: PREFIX then the layer number (alpha_0, orth_3). */
static int is_diagnostic(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    return !strncmp(name, prefix, n) && name[n] >= '0' && name[n] <= '9';
}

static int find_col(const table *t, const char *name)
{
    for (int c = 0; c < t->n_cols; c++) if (!strcmp(t->name[c], name)) return c;
    return -1;
}

/* One chart of columns COLS[0..n) against column X (its name the x label),
 * written whole; KIND: PLAST_SERIES_LINE or _MARKED. */
static int chart_against(const char *path, const table *t, const char *x, const int *cols, int n, int kind,
                         const char *title, const char *ylabel, char *err, size_t errlen)
{
    plast_series S[MAX_COLS];
    int xc = find_col(t, x);
    for (int i = 0; i < n && i < MAX_COLS; i++)
        S[i] = (plast_series){ t->name[cols[i]], t->col[xc], t->col[cols[i]], NULL, NULL, t->n_rows, kind };
    plast_chart c = { title, x, ylabel, S, n < MAX_COLS ? n : MAX_COLS, 0, 0 };
    return plast_chart_svg(path, &c, err, errlen);
}

static int chart(const char *path, const table *t, const int *cols, int n, const char *title, const char *ylabel,
                 char *err, size_t errlen)
{
    return chart_against(path, t, "episode", cols, n, PLAST_SERIES_LINE, title, ylabel, err, errlen);
}

/* Appends the running mean over WINDOW rows of column C as a new column. */
static int add_running_mean(table *t, int c, int window)
{
    if (t->n_cols == MAX_COLS) return c;
    char base[64];
    snprintf(base, sizeof base, "%s", t->name[c]);
    double *mean = malloc((size_t)(t->n_rows + 1) * sizeof(double));
    if (!mean) return c;   /* plotted without its running mean */
    int n = t->n_cols++;
    snprintf(t->name[n], sizeof t->name[0], "%s (mean of %d)", base, window);
    t->col[n] = mean;
    plast_running_mean(t->col[c], t->col[n], t->n_rows, window);
    return n;
}

/* The meta-parameters' columns of a meta-training log: those after
 * `seconds` that are not diagnostics.  Their number. */
static int param_columns(const table *t, int n_cols, int *params, int max)
{
    int seconds = find_col(t, "seconds"), n = 0;
    for (int c = seconds + 1; seconds >= 0 && c < n_cols && n < max; c++)
        if (!is_diagnostic(t->name[c], "alpha_") && !is_diagnostic(t->name[c], "orth_")) params[n++] = c;
    return n;
}

int plast_plot_log(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    table t;
    snprintf(path, sizeof path, "%s/log.csv", dir);
    if (read_log(path, &t, err, errlen) < 0) return -1;
    int acc = find_col(&t, "meta_accuracy"), loss = find_col(&t, "meta_loss"), seconds = find_col(&t, "seconds");
    if (acc < 0 || loss < 0 || find_col(&t, "episode") < 0) {
        snprintf(err, errlen, "%s has no episode, meta_loss and meta_accuracy columns", path);
        table_free(&t);
        return -1;
    }
    int rc = 0, params[MAX_COLS], n = 0, n_cols = t.n_cols;
    int window = t.n_rows >= 200 ? 20 : 10;
    int acc_pair[2] = { acc, add_running_mean(&t, acc, window) };
    int loss_pair[2] = { loss, add_running_mean(&t, loss, window) };
    snprintf(path, sizeof path, "%s/meta-accuracy.svg", dir);
    rc = chart(path, &t, acc_pair, 2, "Meta-accuracy (query accuracy after the inner loop)", "meta-accuracy", err, errlen);
    snprintf(path, sizeof path, "%s/meta-loss.svg", dir);
    if (rc == 0) rc = chart(path, &t, loss_pair, 2, "Meta-loss (query cross-entropy)", "meta-loss", err, errlen);
    n = param_columns(&t, n_cols, params, 20);
    snprintf(path, sizeof path, "%s/meta-params.svg", dir);
    if (n && rc == 0) rc = chart(path, &t, params, n, "Meta-parameters", "value", err, errlen);
    /* the diagnostics, as running means over 11 episodes like 003's figures */
    static const struct { const char *prefix, *file, *title, *ylabel; } diags[] = {
        { "alpha_", "alignment.svg", "Alignment angle of the feedback error with backprop's (mean of 11)", "degrees" },
        { "orth_", "orthonormality.svg", "Orthonormality error ||z - W W^T y||^2 (Eq. 10, mean of 11)", "error" } };
    for (int g = 0; g < 2; g++) {
        int cols[MAX_COLS], nd = 0;
        for (int c = seconds + 1; seconds >= 0 && c < n_cols && nd < 10; c++)
            if (is_diagnostic(t.name[c], diags[g].prefix)) cols[nd++] = c;
        for (int i = 0; i < nd; i++) {
            int m = add_running_mean(&t, cols[i], 11);
            memmove(t.name[m], t.name[cols[i]], sizeof t.name[0]);   /* the legend says the layer */
            cols[i] = m;
        }
        snprintf(path, sizeof path, "%s/%s", dir, diags[g].file);
        if (nd && rc == 0) rc = chart(path, &t, cols, nd, diags[g].title, diags[g].ylabel, err, errlen);
    }
    table_free(&t);
    return rc;
}

/* 0 when every name of MARK is a meta-parameter's column, else -1 with ERR
 * naming the first that is not and the columns there are. */
static int check_marks(const table *t, const int *params, int n, const char *const *mark, int n_mark, const char *path,
                       char *err, size_t errlen)
{
    for (int m = 0; m < n_mark; m++) {
        int found = 0;
        for (int i = 0; i < n; i++) found |= !strcmp(t->name[params[i]], mark[m]);
        if (found) continue;
        char have[1024] = "";
        for (int i = 0; i < n && strlen(have) + 100 < sizeof have; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", i ? ", " : "", t->name[params[i]]);
        return plast_fail(err, errlen, "%s has no meta-parameter '%s' (it has %s)", path, mark[m], n ? have : "none");
    }
    return 0;
}

int plast_plot_params(const char *dir, const char *svg, const char *title, const char *const *mark, int n_mark,
                      int window, char *err, size_t errlen)
{
    char path[4096], full_title[512];
    table t;
    snprintf(path, sizeof path, "%s/log.csv", dir);
    if (read_log(path, &t, err, errlen) < 0) return -1;
    int params[MAX_COLS / 2], n = param_columns(&t, t.n_cols, params, MAX_COLS / 2), rc = -1;
    plast_series S[MAX_COLS / 2];
    plast_series_style st[MAX_COLS / 2];
    int ep = find_col(&t, "episode");
    if (ep < 0 || n == 0) plast_fail(err, errlen, "%s has no episode column or no meta-parameter", path);
    else if (check_marks(&t, params, n, mark, n_mark, path, err, errlen) == 0) {
        for (int i = 0; i < n; i++) {
            int c = window > 1 ? add_running_mean(&t, params[i], window) : params[i], marked = 0;
            for (int m = 0; m < n_mark; m++) marked |= !strcmp(t.name[params[i]], mark[m]);
            S[i] = (plast_series){ t.name[params[i]], t.col[ep], t.col[c], NULL, NULL, t.n_rows, PLAST_SERIES_LINE };
            st[i] = (plast_series_style){ 0, 0, n_mark ? (marked ? 1 : -1) : 0 };
        }
        if (window > 1) snprintf(full_title, sizeof full_title, "%s (moving average of %d)",
                                 title ? title : "Meta-parameters", window);
        else snprintf(full_title, sizeof full_title, "%s", title ? title : "Meta-parameters");
        plast_chart c = { full_title, "episode", "value", S, n, 0, 0 };
        rc = plast_chart_svg_styled(svg, &c, st, err, errlen);
    }
    table_free(&t);
    return rc;
}

/* ---- a joint run ---- */

/* Reads DIR/NAME and finds its columns X and Y (-1 with ERR when absent). */
static int read_pair(const char *dir, const char *name, table *t, const char *x, const char *y, int *yc, char *err,
                     size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (read_log(path, t, err, errlen) < 0) return -1;
    *yc = find_col(t, y);
    if (*yc >= 0 && find_col(t, x) >= 0) return 0;
    table_free(t);
    return plast_fail(err, errlen, "%s has no %s or %s column", path, x, y);
}

int plast_plot_joint(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    table t;
    int y;
    if (read_pair(dir, "test.csv", &t, "samples", "test_accuracy", &y, err, errlen) < 0) return -1;
    snprintf(path, sizeof path, "%s/learning-curve.svg", dir);
    int rc = chart_against(path, &t, "samples", &y, 1, t.n_rows < 50 ? PLAST_SERIES_MARKED : PLAST_SERIES_LINE,
                           "Test accuracy during joint training", "test accuracy", err, errlen);
    table_free(&t);
    if (rc < 0 || read_pair(dir, "log.csv", &t, "samples", "loss", &y, err, errlen) < 0) return -1;
    int pair[2] = { y, add_running_mean(&t, y, t.n_rows >= 500 ? 50 : 10) };
    snprintf(path, sizeof path, "%s/train-loss.svg", dir);
    rc = chart_against(path, &t, "samples", pair, 2, PLAST_SERIES_LINE,
                       "Minibatch loss (labelled samples, after the rules' updates)", "cross-entropy", err, errlen);
    table_free(&t);
    return rc;
}
