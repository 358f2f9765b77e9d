/* cmd_analyze — plastcc analyze: what a (learned) rule does, as a function
 * of what a synapse sees (paper 001, Fig. 2 and its polynomial fit).
 *
 *   the rule's dw kernel (JIT, double) on a G x G x G grid of
 *   (pre.y, w, post.y), one sample, averaged over the files given (the
 *   pointwise mean of several learned rules) -> grid.csv, three slices as
 *   SVG -> least squares on the monomials of degree <= 2 (R^2, and the R^2
 *   of each input alone) -> fit.csv, fit.rule (a closed-form rule plastcc
 *   runs).
 */
#include "config.h"
#include "bind.h"
#include "driver.h"
#include "kcall.h"
#include "lsq.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: plastcc analyze FILE... --rule NAME --out DIR [--grid G]\n"
    "                       [--pre LO:HI] [--w LO:HI] [--post LO:HI]\n"
    "\n"
    "Evaluates rule NAME of each FILE (say, the learned.rule of several runs: their\n"
    "meta-MLPs carry the learned weights) on a G x G x G grid of what a synapse sees,\n"
    "(pre.y, w, post.y), one sample at a time, and averages the files' dw pointwise.\n"
    "Writes to DIR:\n"
    "  grid.csv        pre_y,w,post_y,dw at every grid point\n"
    "  slice-pre.svg, slice-w.svg, slice-post.svg\n"
    "                  dw against each input, for three values of another (low,\n"
    "                  middle, high), the third at the middle of its range\n"
    "  fit.csv         least squares of dw on the monomials of degree <= 2 in the\n"
    "                  three inputs: each coefficient, then R^2 of the fit and of\n"
    "                  each input alone (c0 + c1 x)\n"
    "  fit.rule        the fit as a closed-form rule, NAME_fit, that plastcc runs\n"
    "\n"
    "  --grid G        points per input (default 21)\n"
    "  --pre, --w, --post LO:HI\n"
    "                  the ranges (default 0:1, -0.2:0.2, 0:1: sigmoid activities\n"
    "                  and a layer's weights)\n"
    "The rule may read pre.y, post.y and w only.\n";

enum { IN_PRE, IN_W, IN_POST, N_TERMS = 10 };
static const char *const input_names[3] = { "pre.y", "w", "post.y" };
static const char *const term_names[N_TERMS] = { "1", "pre.y", "w", "post.y", "pre.y^2", "w^2", "post.y^2",
                                                 "pre.y*w", "pre.y*post.y", "w*post.y" };
static const char *const term_exprs[N_TERMS] = { "1", "pre.y", "w", "post.y", "pre.y * pre.y", "w * w",
                                                 "post.y * post.y", "pre.y * w", "pre.y * post.y", "w * post.y" };

typedef struct grid {
    int g;
    double lo[3], hi[3];
    double *dw;              /* [w][post][pre]: g^3 values */
} grid;

static double axis(const grid *G, int input, int k)
{
    return G->g > 1 ? G->lo[input] + (G->hi[input] - G->lo[input]) * k / (G->g - 1) : G->lo[input];
}

/* ---- evaluating a rule on the grid ---- */

static int check_inputs(const plast_kdesc *k)
{
    for (int a = 0; a < k->n_arg; a++) {
        const char *n = k->arg[a].name;
        if (k->arg[a].role != PLAST_ROLE_INPUT) continue;
        if (strcmp(n, "w") && strcmp(n, "pre_y") && strcmp(n, "post_y")) {
            fprintf(stderr, "plastcc: analyze evaluates rules of pre.y, w and post.y; %s reads '%s'\n", k->name, n);
            return -1;
        }
    }
    return 0;
}

/* Adds dw / N_FILES of KERNEL (meta META) at every grid point to G->dw:
 * one call per value of w, with n_pre = n_post = g and batch 1. */
