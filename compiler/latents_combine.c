/* latents_combine — plastcc latents --combine OUT --group LABEL DIR...: the
 * folders of several `plastcc latents` runs (say, one per seed) put side by
 * side per group (say, a model and its training): per group the mean and
 * standard error over its folders of the probe's accuracy at each label
 * count, of every number of summary.csv and, when each of a group's folders
 * has one (--train), of the loss curve; OUT/probe.csv, OUT/summary.csv,
 * OUT/probe.svg (a line per group with its band), OUT/loss.csv, OUT/loss.svg. */
#include "config.h"
#include "driver.h"
#include "latents.h"
#include "outdir.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_GROUPS = 16, MAX_RUNS = 64, MAX_COLS = 16, MAX_CURVE = 512 };

static const char *const summary_cols[] = { "loss", "emd", "emd_aligned", "input_emd_aligned", "probe_accuracy" };
enum { N_SUMMARY = sizeof summary_cols / sizeof *summary_cols };

typedef struct group {
    const char *label;
    const char *dir[MAX_RUNS];
    int n_dirs;
    int counts[LATENTS_MAX_LABELS], n_counts;
    double acc[MAX_RUNS][LATENTS_MAX_LABELS];
    double summary[MAX_RUNS][N_SUMMARY];
    int n_curve;                       /* points of the loss curves; 0: a folder has none */
    double samples[MAX_CURVE], curve[MAX_RUNS][MAX_CURVE];
} group;

