/* plot_curves — SVG charts of curves with shaded bands (median and spread
 * over runs, say), and the plots of a joint training run (test.csv,
 * log.csv).  Self-contained SVG 1.1. */
#include "config.h"
#include "plast.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { W_PX = 760, H_PX = 440, LEFT = 80, RIGHT = 230, TOP = 50, BOTTOM = 60 };

static const char *const palette[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                       "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };

typedef struct frame { double x0, x1, y0, y1; } frame;

/* 1, 2 or 5 times a power of ten: about N steps over SPAN. */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

static void widen(double *lo, double *hi, double v)
{
    if (!isfinite(v)) return;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

static frame bounds(const plast_curve *c, int n)
{
    frame F = { INFINITY, -INFINITY, INFINITY, -INFINITY };
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c[i].n; k++) {
            widen(&F.x0, &F.x1, c[i].x[k]);
            widen(&F.y0, &F.y1, c[i].y[k]);
            if (c[i].lo) widen(&F.y0, &F.y1, c[i].lo[k]);
            if (c[i].hi) widen(&F.y0, &F.y1, c[i].hi[k]);
        }
    if (!(F.x1 >= F.x0)) { F.x0 = 0; F.x1 = 1; }
    if (!(F.y1 >= F.y0)) { F.y0 = 0; F.y1 = 1; }
    if (F.x1 - F.x0 < 1e-12 * (fabs(F.x0) + 1)) { F.x0 -= 0.5; F.x1 += 0.5; }
    if (F.y1 - F.y0 < 1e-12 * (fabs(F.y0) + 1)) { F.y0 -= 0.5 * (fabs(F.y0) + 1e-3); F.y1 += 0.5 * (fabs(F.y1) + 1e-3); }
    return F;
}

static double px(const frame *F, double x) { return LEFT + (x - F->x0) / (F->x1 - F->x0) * (W_PX - LEFT - RIGHT); }
static double py(const frame *F, double y) { return H_PX - BOTTOM - (y - F->y0) / (F->y1 - F->y0) * (H_PX - TOP - BOTTOM); }

static void axes(FILE *f, const frame *F, const char *title, const char *xlabel, const char *ylabel)
{
    double pw = W_PX - LEFT - RIGHT, ph = H_PX - TOP - BOTTOM;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W_PX, H_PX);
    fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"15\" font-weight=\"bold\">", LEFT);
    put_text(f, title);
    fputs("</text>\n", f);
    double xs = nice_step(F->x1 - F->x0, 8), ys = nice_step(F->y1 - F->y0, 6);
    for (double y = ceil(F->y0 / ys) * ys; y <= F->y1 + 1e-9 * ys; y += ys)
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%.4g</text>\n", LEFT, py(F, y), LEFT + pw, py(F, y), LEFT - 6, py(F, y) + 4,
                fabs(y) < 1e-12 * ys ? 0 : y);
    for (double x = ceil(F->x0 / xs) * xs; x <= F->x1 + 1e-9 * xs; x += xs)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/><text x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"middle\">%g</text>\n", px(F, x), TOP + ph, px(F, x), TOP + ph + 5, px(F, x),
                TOP + ph + 20, fabs(x) < 1e-12 * xs ? 0 : x);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#000\"/>\n", LEFT, TOP, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", LEFT + pw / 2, H_PX - 15);
    put_text(f, xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">", TOP + ph / 2);
    put_text(f, ylabel);
    fputs("</text>\n", f);
}

/* The band LO..HI as a closed polygon: along HI, back along LO. */
static void band(FILE *f, const frame *F, const plast_curve *c, const char *color)
{
    fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" points=\"", color);
    for (int k = 0; k < c->n; k++)
        if (isfinite(c->hi[k]) && isfinite(c->x[k])) fprintf(f, "%.1f,%.1f ", px(F, c->x[k]), py(F, c->hi[k]));
    for (int k = c->n - 1; k >= 0; k--)
        if (isfinite(c->lo[k]) && isfinite(c->x[k])) fprintf(f, "%.1f,%.1f ", px(F, c->x[k]), py(F, c->lo[k]));
    fputs("\"/>\n", f);
}

