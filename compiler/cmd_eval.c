/* cmd_eval — plastcc eval: fixed rules evaluated over new tasks, without
 * meta-training.
 *
 *   compile the experiment -> load kernels -> meta-parameters (the rules' own,
 *   or a learned.rule's) -> plast_evaluate over N tasks -> tasks.csv,
 *   curve.csv, summary.csv and SVG charts in the output folder.
 */
#include "config.h"
#include "bind.h"
#include "comm.h"
#include "driver.h"
#include "outdir.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: plastcc eval FILE [--experiment NAME] [--rules LEARNED.rule] [--tasks N]\n"
    "                    [--curve-every K] [--first-task I] [--seed S] [--threads N]\n"
    "                    [--out DIR [--force]] [--quiet] [--backend jit|c] [--precision double|single]\n"
    "                    [--boundary FILE.svg] [--label NAME] [--compare [NAME=]DIR]...\n"
    "\n"
    "Evaluates the rules of an experiment as they are, without meta-training: each of\n"
    "N tasks trains a freshly initialised network with the rules (the experiment's\n"
    "model, data, tasks and inner loop), and is scored on its query samples and its\n"
    "training samples; learning curves follow the inner loop.  Tasks run in parallel\n"
    "on the threads; the results do not depend on their number.\n"
    "\n"
    "  --experiment NAME  which experiment of FILE (needed when it has several)\n"
    "  --rules FILE       the meta-parameters of FILE's rules (a learned.rule that plastcc run\n"
    "                     wrote): each rule of the experiment takes the values of the rule of\n"
    "                     the same name there, which must declare the same parameters\n"
    "  --tasks N          how many tasks (default 100)\n"
    "  --curve-every K    a learning-curve point every K inner steps (default: about 20 points)\n"
    "  --first-task I     task i is the episode of index I + i (default 2^40: never one that\n"
    "                     meta-training runs); the same I gives the same tasks\n"
    "  --seed S           override the experiment's seed\n"
    "  --threads N        OpenMP threads (default: all cores)\n"
    "  --out DIR          output folder (default: NAME.eval): tasks.csv (a row per task: query\n"
    "                     and training loss and accuracy, and the experiment's diagnostics),\n"
    "                     curve.csv (per point: inner steps, samples seen, labelled ones, mean and standard\n"
    "                     error over the tasks), summary.csv (mean, standard deviation, standard\n"
    "                     error), curve-accuracy.svg, curve-loss.svg\n"
    "  --force            replace the results of an earlier evaluation in DIR\n"
    "  --boundary F.svg   draw the first task's decision regions after its inner loop, with its\n"
    "                     training and query samples (models with 2 inputs)\n"
    "  --compare DIR      an earlier evaluation (say, of a baseline on the same tasks): also\n"
    "                     compare-accuracy.svg and compare-train-loss.svg, this evaluation's\n"
    "                     query accuracy and training loss beside DIR's against labelled\n"
    "                     samples seen (repeatable, up to 16); NAME=DIR names DIR's curve\n"
    "                     (default: the folder's name); evaluations of one name (runs of a\n"
    "                     method from several seeds, on the same tasks) make one curve: the\n"
    "                     mean over them, with a band of one standard error over them\n"
    "  --label NAME       this evaluation's name in those charts (default: the folder's)\n"
    "  --quiet            no progress line\n"
    "  --backend B        jit (default) or c\n"
    "  --precision P      double or single (default: the experiment's)\n";

typedef struct eval_args {
    const char *file, *exp, *rules, *out, *boundary, *label;
    const char *compare[16];       /* --compare [NAME=]DIR: earlier evaluations drawn beside this one */
    int n_compare;
    long long tasks, curve_every, first_task, seed, threads;
    int quiet, force, use_c, precision;
} eval_args;

