/* cmd_run — plastcc run: meta-train an experiment and write its results.
 *
 *   the arguments (and, resuming, the run's own from its meta-state)
 *   -> compile the experiment -> lock the output folder (a resume: check the
 *   experiment is the run's) -> load kernels -> load the data -> plast_train
 *   -> learned.rule, meta.csv and the plots, next to log.csv and
 *   meta-state.txt, each file written whole.
 *
 * SIGINT and SIGTERM stop the run after the episode in flight with every
 * file written (exit status 128 + the signal); a second one stops it at
 * once, which leaves every file as it was before or after its last write.
 */
#include "config.h"
#include "bind.h"
#include "comm.h"
#include "plast.h"
#include "driver.h"
#include "fingerprint.h"
#include "learned.h"
#include "run_joint.h"
#include "outdir.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: plastcc run FILE [--experiment NAME] [--episodes N] [--threads N] [--seed S]\n"
    "                   [--out DIR [--force]] [--resume DIR] [--quiet] [--backend jit|c]\n"
    "                   [--precision double|single] [--seeds LIST] [--sweep-states N]\n"
    "\n"
    "Meta-trains the rules of an experiment: each episode samples a task, trains a\n"
    "freshly initialised network with the rules, and takes an Adam step on the\n"
    "meta-parameters with the exact meta-gradient through the whole inner loop.\n"
    "\n"
    "  --experiment NAME  which experiment of FILE (needed when it has several)\n"
    "  --episodes N       override the experiment's episode count\n"
    "  --threads N        OpenMP threads (default: all cores; a task run alone\n"
    "                     gets the cores other processes leave free)\n"
    "  --seed S           override the experiment's seed\n"
    "  --out DIR          output folder (default: NAME.run); it gets log.csv (one row\n"
    "                     per episode), meta-state.txt, learned.rule, meta.csv and\n"
    "                     meta-accuracy.svg, meta-loss.svg, meta-params.svg; one run\n"
    "                     at a time, and a folder with results is refused\n"
    "  --force            replace the results of an earlier run in the --out folder\n"
    "  --resume DIR       continue a stopped or killed run: the experiment must be\n"
    "                     the one it ran (what differs is named); the options it was\n"
    "                     given (--experiment, --episodes, --seed, --precision) are\n"
    "                     kept unless given again (--episodes may grow)\n"
    "  --seeds LIST       independent runs, one per seed of LIST (1,2,3 or 1-5 or\n"
    "                     both), each in DIR/seed-S of the --out or --resume\n"
    "                     folder DIR; under MPI the seeds are shared out over the\n"
    "                     ranks (seed i of the list on rank i mod N)\n"
    "  --quiet            no progress line\n"
    "  --backend B        jit: LLVM ORC JIT in process (default); c: the emitted C\n"
    "                     compiled by the system C compiler\n"
    "  --precision P      double or single: the kernels, the inner loops and the\n"
    "                     reverse sweeps in that type (single: half the memory);\n"
    "                     Adam and the meta-parameters stay double (default: the\n"
    "                     experiment's `precision`, else double)\n"
    "  --sweep-states N   copies of the weights each episode's reverse sweep may hold\n"
    "                     (N >= 2; default: the fewest with which each inner step runs\n"
    "                     forward at most 3 times on average); the same results\n"
    "\n"
    "Ctrl-C (SIGINT) or SIGTERM stops after the episode in flight, with every file\n"
    "written; a second one stops at once.  Continue either with --resume.\n"
    "\n"
    "Under mpirun or srun (plastcc built with MPI), the tasks of each meta-batch are\n"
    "split over the ranks and the run follows one process's bit for bit; rank 0 writes\n"
    "the outputs.  See docs/cluster.md.\n"
    "\n"
    "Experiment options (in the .rule file): tasks ways N train K query Q;\n"
    "inner online | batch B [steps S]; meta adam lr X l1 X [prox] episodes N batch M\n"
    "clip C schedule constant|step(every, factor)|cosine warmup W nonfinite stop|skip|backtrack;\n"
    "scale PARAM [s0, ...] | auto; seed S; precision double|single; checkpoint every N.  See docs/language.md.\n"
    "\n"
    "With `train joint [epochs N] [batches N] [labelled F] [test every K];` (paper 001)\n"
    "there are no episodes: the learner and the rules train together, one Adam step\n"
    "of each per minibatch (`inner batch B`) of the whole training split, the\n"
    "learner's with `learner adam lr X`; `updates forward;` puts each rule inside\n"
    "its layer's forward pass.  The output folder then holds log.csv (a row per\n"
    "minibatch), test.csv (test accuracy every K minibatches), run.txt,\n"
    "joint-state.txt (for --resume), learned.rule, meta.csv, learning-curve.svg and\n"
    "train-loss.svg.  See docs/meta-training.md, \"Joint training\".\n";

