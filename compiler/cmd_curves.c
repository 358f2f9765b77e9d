/* cmd_curves — plastcc curves: training runs compared the way papers 001
 * and 003 draw them, median and spread (or mean and sd) over a group's runs.
 *
 *   each NAME:DIR adds run DIR (its test.csv and run.txt) to group NAME
 *   --x episodes:  DIR is a meta-training run instead: its log.csv, column
 *                  --y COL (any of its columns; several, comma-separated,
 *                  give one curve each, "NAME COL"), against the episode
 *   --smooth N:    each run's curve first replaced by its running mean over
 *                  N points (the first N - 1 over the points so far), as
 *                  003's figures draw their curves (N = 11)
 *   --ylabel TEXT: the y axis's label (default: the column, or "value")
 *   --x samples:   per group, at every point of the test curve, the median,
 *                  minimum and maximum over its runs (a line and a band)
 *   --x labelled:  per group and labelled fraction, the same statistics of
 *                  the runs' last evaluation (points with a band)
 *   --at S:        with --x labelled, the evaluation after S samples instead
 *                  of the last (runs of different lengths compared alike)
 *   --stat mean:   the line at the mean, the band mean +- the standard
 *                  deviation over the runs, sd = sqrt(sum (v - mean)^2 / (n - 1))
 *   -> an SVG chart, and the numbers (all five) as CSV on stdout.
 */
#include "config.h"
#include "driver.h"
#include "plast.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: plastcc curves --out FIG.svg [--x samples|labelled|episodes] [--y accuracy|loss|COL[,COL...]]\n"
    "                      [--stat median|mean] [--at SAMPLES] [--smooth N] [--title TEXT] [--ylabel TEXT] NAME:DIR...\n"
    "       plastcc curves --params DIR --out FIG.svg [--mark NAME,...] [--smooth N] [--title TEXT]\n"
    "\n"
    "Compares `train joint` runs: each NAME:DIR puts the run in folder DIR (its\n"
    "test.csv and run.txt) into group NAME.  With --x samples (the default), each\n"
    "group's test accuracy (or loss) against the training samples seen: the median\n"
    "over its runs, with the band from their minimum to their maximum; the runs of\n"
    "a group must share their evaluation points.  With --x labelled, the last\n"
    "evaluation of each run against its labelled fraction: per group and fraction\n"
    "the median, minimum and maximum; --at SAMPLES takes each run's evaluation\n"
    "after that many samples instead of its last.  With --stat mean, the line is\n"
    "the mean and the band the mean plus or minus the standard deviation over the\n"
    "runs (n - 1 in the denominator; none for a single run).  With --x episodes,\n"
    "each DIR is a meta-training run (`plastcc run`) and the curve is the column\n"
    "COL of its log.csv against the episode (--y accuracy: meta_accuracy, loss:\n"
    "meta_loss; several columns, comma-separated, give a curve each, named\n"
    "\"NAME COL\").  --smooth N replaces each run's curve by its running mean over\n"
    "N points before the statistics.  Writes the chart to FIG.svg and prints the\n"
    "numbers as CSV (group,x,runs,median,min,max,mean,sd).\n"
    "\n"
    "With --params, the meta-parameter trajectories of the meta-training run in DIR\n"
    "(its log.csv) against the episodes: --smooth N draws each as a moving average\n"
    "over N episodes (003's figures use 11; default 1, raw), and --mark draws the\n"
    "named columns (as log.csv names them, say theta[0],theta[2],theta[9]) bold and\n"
    "the others faint.\n";

enum { MAX_GROUPS = 16, MAX_RUNS = 256, MAX_COLUMNS = 16 };
enum { X_SAMPLES, X_LABELLED, X_EPISODES };

/* What the options ask for. */
typedef struct request {
    int x, loss, mean, smooth;
    double at;
    const char *column[MAX_COLUMNS];   /* --x episodes: the log.csv columns */
    int n_columns;
} request;

typedef struct run {
    const char *dir;
    int group;
    double labelled;
    int n;
    double *samples, *value;   /* the test curve */
} run;

typedef struct groups {
    const char *name[MAX_GROUPS];
    int n;
    run runs[MAX_RUNS];
    int n_runs;
} groups;