static int add_rule(grid *G, const plast_kdesc *k, const double *meta, int n_files)
{
    size_t g = (size_t)G->g;
    double *pre = malloc(g * sizeof *pre), *post = malloc(g * sizeof *post);
    double *w = malloc(g * g * sizeof *w), *dw = malloc(g * g * sizeof *dw), *junk = calloc(g * g + 1, sizeof *junk);
    kscratch s = { NULL, 0 };
    char err[512];
    int rc = pre && post && w && dw && junk ? 0 : -1;
    for (size_t j = 0; rc == 0 && j < g; j++) { pre[j] = axis(G, IN_PRE, (int)j); post[j] = axis(G, IN_POST, (int)j); }
    for (size_t q = 0; rc == 0 && q < g; q++) {
        for (size_t e = 0; e < g * g; e++) w[e] = axis(G, IN_W, (int)q);
        kbind b[] = { { "w", w }, { "pre_y", pre }, { "post_y", post }, { "meta", (void *)meta }, { "dw", dw } };
        rc = plast_kcall(k, (int64_t)g, (int64_t)g, 1, 1, b, 5, junk, &s, err, sizeof err);
        if (rc < 0) fprintf(stderr, "plastcc: %s\n", err);
        for (size_t e = 0; rc == 0 && e < g * g; e++) G->dw[q * g * g + e] += dw[e] / n_files;
    }
    free(pre); free(post); free(w); free(dw); free(junk); free(s.mem);
    return rc;
}

static int eval_file(grid *G, const char *file, const char *rule_name, int n_files)
{
    compiled_unit *u = pipeline_compile(file, 0);
    if (!u) { driver_report_errors(); return -1; }
    int r = sema_find_rule(u->prog, rule_name), rc = -1;
    char err[512], name[160];
    if (r < 0) fprintf(stderr, "plastcc: %s has no rule '%s'\n", file, rule_name);
    backend_module *m = r < 0 ? NULL : backend_load_jit(u, file, PREC_DOUBLE, err, sizeof err);
    if (r >= 0 && !m) fprintf(stderr, "plastcc: %s\n", err);
    snprintf(name, sizeof name, "%s_fwd", rule_name);
    const plast_kdesc *k = m ? backend_find(m, name) : NULL;
    if (k && check_inputs(k) == 0) {
        const sema_rule *sr = u->prog->rules[r];
        double *meta = calloc((size_t)sr->n_meta + 1, sizeof *meta);
        bind_rule_init(u->prog, sr, meta);
        rc = add_rule(G, k, meta, n_files);
        free(meta);
    }
    if (m) backend_close(m);
    pipeline_free(u);
    return rc;
}

/* ---- outputs ---- */

static double at(const grid *G, int pre, int w, int post)
{
    return G->dw[((size_t)w * G->g + post) * G->g + pre];
}

static int write_grid_csv(const grid *G, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/grid.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "plastcc: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    fputs("pre_y,w,post_y,dw\n", f);
    for (int q = 0; q < G->g; q++)
        for (int i = 0; i < G->g; i++)
            for (int j = 0; j < G->g; j++)
                fprintf(f, "%.10g,%.10g,%.10g,%.17g\n", axis(G, IN_PRE, j), axis(G, IN_W, q), axis(G, IN_POST, i),
                        at(G, j, q, i));
    return fclose(f) == 0 ? 0 : -1;
}

/* dw against input X for three values (low, middle, high) of input C, the
 * third input at the middle of its range. */