/* The header of a CSV line: column K's name into NAMES[K]. */
static int split(char *line, char **cells, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        cells[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* Rows of DIR/NAME as numbers in the columns WANT[0..nw) (by header name),
 * into V[row][k]; the number of rows, or -1 after a message. */
static int read_csv(const char *dir, const char *name, const char *const *want, int nw, double v[][MAX_COLS],
                    int max_rows)
{
    char path[4096], line[4096], *cells[MAX_COLS];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = plast_fopen_regular(path);
    if (!f) { fprintf(stderr, "plastcc: cannot read %s (a plastcc latents folder?)\n", path); return -1; }
    int col[MAX_COLS], rows = 0, n = fgets(line, sizeof line, f) ? split(line, cells, MAX_COLS) : 0;
    for (int k = 0; k < nw; k++) {
        col[k] = -1;
        for (int c = 0; c < n; c++) if (!strcmp(cells[c], want[k])) col[k] = c;
        if (col[k] < 0) { fprintf(stderr, "plastcc: %s has no column '%s'\n", path, want[k]); fclose(f); return -1; }
    }
    while (rows < max_rows && fgets(line, sizeof line, f)) {
        int m = split(line, cells, MAX_COLS);
        for (int k = 0; k < nw; k++) v[rows][k] = col[k] < m ? strtod(cells[col[k]], NULL) : NAN;
        rows++;
    }
    fclose(f);
    return rows;
}

/* Run R's loss curve (curve.csv of --train), at the samples of the first
 * run's; a group whose first folder has none has no curve. */
static int read_curve(group *G, int r)
{
    static const char *const cols[] = { "samples", "loss" };
    static double v[MAX_CURVE][MAX_COLS];
    char path[4096];
    snprintf(path, sizeof path, "%s/curve.csv", G->dir[r]);
    if (r == 0 && access(path, F_OK) != 0) { G->n_curve = 0; return 0; }
    if (r > 0 && G->n_curve == 0) return 0;
    int n = read_csv(G->dir[r], "curve.csv", cols, 2, v, MAX_CURVE);
    if (n < 0) return -1;
    if (r == 0) G->n_curve = n;
    int same = n == G->n_curve;
    for (int k = 0; same && k < n; k++) {
        if (r == 0) G->samples[k] = v[k][0];
        same = G->samples[k] == v[k][0];
        G->curve[r][k] = v[k][1];
    }
    if (same) return 0;
    fprintf(stderr, "plastcc: %s/curve.csv has other points than %s/curve.csv\n", G->dir[r], G->dir[0]);
    return -1;
}

/* Run R of group G: its probe curve (the label counts must be the first run's) and summary. */
static int read_run(group *G, int r)
{
    static const char *const probe_cols[] = { "labels", "accuracy" };
    double v[LATENTS_MAX_LABELS][MAX_COLS];
    int n = read_csv(G->dir[r], "probe.csv", probe_cols, 2, v, LATENTS_MAX_LABELS);
    if (n < 0) return -1;
    if (r == 0) G->n_counts = n;
    for (int k = 0; k < n; k++) {
        if (r == 0) G->counts[k] = (int)v[k][0];
        if (n != G->n_counts || G->counts[k] != (int)v[k][0]) {
            fprintf(stderr, "plastcc: %s/probe.csv has other label counts than %s/probe.csv\n", G->dir[r], G->dir[0]);
            return -1;
        }
        G->acc[r][k] = v[k][1];
    }
    if (read_csv(G->dir[r], "summary.csv", summary_cols, N_SUMMARY, v, 1) != 1) return -1;
    memcpy(G->summary[r], v[0], sizeof G->summary[r]);
    return read_curve(G, r);
}

/* Mean and standard error over the N values V[k * stride]. */
static void mean_se(const double *v, int n, int stride, double *mean, double *se)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += v[i * stride];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (v[i * stride] - *mean) * (v[i * stride] - *mean);
    *se = n > 1 ? sqrt(q / (n - 1) / n) : 0;
}

static int parse_groups(int argc, char **argv, const char *usage, group *G, int *ng, const char **out,
                        const char **title)
{
    *ng = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--combine") && i + 1 < argc) *out = argv[++i];
        else if (!strcmp(argv[i], "--title") && i + 1 < argc) *title = argv[++i];
        else if (!strcmp(argv[i], "--group") && i + 1 < argc && *ng < MAX_GROUPS) {
            memset(&G[*ng], 0, sizeof G[*ng]);
            G[(*ng)++].label = argv[++i];
        } else if (argv[i][0] == '-' || !*ng) return driver_usage_error(usage, "unexpected '%s' in --combine", argv[i]);
        else if (G[*ng - 1].n_dirs == MAX_RUNS) return driver_usage_error(usage, "more than 64 folders in group '%s'",
                                                                          G[*ng - 1].label);
        else G[*ng - 1].dir[G[*ng - 1].n_dirs++] = argv[i];
    }
    for (int g = 0; g < *ng; g++)
        if (!G[g].n_dirs) return driver_usage_error(usage, "group '%s' has no folder", G[g].label);
    return *out && *ng ? 0 : driver_usage_error(usage, "%s", "--combine needs OUT and at least one --group");
}