/* An option with a value: 0 (consumed), 1 (not this kind), or a usage error's 2. */
static int parse_value(const char *s, const char *v, eval_args *a)
{
    if (!strcmp(s, "--experiment")) a->exp = v;
    else if (!strcmp(s, "--rules")) a->rules = v;
    else if (!strcmp(s, "--out")) a->out = v;
    else if (!strcmp(s, "--boundary")) a->boundary = v;
    else if (!strcmp(s, "--label")) a->label = v;
    else if (!strcmp(s, "--compare")) {
        if (a->n_compare == 16) return driver_usage_error(usage, "%s", "at most 16 --compare folders");
        a->compare[a->n_compare++] = v;
    }
    else if (!strcmp(s, "--tasks")) return driver_parse_int(usage, s, v, 1, 1000000, &a->tasks);
    else if (!strcmp(s, "--curve-every")) return driver_parse_int(usage, s, v, 1, 1LL << 30, &a->curve_every);
    else if (!strcmp(s, "--first-task")) return driver_parse_int(usage, s, v, 0, 1LL << 62, &a->first_task);
    else if (!strcmp(s, "--seed")) return driver_parse_int(usage, s, v, 0, 1LL << 53, &a->seed);
    else if (!strcmp(s, "--threads")) return driver_parse_int(usage, s, v, 1, 4096, &a->threads);
    else if (!strcmp(s, "--backend")) {
        if (strcmp(v, "c") && strcmp(v, "jit")) return driver_usage_error(usage, "unknown backend '%s'", v);
        a->use_c = !strcmp(v, "c");
    } else if (!strcmp(s, "--precision")) {
        if (strcmp(v, "double") && strcmp(v, "single")) return driver_usage_error(usage, "unknown precision '%s'", v);
        a->precision = !strcmp(v, "single");
    } else return 1;
    return 0;
}

static int parse(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->tasks = 100;
    a->first_task = 1LL << 40;
    a->seed = -1;
    a->precision = -1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int rc = s[0] == '-' && i + 1 < argc ? parse_value(s, argv[i + 1], a) : 1;
        if (rc > 1) return rc;
        if (rc == 0) i++;
        else if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) a->quiet = 1;
        else if (!strcmp(s, "--force")) a->force = 1;
        else if (s[0] == '-' && s[1]) return driver_usage_error(usage, "unknown option or missing value: '%s'", s);
        else if (a->file) return driver_usage_error(usage, "%s", "eval takes one FILE");
        else a->file = s;
    }
    return a->file ? 0 : driver_usage_error(usage, "%s", "eval needs a FILE");
}

/* ---- meta-parameters ---- */

/* META[r] for each rule of BN: its initial values, or, with --rules, those
 * of the rule of the same name in that file (bind_learned_meta). */
static int load_meta(const eval_args *a, const compiled_unit *u, const bound_net *bn, double **meta)
{
    (void)u;
    int errors = diag_error_count(), rc = bind_learned_meta(a->rules, bn, meta);
    if (rc < 0 && diag_error_count() != errors) driver_report_errors();
    return rc;
}

/* ---- statistics and outputs ---- */

typedef struct stat { double mean, sd, se; int n; } stat;

/* Mean, standard deviation and standard error of the finite V[0..n). */
static stat stats(const double *v, int n)
{
    stat s = { NAN, NAN, NAN, 0 };
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++) if (isfinite(v[i])) { sum += v[i]; s.n++; }
    if (!s.n) return s;
    s.mean = sum / s.n;
    for (int i = 0; i < n; i++) if (isfinite(v[i])) sq += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = s.n > 1 ? sqrt(sq / (s.n - 1)) : 0;
    s.se = s.sd / sqrt((double)s.n);
    return s;
}

typedef struct results {
    plast_eval_task *task;
    int n_tasks, n_points, curve_every, batch;
    int labelled;              /* labelled samples per inner batch (batch - unlabelled) */
    double *curves;            /* [4][n_tasks][n_points]: query loss, accuracy, train loss, accuracy */
    int n_diag;                /* 2 * layers with the experiment's diagnostics, else 0 */
    int align, orth;           /* which of them: alpha_0..alpha_{L-1}, orth_1..orth_{L-1} */
    double *diag;              /* [n_tasks][n_points][n_diag]: plast_eval_task.curve_diag */
    double *column;            /* [n_tasks] scratch */
} results;

static double *curve_of(const results *R, int which, int t)
{
    return R->curves + ((size_t)which * R->n_tasks + (size_t)t) * R->n_points;
}

/* Metric W (0 query loss, 1 query accuracy, 2 train loss, 3 train
 * accuracy) over the tasks: at curve point K, or after the inner loop (K < 0). */
