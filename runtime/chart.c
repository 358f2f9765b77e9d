/* chart — SVG charts as papers draw them: lines with an optional shaded
 * band (mean +- error), points (scatter), axes with "nice" ticks, a title,
 * axis labels and a legend.  Self-contained SVG 1.1, written whole (a
 * temporary, checked and renamed: outdir.h).  plot.c draws a run's logs with
 * it; plastcc eval, curves and analyze and the examples draw their figures
 * with it. */
#include "config.h"
#include "plast.h"
#include "outdir.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { W_PX = 720, H_PX = 420, LEFT = 80, RIGHT = 240, TOP = 50, BOTTOM = 60 };

static const char *const colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };

/* A "nice" tick step: 1, 2 or 5 times a power of ten, about N ticks. */
static double tick_step(double span, int n)
{
    double raw = span / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

typedef struct frame { double x0, x1, y0, y1, pw, ph; } frame;

static void widen(double *lo, double *hi, double v)
{
    if (!isfinite(v)) return;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

/* The data ranges (the bands included), or the chart's fixed y range. */
static frame ranges(const plast_chart *c)
{
    frame F = { INFINITY, -INFINITY, INFINITY, -INFINITY, W_PX - LEFT - RIGHT, H_PX - TOP - BOTTOM };
    for (int s = 0; s < c->n_series; s++) {
        const plast_series *S = &c->series[s];
        for (int i = 0; i < S->n; i++) {
            if (!isfinite(S->y[i])) continue;
            widen(&F.x0, &F.x1, S->x[i]);
            widen(&F.y0, &F.y1, S->y[i]);
            if (S->lo) widen(&F.y0, &F.y1, S->lo[i]);
            if (S->hi) widen(&F.y0, &F.y1, S->hi[i]);
        }
    }
    if (c->y_min < c->y_max) { F.y0 = c->y_min; F.y1 = c->y_max; }
    if (!(F.x1 >= F.x0)) { F.x0 = 0; F.x1 = 1; }
    if (F.x1 <= F.x0) F.x1 = F.x0 + 1;
    if (!(F.y1 >= F.y0)) { F.y0 = 0; F.y1 = 1; }
    if (F.y1 - F.y0 < 1e-12 * (fabs(F.y0) + 1)) { F.y0 -= 0.5 * (fabs(F.y0) + 1e-3); F.y1 += 0.5 * (fabs(F.y1) + 1e-3); }
    return F;
}

static double px(const frame *F, double x) { return LEFT + (x - F->x0) / (F->x1 - F->x0) * F->pw; }
static double py(const frame *F, double y) { return TOP + F->ph - (y - F->y0) / (F->y1 - F->y0) * F->ph; }

/* Title, grid, ticks, the frame and the axis labels. */
static void axes(FILE *f, const plast_chart *c, const frame *F)
{
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">", W_PX, H_PX, LEFT);
    escape(f, c->title);
    fputs("</text>\n", f);
    double xs = tick_step(F->x1 - F->x0, 8), ys = tick_step(F->y1 - F->y0, 6);
    for (double y = ceil(F->y0 / ys) * ys; y <= F->y1 + 1e-9 * ys; y += ys)
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%.4g</text>\n", LEFT, py(F, y), LEFT + F->pw, py(F, y), LEFT - 6, py(F, y) + 4,
                fabs(y) < 1e-12 * ys ? 0 : y);
    for (double x = ceil(F->x0 / xs) * xs; x <= F->x1 + 1e-9 * xs; x += xs)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/><text x=\"%.1f\" "
                "y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", px(F, x), TOP + F->ph, px(F, x), TOP + F->ph + 5,
                px(F, x), TOP + F->ph + 20, fabs(x) < 1e-12 * xs ? 0 : x);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#000\"/>\n", LEFT, TOP,
            F->pw, F->ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", LEFT + F->pw / 2, H_PX - 15);
    escape(f, c->xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">", TOP + F->ph / 2);
    escape(f, c->ylabel);
    fputs("</text>\n", f);
}