typedef struct run_args {
    const char *file, *exp, *out, *resume;
    int episodes, threads, quiet, use_c, force, sweep_states;
    int precision;                 /* -1: the experiment's; 0 double, 1 single */
    long long seed;                /* -1: the experiment's */
    long long seeds[1000];         /* --seeds: independent runs (n_seeds of them, MAX_SEEDS at most) */
    int n_seeds;
    char exp_buf[256];             /* the experiment's name, when it comes from the file or the run */
} run_args;

/* ---- the arguments ---- */

enum { MAX_SEEDS = 1000 };

/* --seeds "1,2,5-8": distinct seeds, in the order given. */
static int parse_seeds(const char *v, run_args *a)
{
    const char *p = v;
    while (*p) {
        char *end;
        long long lo = strtoll(p, &end, 10), hi = lo;
        if (end == p || lo < 0) break;
        if (*end == '-' && end[1] >= '0' && end[1] <= '9') hi = strtoll(end + 1, &end, 10);
        if (hi < lo || hi > 9007199254740992LL || hi - lo >= MAX_SEEDS) break;
        for (long long s = lo; s <= hi; s++) {
            char seed[32];
            snprintf(seed, sizeof seed, "%lld", s);
            for (int i = 0; i < a->n_seeds; i++)
                if (a->seeds[i] == s) return driver_usage_error(usage, "--seeds: seed %s is given twice", seed);
            if (a->n_seeds == MAX_SEEDS) return driver_usage_error(usage, "%s", "--seeds: more than 1000 seeds");
            a->seeds[a->n_seeds++] = s;
        }
        p = end;
        if (*p == ',' && p[1]) p++;
        else if (*p) break;
    }
    if (*p || !a->n_seeds)
        return driver_usage_error(usage, "--seeds wants a list of seeds such as 1,2,3 or 1-5, not '%s'", v);
    return 0;
}

static int parse_value(const char *s, const char *v, run_args *a)
{
    long long n;
    int rc = 0;
    if (!strcmp(s, "--experiment")) a->exp = v;
    else if (!strcmp(s, "--out")) a->out = v;
    else if (!strcmp(s, "--resume")) a->resume = v;
    else if (!strcmp(s, "--episodes")) { if (!(rc = driver_parse_int(usage, s, v, 1, 100000000, &n))) a->episodes = (int)n; }
    else if (!strcmp(s, "--threads")) { if (!(rc = driver_parse_int(usage, s, v, 1, 4096, &n))) a->threads = (int)n; }
    else if (!strcmp(s, "--sweep-states")) {
        if (!(rc = driver_parse_int(usage, s, v, 2, 1000000000, &n))) a->sweep_states = (int)n;
    }
    else if (!strcmp(s, "--seed")) rc = driver_parse_int(usage, s, v, 0, 9007199254740992LL, &a->seed);
    else if (!strcmp(s, "--seeds")) rc = parse_seeds(v, a);
    else if (!strcmp(s, "--backend")) {
        if (strcmp(v, "c") && strcmp(v, "jit")) return driver_usage_error(usage, "unknown backend '%s'", v);
        a->use_c = !strcmp(v, "c");
    } else if (!strcmp(s, "--precision")) {
        if (strcmp(v, "double") && strcmp(v, "single")) return driver_usage_error(usage, "unknown precision '%s'", v);
        a->precision = !strcmp(v, "single");
    } else {
        return -1;
    }
    return rc;
}