static stat metric(const results *R, int w, int k)
{
    for (int t = 0; t < R->n_tasks; t++) {
        const plast_eval_task *T = &R->task[t];
        double end = w == 0 ? T->loss : w == 1 ? T->accuracy : w == 2 ? T->train_loss : T->train_accuracy;
        R->column[t] = T->failed ? NAN : k < 0 ? end : curve_of(R, w, t)[k];
    }
    return stats(R->column, R->n_tasks);
}

/* Diagnostic J (alpha_J for J < L, orth_{J-L+1} after) at curve point K,
 * over the tasks. */
static stat diag_metric(const results *R, int j, int k)
{
    for (int t = 0; t < R->n_tasks; t++)
        R->column[t] = R->task[t].failed ? NAN : R->diag[((size_t)t * R->n_points + (size_t)k) * R->n_diag + (size_t)j];
    return stats(R->column, R->n_tasks);
}

/* The diagnostics' columns of curve.csv: J and name of column C, or -1
 * past the last (alpha_0..alpha_{L-1}, then orth_1..orth_{L-1}). */
static int diag_column(const results *R, int c, char *name, size_t len)
{
    int L = R->n_diag / 2, na = R->align ? L : 0;
    if (c < na) { snprintf(name, len, "alpha_%d", c); return c; }
    if (!R->orth || c - na >= L - 1) return -1;
    snprintf(name, len, "orth_%d", c - na + 1);
    return L + c - na;
}