static int write_probe(const char *out, const group *G, int ng, const char *title)
{
    char path[4096], err[1024];
    plast_file pf;
    snprintf(path, sizeof path, "%s/probe.csv", out);
    FILE *f = plast_file_create(&pf, path, err, sizeof err);
    if (!f) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    fputs("group,labels,accuracy,se,runs\n", f);
    plast_series S[MAX_GROUPS];
    double x[MAX_GROUPS][LATENTS_MAX_LABELS], m[MAX_GROUPS][LATENTS_MAX_LABELS];
    double lo[MAX_GROUPS][LATENTS_MAX_LABELS], hi[MAX_GROUPS][LATENTS_MAX_LABELS];
    for (int g = 0; g < ng; g++) {
        for (int k = 0; k < G[g].n_counts; k++) {
            double se;
            mean_se(&G[g].acc[0][k], G[g].n_dirs, LATENTS_MAX_LABELS, &m[g][k], &se);
            x[g][k] = log2(G[g].counts[k]);
            lo[g][k] = m[g][k] - se;
            hi[g][k] = m[g][k] + se;
            fprintf(f, "%s,%d,%.10g,%.10g,%d\n", G[g].label, G[g].counts[k], m[g][k], se, G[g].n_dirs);
        }
        S[g] = (plast_series){ G[g].label, x[g], m[g], lo[g], hi[g], G[g].n_counts, 0 };
    }
    if (plast_file_commit(&pf, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    plast_chart ch = { title, "log2 labelled samples", "probe test accuracy (mean +- s.e. over runs)", S, ng, 0, 1 };
    snprintf(path, sizeof path, "%s/probe.svg", out);
    if (plast_chart_svg(path, &ch, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    return 0;
}

/* OUT/loss.csv and loss.svg: each group's loss curve, mean and band of
 * one standard error over its folders (groups without curves left out). */
static int write_loss(const char *out, const group *G, int ng, const char *title)
{
    char path[4096], err[1024];
    plast_file pf;
    static double m[MAX_GROUPS][MAX_CURVE], lo[MAX_GROUPS][MAX_CURVE], hi[MAX_GROUPS][MAX_CURVE];
    plast_series S[MAX_GROUPS];
    int ns = 0;
    for (int g = 0; g < ng; g++) ns += G[g].n_curve > 0;
    if (!ns) return 0;
    snprintf(path, sizeof path, "%s/loss.csv", out);
    FILE *f = plast_file_create(&pf, path, err, sizeof err);
    if (!f) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    fputs("group,samples,loss,se,runs\n", f);
    ns = 0;
    for (int g = 0; g < ng; g++) {
        if (!G[g].n_curve) continue;
        for (int k = 0; k < G[g].n_curve; k++) {
            double se;
            mean_se(&G[g].curve[0][k], G[g].n_dirs, MAX_CURVE, &m[g][k], &se);
            lo[g][k] = m[g][k] - se;
            hi[g][k] = m[g][k] + se;
            fprintf(f, "%s,%.10g,%.10g,%.10g,%d\n", G[g].label, G[g].samples[k], m[g][k], se, G[g].n_dirs);
        }
        S[ns++] = (plast_series){ G[g].label, G[g].samples, m[g], lo[g], hi[g], G[g].n_curve, 0 };
    }
    if (plast_file_commit(&pf, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    plast_chart ch = { title, "training samples", "loss on the measured samples (mean +- s.e. over runs)", S, ns, 0, 0 };
    snprintf(path, sizeof path, "%s/loss.svg", out);
    if (plast_chart_svg(path, &ch, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    return 0;
}

static int write_summary(const char *out, const group *G, int ng)
{
    char path[4096], err[1024];
    plast_file sf;
    snprintf(path, sizeof path, "%s/summary.csv", out);
    FILE *f = plast_file_create(&sf, path, err, sizeof err);
    if (!f) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    fputs("group,runs", f);
    for (int c = 0; c < N_SUMMARY; c++) fprintf(f, ",%s,%s_se", summary_cols[c], summary_cols[c]);
    fputc('\n', f);
    for (int g = 0; g < ng; g++) {
        fprintf(f, "%s,%d", G[g].label, G[g].n_dirs);
        for (int c = 0; c < N_SUMMARY; c++) {
            double mean, se;
            mean_se(&G[g].summary[0][c], G[g].n_dirs, N_SUMMARY, &mean, &se);
            fprintf(f, ",%.10g,%.10g", mean, se);
        }
        fputc('\n', f);
    }
    if (plast_file_commit(&sf, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    return 0;
}

int latents_combine(int argc, char **argv, const char *usage)
{
    static group G[MAX_GROUPS];
    int ng;
    const char *out = NULL, *title = "linear probe";
    int rc = parse_groups(argc, argv, usage, G, &ng, &out, &title);
    if (rc) return rc;
    for (int g = 0; g < ng; g++)
        for (int r = 0; r < G[g].n_dirs; r++)
            if (read_run(&G[g], r) < 0) return 1;
    if (plast_mkdirs(out) != 0) { fprintf(stderr, "plastcc: cannot create %s\n", out); return 1; }
    return write_probe(out, G, ng, title) < 0 || write_loss(out, G, ng, title) < 0 || write_summary(out, G, ng) < 0;
}