static int parse(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->seed = -1;
    a->precision = -1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int rc = i + 1 < argc ? parse_value(s, argv[i + 1], a) : -1;
        if (rc > 0) return rc;
        if (rc == 0) i++;
        else if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) a->quiet = 1;
        else if (!strcmp(s, "--force")) a->force = 1;
        else if (s[0] == '-' && s[1]) return driver_usage_error(usage, "unknown option or missing value: '%s'", s);
        else if (a->file) return driver_usage_error(usage, "%s", "run takes one FILE");
        else a->file = s;
    }
    if (!a->file) return driver_usage_error(usage, "%s", "run needs a FILE");
    if (a->force && a->resume) return driver_usage_error(usage, "%s", "--force starts a run again; --resume continues it");
    if (a->out && a->resume) return driver_usage_error(usage, "%s", "--resume DIR is the output folder; --out is not needed");
    if (a->n_seeds && a->seed >= 0) return driver_usage_error(usage, "%s", "--seed is one run; --seeds several: give one");
    return 0;
}

/* The options of the run's command line that change its numbers, as its
 * fingerprint keeps them. */
static void cli_options(const run_args *a, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    if (a->episodes > 0) n += (size_t)snprintf(buf + n, len - n, " --episodes %d", a->episodes);
    if (a->seed >= 0 && n < len) n += (size_t)snprintf(buf + n, len - n, " --seed %lld", a->seed);
    if (a->precision >= 0 && n < len) snprintf(buf + n, len - n, " --precision %s", a->precision ? "single" : "double");
    if (buf[0]) memmove(buf, buf + 1, strlen(buf));
}

/* A resume: the experiment, and the options the run was given, from its
 * meta-state, unless given again.  *STORED: its fingerprint (NULL for a
 * meta-state written before fingerprints). */
static int resume_defaults(run_args *a, char **stored)
{
    char err[1024], v[256];
    struct stat st;
    if (stat(a->resume, &st) != 0) {
        fprintf(stderr, "plastcc: cannot resume: %s: %s\n", a->resume, strerror(errno));
        return -1;
    }
    if (plast_meta_state_fingerprint(a->resume, stored, err, sizeof err) < 0) {
        /* A run that holds the folder and has not yet written its first
         * meta-state: say so, not that the meta-state is missing. */
        char busy[1024];
        int lock = plast_outdir_lock(a->resume, "plastcc run --resume (checking)", busy, sizeof busy);
        if (lock >= 0) plast_outdir_unlock(lock);
        fprintf(stderr, "plastcc: %s\n", lock < 0 && strstr(busy, "in use by another run") ? busy : err);
        return -1;
    }
    if (!*stored) return 0;
    if (!a->exp && fingerprint_experiment_name(*stored, a->exp_buf, sizeof a->exp_buf)) a->exp = a->exp_buf;
    if (a->episodes <= 0 && fingerprint_cli(*stored, "--episodes", v, sizeof v)) a->episodes = atoi(v);
    if (a->seed < 0 && fingerprint_cli(*stored, "--seed", v, sizeof v)) a->seed = atoll(v);
    if (a->precision < 0 && fingerprint_cli(*stored, "--precision", v, sizeof v)) a->precision = !strcmp(v, "single");
    return 0;
}

/* The experiment's options, and what the command line changes. */
static void fill_opts(const sema_program *p, const sema_experiment *x, const run_args *a, plast_train_opts *o)
{
    bind_train_opts(p, x, o);
    if (a->episodes > 0) o->episodes = a->episodes;
    if (a->seed >= 0) o->seed = (uint64_t)a->seed;
    o->threads = a->threads;
    o->inner_sweep_states = a->sweep_states;   /* not in the fingerprint: the same bits for any */
    o->quiet = a->quiet;
    o->resume = a->resume != NULL;
    o->out_dir = a->resume ? a->resume : a->out;
}

/* ---- the output folder ---- */

/* What a run writes (the plots as plot.c names them). */
static const char *const outputs[] = { "log.csv",           "meta-state.txt", "joint-state.txt", "learned.rule",
                                       "meta.csv",          "test.csv",       "meta-accuracy.svg", "meta-loss.svg",
                                       "meta-params.svg",   "alignment.svg",  "orthonormality.svg", "learning-curve.svg",
                                       "train-loss.svg",    "run.txt" };
enum { N_RESULTS = 6 };   /* the first six: a folder with one of them has results */

/* Locks the output folder for this run (-1 after a message); a fresh run
 * creates it and may not overwrite results (a resume is offered when there
 * is a meta-state or joint-state to resume from). */