static int write_tasks(const char *dir, const results *R, const plast_net *N, const plast_train_opts *o)
{
    char path[4096], err[1024];
    plast_file out;
    snprintf(path, sizeof path, "%s/tasks.csv", dir);
    FILE *f = plast_file_create(&out, path, err, sizeof err);
    if (!f) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    fputs("task,query_loss,query_accuracy,train_loss,train_accuracy", f);
    for (int l = 0; o->diag_alignment && l < N->n_layers; l++) fprintf(f, ",alpha_%d", l);
    for (int l = 1; o->diag_orthonormality && l < N->n_layers; l++) fprintf(f, ",orth_%d", l);
    fputc('\n', f);
    for (int t = 0; t < R->n_tasks; t++) {
        const plast_eval_task *T = &R->task[t];
        if (T->failed) { fprintf(f, "%d,nan,nan,nan,nan\n", t); continue; }
        fprintf(f, "%d,%.10g,%.10g,%.10g,%.10g", t, T->loss, T->accuracy, T->train_loss, T->train_accuracy);
        for (int l = 0; o->diag_alignment && l < N->n_layers; l++) fprintf(f, ",%.6g", T->diag[l]);
        for (int l = 1; o->diag_orthonormality && l < N->n_layers; l++) fprintf(f, ",%.6g", T->diag[N->n_layers + l - 1]);
        fputc('\n', f);
    }
    if (plast_file_commit(&out, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    return 0;
}

static const char *const metric_names[4] = { "query_loss", "query_accuracy", "train_loss", "train_accuracy" };

/* Loss (CHART 0: metrics 0 and 2) or accuracy (1: metrics 1 and 3) against
 * samples seen, mean +- standard error: M, LO, HI are [4][n_points]. */
static int curve_chart(const char *dir, const results *R, int chart, const double *x, const double *m,
                       const double *lo, const double *hi)
{
    int np = R->n_points, q = chart, t = chart + 2;
    char path[4096], err[1024];
    plast_series S[2] = { { "query samples", x, m + q * np, lo + q * np, hi + q * np, np, 0 },
                          { "training samples", x, m + t * np, lo + t * np, hi + t * np, np, 0 } };
    plast_chart c = { chart ? "Accuracy along the inner loop (mean +- standard error over tasks)"
                            : "Loss along the inner loop (mean +- standard error over tasks)",
                      R->labelled < R->batch ? "labelled training samples seen" : "training samples seen",
                      chart ? "accuracy" : "loss", S, 2, 0, 0 };
    snprintf(path, sizeof path, "%s/%s", dir, chart ? "curve-accuracy.svg" : "curve-loss.svg");
    if (plast_chart_svg(path, &c, err, sizeof err) == 0) return 0;
    fprintf(stderr, "plastcc: %s\n", err);
    return -1;
}

/* Alignment angles (WHICH 0: alpha_1..alpha_{L-1}, alpha_0 of the input
 * layer, which no update reads, left out) or orthonormality errors (1:
 * orth_1..orth_{L-1}) along the inner loop, one line per layer with a band
 * of one standard error over the tasks. */
static int diag_chart(const char *dir, const results *R, int which, const double *x)
{
    int L = R->n_diag / 2, np = R->n_points, n = 0, rc = 0;
    if (!(which ? R->orth : R->align) || L < 2) return 0;
    plast_series S[PLAST_MAX_LAYERS];
    char label[PLAST_MAX_LAYERS][32], path[4096], err[1024];
    double *v = malloc(3 * (size_t)np * (size_t)(L - 1) * sizeof *v);
    if (!v) { fprintf(stderr, "plastcc: cannot allocate the diagnostics' chart\n"); return -1; }
    for (int l = 1; l < L; l++, n++) {
        double *m = v + (size_t)3 * np * n, *lo = m + np, *hi = lo + np;
        for (int k = 0; k < np; k++) {
            stat s = diag_metric(R, which ? L + l - 1 : l, k);
            m[k] = s.mean, lo[k] = s.mean - s.se, hi[k] = s.mean + s.se;
        }
        snprintf(label[n], sizeof label[n], which ? "orth_%d (layer %d)" : "alpha_%d (layer %d)", l, l);
        S[n] = (plast_series){ label[n], x, m, lo, hi, np, 0 };
    }
    plast_chart c = { which ? "Orthonormality error (mean +- standard error over tasks)"
                            : "Alignment angle to backprop (mean +- standard error over tasks)",
                      R->labelled < R->batch ? "labelled training samples seen" : "training samples seen",
                      which ? "orthonormality error (Eq. 10)" : "angle (degrees)", S, n, 0, 0 };
    snprintf(path, sizeof path, "%s/%s", dir, which ? "curve-orthonormality.svg" : "curve-alignment.svg");
    if (plast_chart_svg(path, &c, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); rc = -1; }
    free(v);
    return rc;
}

/* curve.csv and its charts. */
static int write_curves(const char *dir, const results *R)
{
    if (R->n_points == 0) return 0;
    char path[4096], err[1024];
    plast_file out;
    snprintf(path, sizeof path, "%s/curve.csv", dir);
    FILE *f = plast_file_create(&out, path, err, sizeof err);
    if (!f) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    fputs("steps,samples_seen,labelled_seen", f);
    for (int w = 0; w < 4; w++) fprintf(f, ",%s_mean,%s_se", metric_names[w], metric_names[w]);
    char name[32];
    for (int c = 0; diag_column(R, c, name, sizeof name) >= 0; c++) fprintf(f, ",%s_mean,%s_se", name, name);
    fputc('\n', f);
    int np = R->n_points;
    double *x = malloc((size_t)np * sizeof *x), *m = malloc(4 * (size_t)np * sizeof *m);
    double *lo = malloc(4 * (size_t)np * sizeof *lo), *hi = malloc(4 * (size_t)np * sizeof *hi);
    int rc = x && m && lo && hi ? 0 : -1;
    for (int k = 0; rc == 0 && k < np; k++) {
        x[k] = (double)k * R->curve_every * R->labelled;   /* semi-supervised: labelled samples seen */
        fprintf(f, "%d,%.0f,%.0f", k * R->curve_every, (double)k * R->curve_every * R->batch, x[k]);
        for (int w = 0; w < 4; w++) {
            stat s = metric(R, w, k);
            m[w * np + k] = s.mean;
            lo[w * np + k] = s.mean - s.se;
            hi[w * np + k] = s.mean + s.se;
            fprintf(f, ",%.10g,%.10g", s.mean, s.se);
        }
        for (int c = 0, j; (j = diag_column(R, c, name, sizeof name)) >= 0; c++) {
            stat s = diag_metric(R, j, k);
            fprintf(f, ",%.10g,%.10g", s.mean, s.se);
        }
        fputc('\n', f);
    }
    if (rc < 0) { plast_file_discard(&out); fprintf(stderr, "plastcc: cannot allocate the curves\n"); }
    else if ((rc = plast_file_commit(&out, err, sizeof err)) < 0) fprintf(stderr, "plastcc: %s\n", err);
    for (int chart = 0; rc == 0 && chart < 2; chart++) rc = curve_chart(dir, R, chart, x, m, lo, hi);
    for (int which = 0; rc == 0 && which < 2; which++) rc = diag_chart(dir, R, which, x);
    free(x); free(m); free(lo); free(hi);
    return rc;
}

/* summary.csv, and the same on standard output. */
static int write_summary(const char *dir, const results *R, const char *name)
{
    char path[4096], err[1024];
    plast_file out;
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    FILE *f = plast_file_create(&out, path, err, sizeof err);
    if (!f) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    fputs("metric,mean,sd,se,n\n", f);
    printf("%s: %d tasks (mean +- standard error)\n", name, R->n_tasks);
    for (int w = 0; w < 4; w++) {
        stat s = metric(R, w, -1);
        fprintf(f, "%s,%.10g,%.10g,%.10g,%d\n", metric_names[w], s.mean, s.sd, s.se, s.n);
        printf("  %-15s %.4f +- %.4f (sd %.4f, n %d)\n", metric_names[w], s.mean, s.se, s.sd, s.n);
    }
    if (plast_file_commit(&out, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    return 0;
}

/* ---- the command ---- */

static const char *const outputs[] = { "tasks.csv", "curve.csv", "summary.csv", "curve-accuracy.svg", "curve-loss.svg",
                                       "curve-alignment.svg", "curve-orthonormality.svg", "compare-accuracy.svg",
                                       "compare-train-loss.svg", "compare-alignment.svg", "compare.csv" };

/* Evaluates with the compiled module M into A->out. */
static int evaluate(const eval_args *a, const compiled_unit *u, backend_module *m, const sema_experiment *x,
                    const plast_comm *comm)
{
    char err[1024] = "";
    bound_net bn;
    plast_dataset data;
    memset(&data, 0, sizeof data);
    double *meta[PLAST_MAX_LAYERS] = { 0 };
    results R;
    memset(&R, 0, sizeof R);
    int rc = 1;
    plast_train_opts o;
    bind_train_opts(u->prog, x, &o);
    if (a->seed >= 0) o.seed = (uint64_t)a->seed;
    o.threads = (int)a->threads;
    o.quiet = a->quiet;
    if (!comm_all_ok(bind_net(u, m, x, &bn, err, sizeof err) == 0, err)) { bind_free(&bn); return 1; }
    int steps = o.steps > 0 ? o.steps : o.ways * o.k_train / (o.batch > 0 ? o.batch : 1);
    plast_eval_opts eo = { (int)a->tasks, (uint64_t)a->first_task,
                           a->curve_every > 0 ? (int)a->curve_every : (steps >= 20 ? steps / 20 : 1), a->boundary,
                           x->name };
    R.n_tasks = eo.tasks;
    R.n_points = plast_eval_points(&o, &eo);
    R.curve_every = eo.curve_every;
    R.batch = o.batch;
    R.labelled = o.batch - o.unlabelled;
    R.task = calloc((size_t)R.n_tasks, sizeof *R.task);
    R.curves = calloc(4 * (size_t)R.n_tasks * (size_t)R.n_points + 1, sizeof(double));
    R.column = calloc((size_t)R.n_tasks, sizeof(double));
    R.align = o.diag_alignment, R.orth = o.diag_orthonormality;
    R.n_diag = (R.align || R.orth) && R.n_points ? 2 * bn.net.n_layers : 0;
    R.diag = calloc((size_t)R.n_tasks * (size_t)R.n_points * (size_t)R.n_diag + 1, sizeof(double));
    if (!R.task || !R.curves || !R.column || !R.diag) { fprintf(stderr, "plastcc: cannot allocate the results of %d tasks\n", R.n_tasks); goto done; }
    for (int t = 0; t < R.n_tasks && R.n_points; t++) {
        R.task[t].curve_loss = curve_of(&R, 0, t);
        R.task[t].curve_acc = curve_of(&R, 1, t);
        R.task[t].curve_train_loss = curve_of(&R, 2, t);
        R.task[t].curve_train_acc = curve_of(&R, 3, t);
        if (R.n_diag) R.task[t].curve_diag = R.diag + (size_t)t * R.n_points * R.n_diag;
    }
    if (!comm_all_ok(load_meta(a, u, &bn, meta) == 0, comm ? "the meta-parameters could not be read (above)" : NULL))
        goto done;
    if (!comm_all_ok(bind_load_data(x, o.seed, &data, err, sizeof err) == 0, err)) goto done;
    o.comm = comm;
    if (comm_rank() != 0) o.quiet = 1;
    if (plast_evaluate(&bn.net, &data, (const double *const *)meta, &o, &eo, R.task, err, sizeof err) < 0) {
        fprintf(stderr, "plastcc: %s\n", err);
        goto done;
    }
    if (comm_rank() != 0) { rc = 0; goto done; }   /* rank 0 writes */
    int failed = 0, first = -1;
    for (int t = 0; t < R.n_tasks; t++) if (R.task[t].failed && failed++ == 0) first = t;
    if (failed == R.n_tasks) {   /* no number to report: the folder keeps no result of it */
        fprintf(stderr, "plastcc: all %d tasks failed, so nothing was written; task %d: %s\n", failed, first,
                R.task[first].what);
        goto done;
    }
    if (failed) fprintf(stderr, "plastcc: %d of %d tasks failed (left out of the means); task %d: %s\n", failed,
                        R.n_tasks, first, R.task[first].what);
    rc = 0;
    if (write_tasks(a->out, &R, &bn.net, &o) < 0 || write_curves(a->out, &R) < 0 || write_summary(a->out, &R, x->name) < 0)
        rc = 1;
    else if (a->n_compare && eval_compare_charts(a->out, a->label, a->compare, a->n_compare, err, sizeof err) < 0) {
        fprintf(stderr, "plastcc: --compare: %s\n", err);
        rc = 1;
    }
    else printf("results in %s/ (tasks.csv, curve.csv, summary.csv%s%s%s)\n", a->out,
                R.n_points ? ", curve-accuracy.svg, curve-loss.svg" : "",
                R.n_diag && R.align ? ", curve-alignment.svg" : "", R.n_diag && R.orth ? ", curve-orthonormality.svg" : "");
done:
    for (int r = 0; r < PLAST_MAX_LAYERS; r++) free(meta[r]);
    free(R.task); free(R.curves); free(R.column); free(R.diag);
    plast_dataset_free(&data);
    bind_free(&bn);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    eval_args a;
    char exp[256], out[512], holder[1024], err[512] = "";
    int rc = parse(argc, argv, &a);
    if (rc) return rc;
    const plast_comm *comm = comm_start(&argc, &argv);
    if (!a.exp && (rc = driver_only_experiment(a.file, exp, sizeof exp)) != 0) return rc;
    if (!a.exp) a.exp = exp;
    snprintf(out, sizeof out, "%s.eval", a.exp);
    if (!a.out) a.out = out;
    int not_found;
    compiled_unit *u = pipeline_compile_experiment(a.file, a.exp, &not_found);
    if (!u) {
        if (not_found) fprintf(stderr, "plastcc: %s has no experiment '%s'\n", a.file, a.exp);
        else driver_report_errors();
    }
    if (!comm_all_ok(u != NULL, comm ? "the experiment could not be compiled (its messages are above)" : NULL)) {
        pipeline_free(u);
        return 1;
    }
    const sema_experiment *x = u->prog->experiments[sema_find_experiment(u->prog, a.exp)];
    snprintf(holder, sizeof holder, "plastcc eval %s --experiment %s", a.file, a.exp);
    int lock = comm_rank() == 0 ? driver_take_folder(a.out, holder, outputs, sizeof outputs / sizeof *outputs, 3,
                                                     a.force, "evaluation", "") : -2;
    backend_module *m = NULL;
    rc = 1;
    if (!comm_same_text(holder, "the experiment and its options") ||
        !comm_all_ok(lock != -1, comm ? "rank 0 cannot use the output folder" : NULL)) {
        rc = 1;
    } else if ((a.precision < 0 ? x->single : a.precision) && (x->diag_alignment || x->diag_orthonormality)) {
        if (comm_rank() == 0)
            fprintf(stderr, "plastcc: the diagnostics of experiment %s run in double precision only\n", a.exp);
    } else if (m = bind_load(u, a.file, x, a.use_c, a.precision, err, sizeof err), !comm_all_ok(m != NULL, err)) {
        rc = 1;
    } else {
        rc = evaluate(&a, u, m, x, comm);
    }
    if (m) backend_close(m);
    if (lock >= 0) plast_outdir_unlock(lock);
    pipeline_free(u);
    return rc;
}
