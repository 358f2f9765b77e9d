/* plot_boundary — the decision regions of a network with 2-D inputs, as an
 * SVG (plast.h, plast_plot_boundary): the grid's cells are classified by one
 * forward-only episode of no inner step whose query batch is the cells'
 * centres (plast_episode_out.predict), so the picture is what the network's
 * own kernels compute.  Cells of one class next to each other in a row are
 * drawn as one rectangle. */
#include "config.h"
#include "outdir.h"
#include "plast.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SIDE_PX = 480, MARGIN = 40, TITLE_PX = 30 };

/* Light fills for the regions, full colours for the points (class c mod 6). */
static const char *const region_fill[] = { "#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9" };
static const char *const point_fill[] = { "#2171b5", "#d94801", "#238b45", "#6a51a3", "#cb181d", "#525252" };

typedef struct extent { double lo[2], hi[2]; } extent;

static void grow_extent(extent *e, const double *x, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            if (x[2 * i + k] < e->lo[k]) e->lo[k] = x[2 * i + k];
            if (x[2 * i + k] > e->hi[k]) e->hi[k] = x[2 * i + k];
        }
}

/* The points' extent padded by a tenth (a unit square around one point). */
static extent points_extent(const plast_boundary *b)
{
    extent e = { { INFINITY, INFINITY }, { -INFINITY, -INFINITY } };
    grow_extent(&e, b->x_train, b->n_train);
    grow_extent(&e, b->x_test, b->n_test);
    for (int k = 0; k < 2; k++) {
        if (!(e.hi[k] >= e.lo[k])) e.lo[k] = e.hi[k] = 0;
        double pad = e.hi[k] > e.lo[k] ? 0.1 * (e.hi[k] - e.lo[k]) : 0.5;
        e.lo[k] -= pad;
        e.hi[k] += pad;
    }
    return e;
}

/* The class of every cell (row 0 at the top), from one episode without steps. */
static int classify(const plast_net *net, const plast_boundary *b, const extent *e, int g, int32_t *cls, char *err,
                    size_t errlen)
{
    size_t n = (size_t)g * (size_t)g;
    double *x = malloc(2 * n * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    if (!x || !y) { free(x); free(y); return plast_fail(err, errlen, "out of memory for the grid"); }
    for (size_t r = 0; r < (size_t)g; r++)
        for (size_t c = 0; c < (size_t)g; c++) {
            size_t i = r * (size_t)g + c;
            x[2 * i] = e->lo[0] + (e->hi[0] - e->lo[0]) * ((double)c + 0.5) / g;
            x[2 * i + 1] = e->hi[1] - (e->hi[1] - e->lo[1]) * ((double)r + 0.5) / g;
            y[i] = -1;
        }
    /* no inner step runs, so no rule reads its meta-parameters: zeros */
    const double **meta = calloc((size_t)net->n_rules + 1, sizeof *meta);
    int most = 1;
    for (int r = 0; r < net->n_rules; r++) if (net->rules[r].n_meta > most) most = net->rules[r].n_meta;
    double *zeros = calloc((size_t)most, sizeof *zeros);
    for (int r = 0; meta && r < net->n_rules; r++) meta[r] = zeros;
    plast_episode_data d = { x, y, (int)n, x, y, (int)n, 1, 0 };
    plast_episode_opts o = { 0 };
    plast_episode_out out;
    memset(&out, 0, sizeof out);
    out.predict = cls;
    int rc = meta && zeros ? plast_episode(net, b->state, meta, &d, &o, &out) : -1;
    if (rc < 0) plast_fail(err, errlen, "classifying the grid: %s", meta && zeros ? out.what : "out of memory");
    free(meta);
    free(zeros);
    free(x);
    free(y);
    return rc;
}

static double px(const extent *e, int k, double v)
{
    double t = (v - e->lo[k]) / (e->hi[k] - e->lo[k]);
    return k == 0 ? MARGIN + t * SIDE_PX : TITLE_PX + MARGIN + (1 - t) * SIDE_PX;
}

static void draw_regions(FILE *f, const int32_t *cls, int g)
{
    double cell = (double)SIDE_PX / g;
    for (int r = 0; r < g; r++)
        for (int c = 0; c < g;) {
            int run = 1, k = cls[r * g + c];
            while (c + run < g && cls[r * g + c + run] == k) run++;
            if (k >= 0)
                fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                        MARGIN + c * cell, TITLE_PX + MARGIN + r * cell, run * cell + 0.3, cell + 0.3,
                        region_fill[k % 6]);
            c += run;
        }
}

static void draw_points(FILE *f, const extent *e, const double *x, const int32_t *y, int n, int training)
{
    for (int i = 0; i < n; i++) {
        double cx = px(e, 0, x[2 * i]), cy = px(e, 1, x[2 * i + 1]);
        if (y[i] < 0)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"#737373\" fill-opacity=\"0.6\"/>\n", cx, cy);
        else if (training)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"%s\" stroke=\"black\" stroke-width=\"2\"/>\n",
                    cx, cy, point_fill[y[i] % 6]);
        else
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\" stroke=\"white\" stroke-width=\"0.6\"/>\n",
                    cx, cy, point_fill[y[i] % 6]);
    }
}

int plast_plot_boundary(const char *path, const plast_net *net, const plast_boundary *b, char *err, size_t errlen)
{
    const plast_schedule *S = &net->sched;
    if (S->x < 0 || S->buf[S->x].cols != 2 || S->output < 0)
        return plast_fail(err, errlen, "%s: a decision boundary needs a network with 2 inputs and an output", path);
    int g = b->grid > 0 ? b->grid : 120;
    int32_t *cls = malloc((size_t)g * (size_t)g * sizeof *cls);
    if (!cls) return plast_fail(err, errlen, "out of memory for the grid");
    extent e = points_extent(b);
    if (classify(net, b, &e, g, cls, err, errlen) < 0) { free(cls); return -1; }
    plast_file out;
    FILE *f = plast_file_create(&out, path, err, errlen);
    if (!f) { free(cls); return -1; }
    int w = SIDE_PX + 2 * MARGIN, h = SIDE_PX + 2 * MARGIN + TITLE_PX;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
            "fill=\"white\"/>\n", w, h, w, h);
    fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">", w / 2);
    for (const char *t = b->title ? b->title : ""; *t; t++)   /* the title as text, escaped */
        fputs(*t == '<' ? "&lt;" : *t == '>' ? "&gt;" : *t == '&' ? "&amp;" : (char[2]){ *t, 0 }, f);
    fputs("</text>\n", f);
    draw_regions(f, cls, g);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", MARGIN,
            TITLE_PX + MARGIN, SIDE_PX, SIDE_PX);
    draw_points(f, &e, b->x_test, b->y_test, b->n_test, 0);
    draw_points(f, &e, b->x_train, b->y_train, b->n_train, 1);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#444\">large: labelled training samples; grey dots: "
            "unlabelled; small: test samples; regions: the network's class</text>\n</svg>\n", MARGIN, h - 12);
    free(cls);
    return plast_file_commit(&out, err, errlen);
}