static int write_slice(const grid *G, const char *dir, int x, int c, const char *rule)
{
    int g = G->g, mid = g / 2, third = 3 - x - c, idx[3];
    double *xs = malloc((size_t)g * sizeof *xs), *ys = malloc(3 * (size_t)g * sizeof *ys);
    char names[3][96], path[4096], title[256], err[512];
    plast_series curves[3];
    for (int k = 0; k < g; k++) xs[k] = axis(G, x, k);
    for (int v = 0; v < 3; v++) {
        int cv = v == 0 ? 0 : v == 1 ? mid : g - 1;
        snprintf(names[v], sizeof names[v], "%s = %.3g", input_names[c], axis(G, c, cv));
        for (int k = 0; k < g; k++) {
            idx[x] = k; idx[c] = cv; idx[third] = mid;
            ys[v * g + k] = at(G, idx[IN_PRE], idx[IN_W], idx[IN_POST]);
        }
        curves[v] = (plast_series){ .label = names[v], .x = xs, .y = ys + v * g, .n = g };
    }
    static const char *const file[3] = { "slice-pre.svg", "slice-w.svg", "slice-post.svg" };
    snprintf(path, sizeof path, "%s/%s", dir, file[x]);
    snprintf(title, sizeof title, "%s: dw against %s (%s = %.3g)", rule, input_names[x], input_names[third],
             axis(G, third, mid));
    plast_chart chart = { .title = title, .xlabel = input_names[x], .ylabel = "dw", .series = curves, .n_series = 3 };
    int rc = plast_chart_svg(path, &chart, err, sizeof err);
    if (rc < 0) fprintf(stderr, "plastcc: %s\n", err);
    free(xs); free(ys);
    return rc;
}

/* ---- the fit ---- */

static void monomials(double p, double w, double q, double *t)
{
    double v[N_TERMS] = { 1, p, w, q, p * p, w * w, q * q, p * w, p * q, w * q };
    memcpy(t, v, sizeof v);
}

/* Least squares of dw on the terms MASK selects; the coefficients into C. */
static double fit(const grid *G, unsigned mask, double *c)
{
    size_t m = (size_t)G->g * G->g * G->g, n = 0, row = 0;
    for (int t = 0; t < N_TERMS; t++) n += mask >> t & 1;
    double *a = malloc(m * n * sizeof *a), *y = malloc(m * sizeof *y), t[N_TERMS], cc[N_TERMS];
    for (int q = 0; q < G->g; q++)
        for (int i = 0; i < G->g; i++)
            for (int j = 0; j < G->g; j++, row++) {
                monomials(axis(G, IN_PRE, j), axis(G, IN_W, q), axis(G, IN_POST, i), t);
                for (int k = 0, col = 0; k < N_TERMS; k++) if (mask >> k & 1) a[row * n + col++] = t[k];
                y[row] = at(G, j, q, i);
            }
    double r2 = lsq_fit(a, y, m, n, cc);
    for (int k = 0, col = 0; k < N_TERMS; k++) c[k] = mask >> k & 1 ? cc[col++] : 0;
    free(a); free(y);
    return r2;
}

static int write_fit(const grid *G, const char *dir, const char *rule, int n_files, const double *c, double r2,
                     const double *alone)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/fit.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "plastcc: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    fputs("term,value\n", f);
    for (int k = 0; k < N_TERMS; k++) fprintf(f, "%s,%.17g\n", term_names[k], c[k]);
    fprintf(f, "r2,%.10g\n", r2);
    for (int x = 0; x < 3; x++) fprintf(f, "r2_%s_alone,%.10g\n", input_names[x], alone[x]);
    int rc = fclose(f);
    snprintf(path, sizeof path, "%s/fit.rule", dir);
    if (!(f = fopen(path, "w"))) { fprintf(stderr, "plastcc: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    fprintf(f, "# plastcc analyze: the least-squares fit of rule %s's dw (%s%d file%s) on a %d^3 grid of\n"
            "# pre.y in [%g, %g], w in [%g, %g], post.y in [%g, %g], monomials of degree <= 2: R^2 = %.6f\n"
            "# (each input alone: pre.y %.4f, w %.4f, post.y %.4f)\n", rule, n_files > 1 ? "the mean over " : "",
            n_files, n_files > 1 ? "s" : "", G->g, G->lo[0], G->hi[0], G->lo[1], G->hi[1], G->lo[2], G->hi[2], r2,
            alone[0], alone[1], alone[2]);
    fprintf(f, "rule %s_fit {\n  param c[%d] = [", rule, N_TERMS);
    for (int k = 0; k < N_TERMS; k++) fprintf(f, "%s%.17g", k ? ", " : "", c[k]);
    fputs("];\n  dw = mean_batch(c[0]", f);
    for (int k = 1; k < N_TERMS; k++) fprintf(f, "\n                  + c[%d] * %s", k, term_exprs[k]);
    fputs(");\n}\n", f);
    return (fclose(f) | rc) == 0 ? 0 : -1;
}