/* The stroke of series S (number I): width, opacity and dashes. */
static void stroke_style(FILE *f, const plast_series_style *S, int i, double width)
{
    static const char *const dashes[] = { "6 3", "2 2", "8 3 2 3", "1 4" };
    fprintf(f, " stroke-width=\"%g\"", S->weight > 0 ? 2 * width : width);
    if (S->weight < 0) fputs(" stroke-opacity=\"0.35\"", f);
    if (S->dash > 0) fprintf(f, " stroke-dasharray=\"%s\"", dashes[(S->dash - 1) % 4]);
    else if (i >= 10) fputs(" stroke-dasharray=\"4 2\"", f);
}

/* Series S: its band (a closed polygon, lo along x then hi back), its line
 * or its points, and its legend entry (number I). */
static void series(FILE *f, const plast_series *S, const plast_series_style *st, const frame *F, int i)
{
    const char *color = colors[(st->color > 0 ? st->color - 1 : i) % 10];
    if (S->lo && S->hi) {
        fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.2\" stroke=\"none\" points=\"", color);
        for (int k = 0; k < S->n; k++)
            if (isfinite(S->lo[k])) fprintf(f, "%.1f,%.1f ", px(F, S->x[k]), py(F, S->lo[k]));
        for (int k = S->n - 1; k >= 0; k--)
            if (isfinite(S->hi[k])) fprintf(f, "%.1f,%.1f ", px(F, S->x[k]), py(F, S->hi[k]));
        fputs("\"/>\n", f);
    }
    if (S->points == PLAST_SERIES_POINTS) {
        for (int k = 0; k < S->n; k++)
            if (isfinite(S->y[k]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\" fill-opacity=\"0.7\"/>\n",
                        px(F, S->x[k]), py(F, S->y[k]), color);
    } else {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\"", color);
        stroke_style(f, st, i, 1.5);
        fputs(" points=\"", f);
        for (int k = 0; k < S->n; k++)
            if (isfinite(S->y[k])) fprintf(f, "%.1f,%.1f ", px(F, S->x[k]), py(F, S->y[k]));
        fputs("\"/>\n", f);
        for (int k = 0; S->points == PLAST_SERIES_MARKED && k < S->n; k++)
            if (isfinite(S->y[k]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(F, S->x[k]), py(F, S->y[k]),
                        color);
    }
    double ly = TOP + 10 + 18 * i, lx = LEFT + F->pw + 12;
    if (S->points == PLAST_SERIES_POINTS) fprintf(f, "<circle cx=\"%.0f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", lx + 10, ly, color);
    else {
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\"", lx, ly, lx + 20, ly, color);
        stroke_style(f, st, i, 2);
        fputs("/>", f);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.1f\"%s>", lx + 26, ly + 4, st->weight > 0 ? " font-weight=\"bold\"" : "");
    escape(f, S->label);
    fputs("</text>\n", f);
}

int plast_chart_svg(const char *path, const plast_chart *c, char *err, size_t errlen)
{
    return plast_chart_svg_styled(path, c, NULL, err, errlen);
}

int plast_chart_svg_styled(const char *path, const plast_chart *c, const plast_series_style *style, char *err,
                           size_t errlen)
{
    static const plast_series_style plain = { 0, 0, 0 };
    plast_file out;
    FILE *f = plast_file_create(&out, path, err, errlen);
    if (!f) return -1;
    frame F = ranges(c);
    axes(f, c, &F);
    for (int s = 0; s < c->n_series; s++) series(f, &c->series[s], style ? &style[s] : &plain, &F, s);
    fputs("</svg>\n", f);
    return plast_file_commit(&out, err, errlen);
}

void plast_running_mean(const double *in, double *out, int n, int window)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        sum += in[i];
        if (i >= window) sum -= in[i - window];
        out[i] = sum / (i < window ? i + 1 : window);
    }
}