static void curve(FILE *f, const frame *F, const plast_curve *c, int i, int points)
{
    const char *color = palette[i % 10];
    if (c->lo && c->hi) band(f, F, c, color);
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"", color,
            i >= 10 ? " stroke-dasharray=\"4 2\"" : "");
    for (int k = 0; k < c->n; k++)
        if (isfinite(c->y[k]) && isfinite(c->x[k])) fprintf(f, "%.1f,%.1f ", px(F, c->x[k]), py(F, c->y[k]));
    fputs("\"/>\n", f);
    for (int k = 0; points && k < c->n; k++)
        if (isfinite(c->y[k]) && isfinite(c->x[k]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(F, c->x[k]), py(F, c->y[k]), color);
    double ly = TOP + 10 + 18 * i;
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%d\" "
            "y=\"%.1f\">", W_PX - RIGHT + 12, ly, W_PX - RIGHT + 32, ly, color, W_PX - RIGHT + 38, ly + 4);
    put_text(f, c->name);
    fputs("</text>\n", f);
}

int plast_plot_curves(const char *path, const char *title, const char *xlabel, const char *ylabel,
                      const plast_curve *c, int n, int points, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)); return -1; }
    frame F = bounds(c, n);
    axes(f, &F, title, xlabel, ylabel);
    for (int i = 0; i < n; i++) curve(f, &F, &c[i], i, points);
    fputs("</svg>\n", f);
    if (ferror(f) | (fclose(f) != 0)) { snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)); return -1; }
    return 0;
}

/* ---- a joint run's plots ---- */

/* Columns X and Y of the CSV file PATH (by header name) into *XS, *YS. */
static int read_columns(const char *path, const char *xname, const char *yname, double **xs, double **ys, int *n,
                        char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)); return -1; }
    static char line[1 << 16];
    int xc = -1, yc = -1, col = 0, cap = 0;
    if (fgets(line, sizeof line, f))
        for (char *tok = strtok(line, ",\n"); tok; tok = strtok(NULL, ",\n"), col++) {
            if (!strcmp(tok, xname)) xc = col;
            if (!strcmp(tok, yname)) yc = col;
        }
    *n = 0; *xs = *ys = NULL;
    while (xc >= 0 && yc >= 0 && fgets(line, sizeof line, f)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            *xs = realloc(*xs, (size_t)cap * sizeof **xs);
            *ys = realloc(*ys, (size_t)cap * sizeof **ys);
        }
        char *p = line;
        for (int c = 0; c <= (xc > yc ? xc : yc); c++) {
            double v = strtod(p, &p);
            if (c == xc) (*xs)[*n] = v;
            if (c == yc) (*ys)[*n] = v;
            if (*p == ',') p++;
        }
        (*n)++;
    }
    fclose(f);
    if (xc < 0 || yc < 0) { snprintf(err, errlen, "%s has no %s or %s column", path, xname, yname); return -1; }
    return 0;
}

/* The running mean of Y over WINDOW points. */
static double *running_mean(const double *y, int n, int window)
{
    double *m = malloc((size_t)(n + 1) * sizeof *m), s = 0;
    for (int k = 0; m && k < n; k++) {
        s += y[k];
        if (k >= window) s -= y[k - window];
        m[k] = s / (k < window ? k + 1 : window);
    }
    return m;
}

int plast_plot_joint(const char *dir, char *err, size_t errlen)
{
    char path[4096], out[4096];
    double *x = NULL, *y = NULL;
    int n = 0, rc;
    snprintf(path, sizeof path, "%s/test.csv", dir);
    rc = read_columns(path, "samples", "test_accuracy", &x, &y, &n, err, errlen);
    plast_curve acc = { "test accuracy", n, x, y, NULL, NULL };
    snprintf(out, sizeof out, "%s/learning-curve.svg", dir);
    if (rc == 0) rc = plast_plot_curves(out, "Test accuracy during joint training", "training samples seen",
                                        "test accuracy", &acc, 1, n < 50, err, errlen);
    free(x); free(y);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    if (rc == 0) rc = read_columns(path, "samples", "loss", &x, &y, &n, err, errlen);
    double *mean = rc == 0 ? running_mean(y, n, n >= 500 ? 50 : 10) : NULL;
    plast_curve loss[2] = { { "minibatch loss", n, x, y, NULL, NULL }, { "running mean", n, x, mean, NULL, NULL } };
    snprintf(out, sizeof out, "%s/train-loss.svg", dir);
    if (rc == 0) rc = plast_plot_curves(out, "Minibatch loss (labelled samples, after the rules' updates)",
                                        "training samples seen", "cross-entropy", loss, mean ? 2 : 1, 0, err, errlen);
    free(x); free(y); free(mean);
    return rc;
}
