/* plot — SVG line charts of a run's log.csv: meta-accuracy, meta-loss and
 * the meta-parameter trajectories, with axes, ticks, a title and a legend.
 * Self-contained SVG 1.1, readable in any browser. */
#include "config.h"
#include "outdir.h"
#include "plast.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COLS = 64, W_PX = 720, H_PX = 420, LEFT = 80, RIGHT = 240, TOP = 50, BOTTOM = 60 };

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

/* A "nice" tick step: 1, 2 or 5 times a power of ten, about N ticks. */
static double tick_step(double span, int n)
{
    double raw = span / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

static const char *const colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };

/* One chart of columns COLS[0..n) against the episode column, written whole. */
static int chart(const char *path, const table *t, const int *cols, int n, const char *title, const char *ylabel,
                 char *err, size_t errlen)
{
    plast_file out;
    FILE *f = plast_file_create(&out, path, err, errlen);
    if (!f) return -1;
    int xc = find_col(t, "episode");
    double x0 = 0, x1 = 1, y0 = INFINITY, y1 = -INFINITY;
    if (t->n_rows) { x0 = t->col[xc][0]; x1 = t->col[xc][t->n_rows - 1]; }
    if (x1 <= x0) x1 = x0 + 1;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < t->n_rows; r++) {
            double v = t->col[cols[i]][r];
            if (isfinite(v)) { if (v < y0) y0 = v; if (v > y1) y1 = v; }
        }
    if (!(y1 >= y0)) { y0 = 0; y1 = 1; }
    if (y1 - y0 < 1e-12 * (fabs(y0) + 1)) { y0 -= 0.5 * (fabs(y0) + 1e-3); y1 += 0.5 * (fabs(y1) + 1e-3); }
    double pw = W_PX - LEFT - RIGHT, ph = H_PX - TOP - BOTTOM;
#define PX(x) (LEFT + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (TOP + ph - ((y) - y0) / (y1 - y0) * ph)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W_PX, H_PX);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">", LEFT);
    escape(f, title);
    fputs("</text>\n", f);
    double xs = tick_step(x1 - x0, 8), ys = tick_step(y1 - y0, 6);
    for (double y = ceil(y0 / ys) * ys; y <= y1 + 1e-9 * ys; y += ys) {
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", LEFT, PY(y), LEFT + pw, PY(y));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", LEFT - 6, PY(y) + 4, fabs(y) < 1e-12 * ys ? 0 : y);
    }
    for (double x = ceil(x0 / xs) * xs; x <= x1 + 1e-9 * xs; x += xs)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                PX(x), TOP + ph, PX(x), TOP + ph + 5, PX(x), TOP + ph + 20, x);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#000\"/>\n", LEFT, TOP, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">episode</text>\n", LEFT + pw / 2, H_PX - 15);
    fprintf(f, "<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">", TOP + ph / 2);
    escape(f, ylabel);
    fputs("</text>\n", f);
    for (int i = 0; i < n; i++) {
        const char *color = colors[i % 10];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", color,
                i >= 10 ? " stroke-dasharray=\"4 2\"" : "");
        for (int r = 0; r < t->n_rows; r++) {
            double v = t->col[cols[i]][r];
            if (isfinite(v)) fprintf(f, "%.1f,%.1f ", PX(t->col[xc][r]), PY(v));
        }
        fputs("\"/>\n", f);
        double ly = TOP + 10 + 18 * i;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%.0f\" y=\"%.1f\">",
                LEFT + pw + 12, ly, LEFT + pw + 32, ly, color, LEFT + pw + 38, ly + 4);
        escape(f, t->name[cols[i]]);
        fputs("</text>\n", f);
    }
#undef PX
#undef PY
    fputs("</svg>\n", f);
    return plast_file_commit(&out, err, errlen);
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
    double sum = 0;
    for (int r = 0; r < t->n_rows; r++) {
        sum += t->col[c][r];
        if (r >= window) sum -= t->col[c][r - window];
        t->col[n][r] = sum / (r < window ? r + 1 : window);
    }
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
    for (int c = seconds + 1; seconds >= 0 && c < n_cols && n < 20; c++)
        if (!is_diagnostic(t.name[c], "alpha_") && !is_diagnostic(t.name[c], "orth_")) params[n++] = c;
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