/* ---- the command ---- */

static int parse_range(const char *s, double *lo, double *hi)
{
    char *end;
    *lo = strtod(s, &end);
    if (*end != ':') return -1;
    *hi = strtod(end + 1, &end);
    return *end || !(*hi > *lo) || !isfinite(*lo) || !isfinite(*hi) ? -1 : 0;
}

static int analyze(char **files, int n, const char *rule, const char *dir, grid *G)
{
    size_t total = (size_t)G->g * G->g * G->g;
    G->dw = calloc(total, sizeof *G->dw);
    if (!G->dw) { fprintf(stderr, "plastcc: out of memory\n"); return 1; }
    for (int i = 0; i < n; i++) if (eval_file(G, files[i], rule, n) < 0) return 1;
    if (plast_mkdirs(dir) != 0) { fprintf(stderr, "plastcc: cannot create %s: %s\n", dir, strerror(errno)); return 1; }
    int rc = write_grid_csv(G, dir);
    rc |= write_slice(G, dir, IN_POST, IN_PRE, rule) | write_slice(G, dir, IN_PRE, IN_POST, rule) |
          write_slice(G, dir, IN_W, IN_POST, rule);
    double c[N_TERMS], alone[3], c1[N_TERMS];
    double r2 = fit(G, (1u << N_TERMS) - 1, c);
    for (int x = 0; x < 3; x++) alone[x] = fit(G, 1u | 1u << (1 + x), c1);
    rc |= write_fit(G, dir, rule, n, c, r2, alone);
    printf("%s: dw on a %d^3 grid (%d file%s): degree-2 fit R^2 = %.6f; each input alone: pre.y %.4f, w %.4f, "
           "post.y %.4f\n", rule, G->g, n, n > 1 ? "s, averaged" : "", r2, alone[0], alone[1], alone[2]);
    for (int k = 0; k < N_TERMS; k++) printf("  %-13s %+.6g\n", term_names[k], c[k]);
    printf("results in %s/ (grid.csv, slice-pre.svg, slice-w.svg, slice-post.svg, fit.csv, fit.rule)\n", dir);
    return rc != 0;
}

int cmd_analyze(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    const char *rule = NULL, *dir = NULL;
    grid G = { 21, { 0, -0.2, 0 }, { 1, 0.2, 1 }, NULL };
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int more = i + 1 < argc, in = !strcmp(s, "--pre") ? IN_PRE : !strcmp(s, "--w") ? IN_W : !strcmp(s, "--post") ? IN_POST : -1;
        if (!strcmp(s, "--rule") && more) rule = argv[++i];
        else if (!strcmp(s, "--out") && more) dir = argv[++i];
        else if (!strcmp(s, "--grid") && more) {
            G.g = atoi(argv[++i]);
            if (G.g < 3 || G.g > 201) { free(files); return driver_usage_error(usage, "--grid takes 3 to 201, not '%s'", argv[i]); }
        } else if (in >= 0 && more) {
            if (parse_range(argv[++i], &G.lo[in], &G.hi[in]) < 0) { free(files); return driver_usage_error(usage, "a range is LO:HI with LO < HI, not '%s'", argv[i]); }
        } else if (s[0] == '-' && s[1]) { free(files); return driver_usage_error(usage, "unknown option or missing value: '%s'", s); }
        else files[n++] = argv[i];
    }
    if (!n || !rule || !dir) { free(files); return driver_usage_error(usage, "%s", "analyze needs FILE, --rule and --out"); }
    int rc = analyze(files, n, rule, dir, &G);
    free(G.dw);
    free(files);
    return rc;
}