static int read_run_txt(const char *dir, run *r)
{
    char path[4096], key[64];
    double v;
    snprintf(path, sizeof path, "%s/run.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "plastcc: cannot read %s: %s\n", path, strerror(errno)); return -1; }
    r->labelled = NAN;
    while (fscanf(f, "%63s", key) == 1) {
        if (!strcmp(key, "labelled") && fscanf(f, "%lg", &v) == 1) r->labelled = v;
        else if (fscanf(f, "%*[^\n]") < 0) break;
    }
    fclose(f);
    if (isnan(r->labelled)) { fprintf(stderr, "plastcc: %s has no labelled fraction\n", path); return -1; }
    return 0;
}

/* test.csv: batch,samples,test_loss,test_accuracy */
static int read_test_csv(const char *dir, int loss, run *r)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/test.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "plastcc: cannot read %s: %s\n", path, strerror(errno)); return -1; }
    int cap = 0;
    r->n = 0;
    if (!fgets(line, sizeof line, f) || strncmp(line, "batch,samples,test_loss,test_accuracy", 37)) {
        fprintf(stderr, "plastcc: %s is not the test.csv of a joint run\n", path);
        fclose(f);
        return -1;
    }
    long b, s;
    double l, a;
    while (fgets(line, sizeof line, f) && sscanf(line, "%ld,%ld,%lg,%lg", &b, &s, &l, &a) == 4) {
        if (r->n == cap) {
            cap = cap ? 2 * cap : 64;
            r->samples = realloc(r->samples, (size_t)cap * sizeof *r->samples);
            r->value = realloc(r->value, (size_t)cap * sizeof *r->value);
        }
        r->samples[r->n] = (double)s;
        r->value[r->n++] = loss ? l : a;
    }
    fclose(f);
    if (!r->n) { fprintf(stderr, "plastcc: %s has no evaluation\n", path); return -1; }
    return 0;
}

/* Index of NAME among the comma-separated fields of LINE, or -1. */
static int field_index(const char *line, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; line; i++) {
        if (!strncmp(line, name, n) && (line[n] == ',' || line[n] == '\n' || line[n] == '\r' || !line[n])) return i;
        if ((line = strchr(line, ','))) line++;
    }
    return -1;
}

/* Field I of LINE as a number (NAN when absent or not one). */
static double field_value(const char *line, int i)
{
    while (i-- > 0 && line) if ((line = strchr(line, ','))) line++;
    char *end;
    double v = line ? strtod(line, &end) : NAN;
    return line && end != line ? v : NAN;
}

/* log.csv of meta-training run DIR: column COL against the episode. */
static int read_log_column(const char *dir, const char *col, run *r)
{
    char path[4096], *line = NULL;
    size_t cap_line = 0;
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "plastcc: cannot read %s: %s\n", path, strerror(errno)); return -1; }
    int ep = -1, c = -1, cap = 0;
    if (getline(&line, &cap_line, f) > 0) { ep = field_index(line, "episode"); c = field_index(line, col); }
    if (ep != 0) fprintf(stderr, "plastcc: %s is not the log.csv of a meta-training run\n", path);
    else if (c < 0) fprintf(stderr, "plastcc: %s has no column %s\n", path, col);
    r->n = 0;
    while (ep == 0 && c >= 0 && getline(&line, &cap_line, f) > 0) {
        if (r->n == cap) {
            cap = cap ? 2 * cap : 256;
            r->samples = realloc(r->samples, (size_t)cap * sizeof *r->samples);
            r->value = realloc(r->value, (size_t)cap * sizeof *r->value);
        }
        r->samples[r->n] = field_value(line, 0);
        r->value[r->n++] = field_value(line, c);
    }
    free(line);
    fclose(f);
    if (ep == 0 && c >= 0 && !r->n) fprintf(stderr, "plastcc: %s has no episode\n", path);
    return ep == 0 && c >= 0 && r->n ? 0 : -1;
}

/* The running mean of V[0..n) over WINDOW points, in place (003's smoothing). */
static void smooth(double *v, int n, int window)
{
    double *orig = malloc((size_t)n * sizeof *orig);
    if (!orig || window < 2) { free(orig); return; }
    memcpy(orig, v, (size_t)n * sizeof *v);
    plast_running_mean(orig, v, n, window);
    free(orig);
}

/* The group named NAME (LEN characters), made if new; -1 when full. */
static int group_of(groups *G, const char *name, size_t len)
{
    int g = 0;
    while (g < G->n && (strncmp(G->name[g], name, len) || G->name[g][len])) g++;
    if (g == G->n) {
        if (G->n == MAX_GROUPS) return -1;
        G->name[G->n++] = strndup(name, len);
    }
    return g;
}

/* NAME:DIR: one run of group NAME, or with --x episodes one per column
 * (group "NAME COL" when there are several). */
