/* cmd_run — plastcc run: meta-train an experiment and write its results.
 *
 *   compile the experiment's model and rules -> load kernels (backend)
 *   -> load the data -> plast_train -> log.csv, meta-state.txt, learned.rule,
 *   meta.csv, SVG plots in the output folder.
 */
#include "config.h"
#include "bind.h"
#include "data.h"
#include "driver.h"
#include "learned.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: plastcc run FILE [--experiment NAME] [--episodes N] [--threads N] [--seed S]\n"
    "                   [--out DIR] [--resume DIR] [--quiet] [--backend jit|c]\n"
    "                   [--precision double|single]\n"
    "\n"
    "Meta-trains the rules of an experiment: each episode samples a task, trains a\n"
    "freshly initialised network with the rules, and takes an Adam step on the\n"
    "meta-parameters with the exact meta-gradient through the whole inner loop.\n"
    "\n"
    "  --experiment NAME  which experiment of FILE (needed when it has several)\n"
    "  --episodes N       override the experiment's episode count\n"
    "  --threads N        OpenMP threads (default: all cores)\n"
    "  --seed S           override the experiment's seed\n"
    "  --out DIR          output folder (default: NAME.run); it gets log.csv (one row\n"
    "                     per episode), meta-state.txt, learned.rule, meta.csv and\n"
    "                     meta-accuracy.svg, meta-loss.svg, meta-params.svg\n"
    "  --resume DIR       continue a stopped run from DIR's meta-state (same options)\n"
    "  --quiet            no progress line\n"
    "  --backend B        jit: LLVM ORC JIT in process (default); c: the emitted C\n"
    "                     compiled by the system C compiler\n"
    "  --precision P      double or single: the kernels, the inner loops and the\n"
    "                     reverse sweeps in that type (single: half the memory);\n"
    "                     Adam and the meta-parameters stay double (default: the\n"
    "                     experiment's `precision`, else double)\n"
    "\n"
    "Experiment options (in the .rule file): tasks ways N train K query Q;\n"
    "inner online | batch B [steps S]; meta adam lr X l1 X [prox] episodes N batch M\n"
    "clip C schedule constant|step(every, factor)|cosine warmup W nonfinite stop|skip|backtrack;\n"
    "scale PARAM [s0, ...] | auto; seed S; precision double|single; checkpoint every N.  See docs/language.md.\n";

typedef struct run_args {
    const char *file, *exp, *out, *resume;
    int episodes, threads, quiet, use_c;
    int precision;                 /* -1: the experiment's; 0 double, 1 single */
    long long seed;
} run_args;

/* A task family: every task its own random problem (data moons random, ...). */
static int load_family(const sema_data *D, plast_dataset *d, char *err, size_t errlen)
{
    plast_task_family f = { D->kind == DATA_MOONS ? PLAST_FAMILY_MOONS : PLAST_FAMILY_GAUSSIANS, D->noise, D->std,
                            D->centers, D->project };
    if (plast_family_dataset(&f, d) == 0) return 0;
    snprintf(err, errlen, "cannot make the task family (check the data options)");
    return -1;
}

static int load_data(const sema_experiment *x, uint64_t seed, plast_dataset *d, char *err, size_t errlen)
{
    const sema_data *D = &x->data;
    int rc;
    if (D->random) return load_family(D, d, err, errlen);
    switch (D->kind) {
    case DATA_FASHION_MNIST: rc = plast_load_fashion_mnist(D->test_split, d, err, errlen); break;
    case DATA_IDX: rc = plast_load_idx(D->path[0], D->path[1], d, err, errlen); break;
    case DATA_NPY: rc = plast_load_npy_dataset(D->path[0], D->path[1], d, err, errlen); break;
    case DATA_MOONS: rc = plast_gen_moons((size_t)D->n, D->noise, seed, d); break;
    case DATA_CIRCLES: rc = plast_gen_circles((size_t)D->n, D->noise, D->factor, seed, d); break;
    default: rc = plast_gen_blobs((size_t)D->n, D->centers, D->std, seed, d); break;
    }
    if (rc < 0 && !err[0]) snprintf(err, errlen, "cannot generate the data set (check its options)");
    if (rc == 0 && D->standardise) plast_standardise(d);
    if (rc == 0 && D->project > 0 && plast_project(d, (size_t)D->project, seed) < 0) {
        snprintf(err, errlen, "cannot project the data to %d dimensions", D->project);
        rc = -1;
    }
    return rc;
}

static void fill_opts(const sema_experiment *x, const sema_model *m, const run_args *a, plast_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->ways = x->ways; o->k_train = x->k_train; o->q_query = x->q_query;
    o->batch = x->batch; o->steps = x->steps; o->unlabelled = x->unlabelled;
    o->episodes = a->episodes > 0 ? a->episodes : x->episodes;
    o->meta_batch = x->meta_batch;
    o->lr = x->lr; o->l1 = x->l1; o->l1_prox = x->l1_prox; o->clip = x->clip;
    o->schedule = x->schedule; o->sched_every = x->sched_every; o->sched_gamma = x->sched_gamma; o->warmup = x->warmup;
    o->nonfinite_skip = x->nonfinite_skip;
    o->seed = a->seed >= 0 ? (uint64_t)a->seed : x->seed;
    o->checkpoint_every = x->checkpoint_every;
    o->threads = a->threads;
    o->quiet = a->quiet;
    o->resume = a->resume != NULL;
    o->out_dir = a->resume ? a->resume : a->out;
    o->diag_alignment = x->diag_alignment;
    o->diag_orthonormality = x->diag_orthonormality;
}