static int take_folder(const run_args *a)
{
    const char *dir = a->resume ? a->resume : a->out;
    char holder[1024], suggest[4200], state[4200], joint[4200];
    snprintf(holder, sizeof holder, "plastcc run %s --experiment %s%s", a->file, a->exp, a->resume ? " --resume" : "");
    snprintf(state, sizeof state, "%s/meta-state.txt", dir);
    snprintf(joint, sizeof joint, "%s/joint-state.txt", dir);
    snprintf(suggest, sizeof suggest, "continue it with --resume %s, or ", dir);
    int resumable = access(state, F_OK) == 0 || access(joint, F_OK) == 0;
    return driver_take_folder(dir, holder, outputs, sizeof outputs / sizeof *outputs, N_RESULTS,
                              a->resume ? -1 : a->force, "run", resumable ? suggest : "");
}

/* A resume continues the experiment its meta-state was written by: the
 * same model, rules, data, tasks, optimiser, seed and precision. */
static int same_experiment(const char *dir, const char *stored, const char *now)
{
    if (!stored) {
        fprintf(stderr, "plastcc: warning: %s/meta-state.txt was written before runs kept their experiment's "
                "fingerprint: the experiment cannot be checked to be the same\n", dir);
        return 0;
    }
    char *what = fingerprint_compare(stored, now);
    if (!what) return 0;
    fprintf(stderr, "plastcc: cannot resume: the experiment differs from the run in %s:\n%sstart a new run "
            "with --out, or undo the change\n", dir, what);
    free(what);
    return -1;
}

/* ---- signals ---- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    static const char msg[] = "\nplastcc: stopping after the episode in flight (once more to stop at once)\n";
    if (stop_signal) {   /* the second: at once, as if never caught */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) return;
}

static void catch_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- training and results ---- */