static int add_run(groups *G, const char *arg, const request *q)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || !colon[1]) return -1;
    int n_cols = q->x == X_EPISODES ? q->n_columns : 1;
    for (int k = 0; k < n_cols; k++) {
        char label[512];
        int len = n_cols > 1 ? snprintf(label, sizeof label, "%.*s %s", (int)(colon - arg), arg, q->column[k])
                             : snprintf(label, sizeof label, "%.*s", (int)(colon - arg), arg);
        int g = group_of(G, label, (size_t)len < sizeof label ? (size_t)len : sizeof label - 1);
        if (g < 0 || G->n_runs == MAX_RUNS) return -1;
        run *r = &G->runs[G->n_runs++];
        memset(r, 0, sizeof *r);
        r->group = g;
        r->dir = colon + 1;
        int rc = q->x == X_EPISODES ? read_log_column(r->dir, q->column[k], r)
                                    : read_run_txt(r->dir, r) < 0 ? -1 : read_test_csv(r->dir, q->loss, r);
        if (rc < 0) return -2;
        smooth(r->value, r->n, q->smooth);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One group's curve: per X (the sorted distinct values the runs give), the
 * statistics of the runs' values there. */
enum { MAX_POINTS = 4096 };
typedef struct series {
    double x[MAX_POINTS], med[MAX_POINTS], lo[MAX_POINTS], hi[MAX_POINTS], mean[MAX_POINTS], sd[MAX_POINTS];
    double y[MAX_POINTS], band_lo[MAX_POINTS], band_hi[MAX_POINTS];   /* what is drawn */
    int n, runs[MAX_POINTS];
} series;

/* Median, minimum, maximum, mean and standard deviation of V[0..n) (sorted
 * in place) as point K of S. */
static void stats(series *S, int k, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double sum = 0, ss = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    double mean = sum / n;
    for (int i = 0; i < n; i++) ss += (v[i] - mean) * (v[i] - mean);
    S->med[k] = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    S->lo[k] = v[0];
    S->hi[k] = v[n - 1];
    S->mean[k] = mean;
    S->sd[k] = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

static void add_point(series *S, double x, double *vals, int n)
{
    if (!n || S->n == MAX_POINTS) return;
    S->x[S->n] = x;
    S->runs[S->n] = n;
    stats(S, S->n, vals, n);
    S->n++;
}

/* The line and band drawn: median and range, or mean and +- sd. */
static void choose_drawn(series *S, int mean)
{
    for (int k = 0; k < S->n; k++) {
        S->y[k] = mean ? S->mean[k] : S->med[k];
        S->band_lo[k] = mean ? S->mean[k] - S->sd[k] : S->lo[k];
        S->band_hi[k] = mean ? S->mean[k] + S->sd[k] : S->hi[k];
    }
}

/* Curves against the samples seen: the runs' K-th evaluations together. */
static int by_samples(const groups *G, int g, series *S)
{
    double vals[MAX_RUNS];
    int first = -1;
    for (int i = 0; i < G->n_runs; i++)
        if (G->runs[i].group == g && (first < 0 || G->runs[i].n < G->runs[first].n)) first = i;
    for (int k = 0; first >= 0 && k < G->runs[first].n; k++) {
        int n = 0;
        for (int i = 0; i < G->n_runs; i++) {
            if (G->runs[i].group != g) continue;
            if (G->runs[i].samples[k] != G->runs[first].samples[k]) {
                fprintf(stderr, "plastcc: the runs of group %s were evaluated at different points\n", G->name[g]);
                return -1;
            }
            vals[n++] = G->runs[i].value[k];
        }
        add_point(S, G->runs[first].samples[k], vals, n);
    }
    return 0;
}

/* Run R's value after AT samples (its last for AT < 0), or NAN. */
static double value_at(const run *r, double at)
{
    if (at < 0) return r->value[r->n - 1];
    for (int k = 0; k < r->n; k++)
        if (r->samples[k] == at) return r->value[k];
    return NAN;
}

/* Points against the labelled fraction: each run's evaluation after AT
 * samples (its last for AT < 0). */
static int by_labelled(const groups *G, int g, series *S, double at)
{
    double fr[MAX_RUNS], vals[MAX_RUNS];
    int nf = 0;
    for (int i = 0; i < G->n_runs; i++) if (G->runs[i].group == g) fr[nf++] = G->runs[i].labelled;
    qsort(fr, (size_t)nf, sizeof *fr, cmp_double);
    for (int k = 0; k < nf; k++) {
        if (k && fr[k] == fr[k - 1]) continue;
        int n = 0;
        for (int i = 0; i < G->n_runs; i++)
            if (G->runs[i].group == g && G->runs[i].labelled == fr[k]) {
                if (isnan(vals[n++] = value_at(&G->runs[i], at))) {
                    fprintf(stderr, "plastcc: %s has no evaluation after %.0f samples\n", G->runs[i].dir, at);
                    return -1;
                }
            }
        add_point(S, fr[k], vals, n);
    }
    return 0;
}

/* The chart's title when --title gives none. */
static void default_title(char *t, size_t len, const request *q)
{
    const char *stat = q->mean ? "mean +- sd over the runs" : "median and range over the runs";
    if (q->x == X_EPISODES) {
        int n = snprintf(t, len, "%s", q->column[0]);
        for (int k = 1; k < q->n_columns && n > 0 && (size_t)n < len; k++)
            n += snprintf(t + n, len - (size_t)n, ", %s", q->column[k]);
        if (n > 0 && (size_t)n < len) n += snprintf(t + n, len - (size_t)n, " against the episode (%s", stat);
        if (n > 0 && (size_t)n < len && q->smooth > 1) n += snprintf(t + n, len - (size_t)n, ", running mean of %d", q->smooth);
        if (n > 0 && (size_t)n < len) snprintf(t + n, len - (size_t)n, ")");
    } else if (q->x == X_LABELLED)
        snprintf(t, len, "%s", q->mean ? "Final test accuracy against the labelled fraction (mean +- sd)"
                                       : "Final test accuracy against the labelled fraction");
    else
        snprintf(t, len, "%s", q->mean ? "Test accuracy: mean and standard deviation over the runs"
                                       : "Test accuracy: median and range over the runs");
}

static int draw(const groups *G, const char *out, const char *title, const char *yl, const request *q)
{
    static const char *xname[] = { "samples", "labelled", "episode" };
    series *S = calloc((size_t)G->n, sizeof *S);
    plast_series c[MAX_GROUPS];
    int rc = S ? 0 : -1;
    printf("group,%s,runs,median,min,max,mean,sd\n", xname[q->x]);
    for (int g = 0; rc == 0 && g < G->n; g++) {
        rc = q->x == X_LABELLED ? by_labelled(G, g, &S[g], q->at) : by_samples(G, g, &S[g]);
        choose_drawn(&S[g], q->mean);
        c[g] = (plast_series){ G->name[g], S[g].x, S[g].y, S[g].band_lo, S[g].band_hi, S[g].n,
                               q->x == X_LABELLED ? PLAST_SERIES_MARKED : PLAST_SERIES_LINE };
        for (int k = 0; rc == 0 && k < S[g].n; k++)
            printf("%s,%g,%d,%.6g,%.6g,%.6g,%.6g,%.6g\n", G->name[g], S[g].x[k], S[g].runs[k], S[g].med[k],
                   S[g].lo[k], S[g].hi[k], S[g].mean[k], S[g].sd[k]);
    }
    char err[512], t[512], ylabel[256];
    snprintf(t, sizeof t, "%s", title ? title : "");
    if (!title) default_title(t, sizeof t, q);
    snprintf(ylabel, sizeof ylabel, "%s", yl                  ? yl
                                          : q->x == X_EPISODES ? (q->n_columns > 1 ? "value" : q->column[0])
                                          : q->loss            ? "test loss"
                                                               : "test accuracy");
    static const char *xlabel[] = { "training samples seen", "labelled fraction", "episode" };
    plast_chart chart = { .title = t, .xlabel = xlabel[q->x], .ylabel = ylabel, .series = c, .n_series = G->n };
    if (rc == 0 && plast_chart_svg(out, &chart, err, sizeof err) < 0) {
        fprintf(stderr, "plastcc: %s\n", err);
        rc = -1;
    }
    free(S);
    return rc;
}

/* --mark's comma-separated names, split in place into MARK (at most MAX). */
static int split_marks(char *list, const char **mark, int max)
{
    int n = 0;
    for (char *tok = strtok(list, ","); tok && n < max; tok = strtok(NULL, ",")) mark[n++] = tok;
    return n;
}

/* plastcc curves --params DIR: the meta-parameter trajectories of one run. */
static int params_chart(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *title = NULL, *mark[64];
    char *marks = NULL, err[2048];
    long long smooth = 1;
    int n_mark = 0, rc = 0;
    for (int i = 1; rc == 0 && i < argc; i++) {
        const char *s = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(s, "--params") && more) dir = argv[++i];
        else if (!strcmp(s, "--out") && more) out = argv[++i];
        else if (!strcmp(s, "--title") && more) title = argv[++i];
        else if (!strcmp(s, "--mark") && more) marks = argv[++i];
        else if (!strcmp(s, "--smooth") && more) rc = driver_parse_int(usage, s, argv[++i], 1, 100000, &smooth);
        else rc = driver_usage_error(usage, "'%s' does not go with --params (or misses its value)", s);
    }
    if (rc) return rc;
    if (!dir || !out) return driver_usage_error(usage, "%s", "--params needs DIR and --out");
    if (marks) n_mark = split_marks(marks, mark, 64);
    if (plast_plot_params(dir, out, title, mark, n_mark, (int)smooth, err, sizeof err) == 0) return 0;
    fprintf(stderr, "plastcc: %s\n", err);
    return 1;
}

/* --y: accuracy or loss, or with --x episodes log.csv columns COL[,COL...]
 * (accuracy and loss naming meta_accuracy and meta_loss).  0, or -1. */
static int parse_y(request *q, char *arg)
{
    q->n_columns = 0;
    for (char *tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
        if (q->n_columns == MAX_COLUMNS) return -1;
        q->column[q->n_columns++] = !strcmp(tok, "accuracy") ? "meta_accuracy" : !strcmp(tok, "loss") ? "meta_loss" : tok;
    }
    q->loss = q->n_columns == 1 && !strcmp(q->column[0], "meta_loss");
    return q->n_columns ? 0 : -1;
}

/* The options after the arguments are read: --y's columns checked against --x. */
static int check_request(request *q)
{
    if (q->x == X_EPISODES) return 0;
    if (q->n_columns > 1 || (q->n_columns == 1 && strcmp(q->column[0], "meta_accuracy") && !q->loss))
        return driver_usage_error(usage, "%s", "--y takes log.csv columns only with --x episodes");
    return 0;
}

int cmd_curves(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    for (int i = 1; i < argc; i++) if (!strcmp(argv[i], "--params")) return params_chart(argc, argv);
    const char *out = NULL, *title = NULL, *ylabel = NULL;
    request q = { .x = X_SAMPLES, .at = -1, .column = { "meta_accuracy" }, .n_columns = 1 };
    int rc = 0, n_args = 0;
    char *end;
    groups *G = calloc(1, sizeof *G);
    const char **args = calloc((size_t)argc + 1, sizeof *args);
    for (int i = 1; G && args && rc == 0 && i < argc; i++) {
        const char *s = argv[i];
        int more = i + 1 < argc;
        long n;
        if (!strcmp(s, "--out") && more) out = argv[++i];
        else if (!strcmp(s, "--title") && more) title = argv[++i];
        else if (!strcmp(s, "--ylabel") && more) ylabel = argv[++i];
        else if (!strcmp(s, "--x") && more && (!strcmp(argv[i + 1], "samples") || !strcmp(argv[i + 1], "labelled") ||
                                                !strcmp(argv[i + 1], "episodes")))
            q.x = !strcmp(argv[++i], "samples") ? X_SAMPLES : !strcmp(argv[i], "labelled") ? X_LABELLED : X_EPISODES;
        else if (!strcmp(s, "--y") && more && argv[i + 1][0] != '-') {
            if (parse_y(&q, argv[++i]) < 0) rc = driver_usage_error(usage, "%s", "--y takes at most 16 columns");
        } else if (!strcmp(s, "--stat") && more && (!strcmp(argv[i + 1], "median") || !strcmp(argv[i + 1], "mean")))
            q.mean = !strcmp(argv[++i], "mean");
        else if (!strcmp(s, "--at") && more && (q.at = strtod(argv[i + 1], &end)) >= 0 && end != argv[i + 1] && !*end) i++;
        else if (!strcmp(s, "--smooth") && more && (n = strtol(argv[i + 1], &end, 10)) >= 1 && n <= 100000 &&
                 end != argv[i + 1] && !*end) {
            q.smooth = (int)n;
            i++;
        } else if (s[0] == '-' && s[1]) rc = driver_usage_error(usage, "unknown option or missing value: '%s'", s);
        else args[n_args++] = s;
    }
    if (G && rc == 0) rc = check_request(&q);
    for (int i = 0; G && rc == 0 && i < n_args; i++)
        if ((rc = add_run(G, args[i], &q)) == -1) rc = driver_usage_error(usage, "expected NAME:DIR, not '%s'", args[i]);
        else if (rc == -2) rc = 1;
    free(args);
    if (G && rc == 0 && (!out || !G->n_runs)) rc = driver_usage_error(usage, "%s", "curves needs --out and NAME:DIR");
    if (G && rc == 0) rc = draw(G, out, title, ylabel, &q) < 0;
    for (int i = 0; G && i < G->n_runs; i++) { free(G->runs[i].samples); free(G->runs[i].value); }
    for (int g = 0; G && g < G->n; g++) free((char *)G->name[g]);
    free(G);
    return rc;
}