/* Per-parameter scales given in the experiment (`scale PARAM [..]`); the
 * entries of `scale PARAM auto` are marked in AUTOS[rule][meta]. */
static double **scales(const sema_experiment *x, const bound_net *bn, unsigned char **autos)
{
    double **s = calloc(PLAST_MAX_LAYERS, sizeof *s);
    for (int r = 0; r < bn->net.n_rules; r++) {
        s[r] = malloc((size_t)(bn->rules[r].n_meta + 1) * sizeof(double));
        for (int k = 0; k < bn->rules[r].n_meta; k++) s[r][k] = 1;
        for (int i = 0; i < x->n_scales; i++) {
            const sema_scale *sc = &x->scales[i];
            if (bn->compiled[r]->rule != sc->rule_ptr) continue;
            const sema_param *prm = &sc->rule_ptr->params[sc->param];
            for (int k = 0; k < (prm->size ? prm->size : 1); k++) {
                if (sc->is_auto) autos[r][prm->offset + k] = 1;
                else s[r][prm->offset + k] = sc->values[k];
            }
        }
    }
    return s;
}

static int write_outputs(const char *dir, const compiled_unit *u, const bound_net *bn, double **meta,
                         double **scale, const char *file, const char *exp, int episodes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/learned.rule", dir);
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "plastcc: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    fprintf(f, "# Learned by `plastcc run %s --experiment %s` after %d episodes.\n", file, exp, episodes);
    for (int r = 0; r < bn->net.n_rules; r++) learned_write_rule(f, u->prog, bn->compiled[r]->rule, meta[r], 1e-6);
    fclose(f);
    snprintf(path, sizeof path, "%s/meta.csv", dir);
    if (!(f = fopen(path, "w"))) { fprintf(stderr, "plastcc: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    fputs("rule,name,value,scale\n", f);
    for (int r = 0; r < bn->net.n_rules; r++)
        for (int k = 0; k < bn->rules[r].n_meta; k++)
            fprintf(f, "%s,%s,%.17g,%.6g\n", bn->rules[r].name, bn->rules[r].meta_name[k], meta[r][k], scale[r][k]);
    fclose(f);
    char err[512];
    if (plast_plot_log(dir, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return -1; }
    return 0;
}

/* Mean meta-accuracy of the last N (<= 1000) rows of DIR/log.csv. */
static double recent_accuracy(const char *dir, int n, int *rows)
{
    char path[4096], line[65536];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    double ring[1000];
    int count = 0;
    if (n > 1000) n = 1000;
    *rows = 0;
    if (!f) return NAN;
    while (fgets(line, sizeof line, f)) {
        int e;
        double loss, a;
        if (sscanf(line, "%d,%lg,%lg", &e, &loss, &a) == 3) ring[count++ % n] = a;
    }
    fclose(f);
    *rows = count < n ? count : n;
    double s = 0;
    for (int i = 0; i < *rows; i++) s += ring[i];
    return *rows ? s / *rows : NAN;
}

static int train(const run_args *a, const compiled_unit *u, backend_module *m, const sema_experiment *x)
{
    char err[512] = "";
    bound_net bn;
    if (bind_net(u, m, x, &bn, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); return 1; }
    plast_train_opts o;
    fill_opts(x, u->prog->models[x->model], a, &o);
    const char *dir = o.out_dir;
    if (driver_mkdirs(dir) != 0) {
        fprintf(stderr, "plastcc: cannot create %s: %s\n", dir, strerror(errno));
        bind_free(&bn);
        return 1;
    }
    plast_dataset data;
    memset(&data, 0, sizeof data);
    if (load_data(x, o.seed, &data, err, sizeof err) < 0) {
        fprintf(stderr, "plastcc: %s\n", err);
        bind_free(&bn);
        return 1;
    }
    unsigned char *autos[PLAST_MAX_LAYERS] = { 0 };
    for (int r = 0; r < bn.net.n_rules; r++) autos[r] = calloc((size_t)bn.rules[r].n_meta + 1, 1);
    double **sc = scales(x, &bn, autos);
    o.scale = sc;
    o.auto_scale = autos;
    double *meta[PLAST_MAX_LAYERS] = { 0 }, *used[PLAST_MAX_LAYERS] = { 0 };
    for (int r = 0; r < bn.net.n_rules; r++) {
        meta[r] = calloc((size_t)bn.rules[r].n_meta + 1, sizeof(double));
        used[r] = calloc((size_t)bn.rules[r].n_meta + 1, sizeof(double));
    }
    plast_train_result res;
    memset(&res, 0, sizeof res);
    res.meta = meta;
    res.scale = used;
    int rc = plast_train(&bn.net, &data, &o, &res);
    if (rc < 0) fprintf(stderr, "plastcc: run stopped: %s\n", res.what);
    if (res.episodes_done > 0) {
        if (rc < 0) fprintf(stderr, "plastcc: the log and meta-state of the %d episodes before are kept in %s\n",
                            res.episodes_done, dir);
        if (write_outputs(dir, u, &bn, meta, used, a->file, x->name, res.episodes_done) < 0) rc = -1;
        int rows;
        double acc = recent_accuracy(dir, 50, &rows);
        printf("%s: %d episodes, mean meta-accuracy over the last %d: %.4f\n", x->name, res.episodes_done, rows, acc);
        if (res.nonfinite_skipped)
            printf("%d episode%s skipped for a NaN or Inf (nonfinite %s): missing from log.csv, named on stderr\n",
                   res.nonfinite_skipped, res.nonfinite_skipped == 1 ? "" : "s",
                   x->nonfinite_skip == 2 ? "backtrack: each undid the meta-step before it and halved the learning rate" : "skip");
        printf("results in %s/ (log.csv, learned.rule, meta-accuracy.svg, meta-loss.svg, meta-params.svg%s%s)\n", dir,
               x->diag_alignment ? ", alignment.svg" : "", x->diag_orthonormality ? ", orthonormality.svg" : "");
    }
    for (int r = 0; r < bn.net.n_rules; r++) { free(meta[r]); free(sc[r]); free(used[r]); free(autos[r]); }
    free(sc);
    plast_dataset_free(&data);
    bind_free(&bn);
    return rc < 0;
}

static int parse(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->seed = -1;
    a->precision = -1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(s, "--experiment") && more) a->exp = argv[++i];
        else if (!strcmp(s, "--episodes") && more) a->episodes = atoi(argv[++i]);
        else if (!strcmp(s, "--threads") && more) a->threads = atoi(argv[++i]);
        else if (!strcmp(s, "--seed") && more) a->seed = atoll(argv[++i]);
        else if (!strcmp(s, "--out") && more) a->out = argv[++i];
        else if (!strcmp(s, "--resume") && more) a->resume = argv[++i];
        else if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) a->quiet = 1;
        else if (!strcmp(s, "--backend") && more) {
            const char *b = argv[++i];
            if (strcmp(b, "c") && strcmp(b, "jit")) return driver_usage_error(usage, "unknown backend '%s'", b);
            a->use_c = !strcmp(b, "c");
        } else if (!strcmp(s, "--precision") && more) {
            const char *p = argv[++i];
            if (strcmp(p, "double") && strcmp(p, "single")) return driver_usage_error(usage, "unknown precision '%s'", p);
            a->precision = !strcmp(p, "single");
        } else if (s[0] == '-' && s[1]) return driver_usage_error(usage, "unknown option or missing value: '%s'", s);
        else if (a->file) return driver_usage_error(usage, "%s", "run takes one FILE");
        else a->file = s;
    }
    if (!a->file) return driver_usage_error(usage, "%s", "run needs a FILE");
    return 0;
}