/* Mean meta-accuracy of the last N (<= 1000) rows of DIR/log.csv. */
static double recent_accuracy(const char *dir, int n, int *rows)
{
    char path[4096], line[65536];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = plast_fopen_regular(path);
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

/* learned.rule, meta.csv and the plots; 0, or -1 after naming the file. */
static int write_outputs(const char *dir, const compiled_unit *u, const bound_net *bn, double **meta, double **scale,
                         const run_args *a, const sema_experiment *x, int episodes)
{
    char err[4608], header[1024];
    snprintf(header, sizeof header, "Learned by `plastcc run %s --experiment %s` after %d episodes.", a->file, x->name,
             episodes);
    if (learned_write_files(dir, u->prog, bn, meta, scale, header, err, sizeof err) < 0 ||
        plast_plot_log(dir, err, sizeof err) < 0) {
        fprintf(stderr, "plastcc: %s\n", err);
        return -1;
    }
    return 0;
}

static void summary(const char *dir, const sema_experiment *x, const plast_train_result *res)
{
    int rows;
    double acc = recent_accuracy(dir, 50, &rows);
    printf("%s: %d episodes, mean meta-accuracy over the last %d: %.4f\n", x->name, res->episodes_done, rows, acc);
    if (res->nonfinite_skipped)
        printf("%d episode%s skipped for a NaN or Inf (nonfinite %s): missing from log.csv, named on stderr\n",
               res->nonfinite_skipped, res->nonfinite_skipped == 1 ? "" : "s",
               x->nonfinite_skip == 2 ? "backtrack: each undid the meta-step before it and halved the learning rate" : "skip");
    printf("results in %s/ (log.csv, learned.rule, meta-accuracy.svg, meta-loss.svg, meta-params.svg%s%s)\n", dir,
           x->diag_alignment ? ", alignment.svg" : "", x->diag_orthonormality ? ", orthonormality.svg" : "");
}

/* After plast_train: the results of a run that reached a valid state, and
 * what a stopped run keeps.  Returns the exit status. */
static int finish(const run_args *a, const compiled_unit *u, const bound_net *bn, const sema_experiment *x,
                  const plast_train_opts *o, const plast_train_result *res, int rc, double **meta, double **used)
{
    if (rc < 0) fprintf(stderr, "plastcc: run stopped: %s\n", res->what);
    if (res->stopped && res->episodes_done == 0) fprintf(stderr, "plastcc: stopped before the first episode\n");
    if (res->episodes_done == 0) return res->stopped ? 128 + stop_signal : rc < 0;
    int wrote = write_outputs(o->out_dir, u, bn, meta, used, a, x, res->episodes_done) == 0;
    if ((rc < 0 || res->stopped || !wrote) && res->state_saved)
        fprintf(stderr, "plastcc: %s of the %d episodes done are in %s; continue with --resume %s\n",
                wrote ? "the results" : "the log and meta-state", res->episodes_done, o->out_dir, o->out_dir);
    else if (rc < 0 || res->stopped || !wrote)
        fprintf(stderr, "plastcc: the meta-state of episode %d could not be written; %s holds what was written before\n",
                res->episodes_done, o->out_dir);
    if (wrote && rc == 0) summary(o->out_dir, x, res);
    if (res->stopped) return 128 + stop_signal;
    return rc < 0 || !wrote;
}

/* The net, the data and the scales of the run; 0, or -1 with ERR. */
static int prepare(const compiled_unit *u, backend_module *m, const sema_experiment *x, const plast_train_opts *o,
                   bound_net *bn, plast_dataset *data, bound_scales *sc, char *err, size_t errlen)
{
    memset(data, 0, sizeof *data);
    if (bind_net(u, m, x, bn, err, errlen) < 0) return -1;
    return bind_load_data(x, o->seed, data, err, errlen) < 0 || bind_scales(x, bn, sc, err, errlen) < 0 ? -1 : 0;
}

static int train(const run_args *a, const compiled_unit *u, backend_module *m, const sema_experiment *x,
                 plast_train_opts *o)
{
    char err[512] = "";
    bound_net bn;
    plast_dataset data;
    bound_scales sc = { 0 };
    int rc = 1;
    /* every rank loads its own data: one that cannot stops them all, named */
    if (!comm_all_ok(prepare(u, m, x, o, &bn, &data, &sc, err, sizeof err) == 0, err)) goto done;
    if (x->joint) {   /* paper 001's joint scheme (run_joint.c), in one process */
        if (comm_size() > 1) {
            if (comm_rank() == 0) fprintf(stderr, "plastcc: experiment %s trains jointly (train joint), which runs in "
                                          "one process, not over MPI ranks\n", x->name);
            comm_agreed();
        } else {
            o->stop = &stop_signal;
            catch_signals(on_signal);
            rc = run_joint(u, &bn, x, a->file, o, &data);
            catch_signals(SIG_DFL);
            if (rc == RUN_JOINT_STOPPED) rc = 128 + stop_signal;
        }
        goto done;
    }
    o->scale = sc.scale;
    o->auto_scale = sc.is_auto;
    o->stop = &stop_signal;
    double *meta[PLAST_MAX_LAYERS] = { 0 }, *used[PLAST_MAX_LAYERS] = { 0 };
    for (int r = 0; r < bn.net.n_rules; r++) {
        meta[r] = calloc((size_t)bn.rules[r].n_meta + 1, sizeof(double));
        used[r] = calloc((size_t)bn.rules[r].n_meta + 1, sizeof(double));
    }
    plast_train_result res;
    memset(&res, 0, sizeof res);
    res.meta = meta;
    res.scale = used;
    catch_signals(on_signal);
    rc = plast_train(&bn.net, &data, o, &res);
    comm_agreed();   /* every rank returns from plast_train with the same result */
    rc = comm_rank() == 0 ? finish(a, u, &bn, x, o, &res, rc, meta, used) : rc < 0 || res.stopped;
    catch_signals(SIG_DFL);
    for (int r = 0; r < bn.net.n_rules; r++) { free(meta[r]); free(used[r]); }
done:
    bind_scales_free(&sc);
    plast_dataset_free(&data);
    bind_free(&bn);
    return rc;
}

/* Rank 0 takes the output folder (a resume: only for the same experiment);
 * the other ranks write nothing. */
static int take_output(run_args *a, const char *stored, const char *fp, int *lock)
{
    *lock = -1;
    if (comm_rank() != 0) return 1;
    *lock = take_folder(a);
    return *lock >= 0 && !(a->resume && same_experiment(a->resume, stored, fp) < 0);
}

/* Compiles the experiment; checks that every rank runs the same one; takes
 * the folder; loads the kernels; trains. */
static int run(run_args *a, const char *stored, const plast_comm *comm)
{
    int not_found;
    compiled_unit *u = pipeline_compile_experiment(a->file, a->exp, &not_found);
    if (!u) {
        if (not_found) fprintf(stderr, "plastcc: %s has no experiment '%s'\n", a->file, a->exp);
        else driver_report_errors();
    }
    if (!comm_all_ok(u != NULL, comm ? "the experiment could not be compiled (its messages are above)" : NULL)) {
        pipeline_free(u);
        return 1;
    }
    const sema_experiment *x = u->prog->experiments[sema_find_experiment(u->prog, a->exp)];
    int single = a->precision < 0 ? x->single : a->precision, rc = 1, lock = -1;
    plast_train_opts o;
    char cli[256], err[512] = "";
    fill_opts(u->prog, x, a, &o);
    o.comm = comm;
    if (comm_rank() != 0) o.out_dir = NULL, o.quiet = 1;
    cli_options(a, cli, sizeof cli);
    char *fp = fingerprint_experiment(u->prog, x, &o, single, cli);
    o.fingerprint = fp;
    backend_module *m = NULL;
    if (!comm_same_text(fp, "the experiment and its options")) {
        rc = 1;
    } else if (!comm_all_ok(take_output(a, stored, fp, &lock), comm ? "rank 0 cannot use the output folder" : NULL)) {
        rc = 1;
    } else if (single && (x->diag_alignment || x->diag_orthonormality)) {
        if (comm_rank() == 0) fprintf(stderr, "plastcc: the diagnostics of experiment %s run in double precision only\n", a->exp);
    } else if (m = bind_load(u, a->file, x, a->use_c, a->precision, err, sizeof err), !comm_all_ok(m != NULL, err)) {
        rc = 1;
    } else {
        rc = train(a, u, m, x, &o);
    }
    if (m) backend_close(m);
    if (lock >= 0) plast_outdir_unlock(lock);
    free(fp);
    pipeline_free(u);
    return rc;
}

/* --seeds: one independent run per seed, into BASE/seed-S (BASE: the --out
 * or --resume folder); rank r of N runs seeds r, r + N, ... alone, and the
 * job fails when a run of any rank did. */
static int run_seeds(const run_args *a)
{
    const char *base = a->resume ? a->resume : a->out;
    int me = comm_world_rank(), ranks = comm_world_size(), rc = 0;
    char failed[256] = "", why[512];
    comm_alone(1);
    for (int i = me; i < a->n_seeds; i += ranks) {
        run_args one = *a;
        char dir[4096], *stored = NULL;
        snprintf(dir, sizeof dir, "%s/seed-%lld", base, a->seeds[i]);
        one.n_seeds = 0;
        one.seed = a->seeds[i];
        one.exp = a->exp;
        one.quiet = a->quiet || me != 0;   /* the progress line is rank 0's */
        if (a->resume) one.resume = dir;
        else one.out = dir;
        int r = one.resume && resume_defaults(&one, &stored) < 0 ? 1 : run(&one, stored, NULL);
        free(stored);
        if (r && strlen(failed) < sizeof failed - 24)
            snprintf(failed + strlen(failed), sizeof failed - strlen(failed), "%s%lld", failed[0] ? ", " : "", a->seeds[i]);
        if (r) rc = r;
    }
    comm_alone(0);
    snprintf(why, sizeof why, "the run of seed %s failed (its messages are above)", failed);
    return comm_all_ok(rc == 0, rc ? why : NULL) ? 0 : 1;
}

int cmd_run(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    run_args a;
    char *stored = NULL, default_out[512];
    int rc = parse(argc, argv, &a);
    if (rc) return rc;
    const plast_comm *comm = comm_start(&argc, &argv);
    if (a.n_seeds && a.resume) return run_seeds(&a);   /* each seed's folder says its experiment */
    if (a.resume && resume_defaults(&a, &stored) < 0) return 1;
    if (!a.exp && (rc = driver_only_experiment(a.file, a.exp_buf, sizeof a.exp_buf)) != 0) { free(stored); return rc; }
    if (!a.exp) a.exp = a.exp_buf;
    snprintf(default_out, sizeof default_out, "%s.run", a.exp);
    if (!a.out) a.out = default_out;
    if (a.n_seeds) return run_seeds(&a);
    rc = run(&a, stored, comm);
    free(stored);
    return rc;
}