int cmd_run(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    run_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc;
    if (!a.exp) {   /* the only experiment of the file */
        int before = diag_error_count();
        sema_program *p = sema_load(a.file);
        if (diag_error_count() != before) { sema_program_free(p); driver_report_errors(); return 1; }
        if (p->n_experiments != 1) {
            fprintf(stderr, "plastcc: %s has %d experiments; choose one with --experiment\n", a.file, p->n_experiments);
            for (int i = 0; i < p->n_experiments; i++) fprintf(stderr, "  %s\n", p->experiments[i]->name);
            sema_program_free(p);
            return 2;
        }
        a.exp = strdup(p->experiments[0]->name);
        sema_program_free(p);
    }
    char default_out[512];
    snprintf(default_out, sizeof default_out, "%s.run", a.exp);
    if (!a.out) a.out = default_out;
    int not_found;
    compiled_unit *u = pipeline_compile_experiment(a.file, a.exp, &not_found);
    if (!u) {
        if (not_found) fprintf(stderr, "plastcc: %s has no experiment '%s'\n", a.file, a.exp);
        else driver_report_errors();
        return 1;
    }
    char err[512];
    const sema_experiment *x = u->prog->experiments[sema_find_experiment(u->prog, a.exp)];
    if ((a.precision < 0 ? x->single : a.precision) && (x->diag_alignment || x->diag_orthonormality)) {
        fprintf(stderr, "plastcc: the diagnostics of experiment %s run in double precision only\n", a.exp);
        pipeline_free(u);
        return 1;
    }
    backend_module *m = bind_load(u, a.file, x, a.use_c, a.precision, err, sizeof err);
    if (!m) { fprintf(stderr, "plastcc: %s\n", err); pipeline_free(u); return 1; }
    rc = train(&a, u, m, x);
    backend_close(m);
    pipeline_free(u);
    return rc;
}
