/* driver — the plastcc command: one binary, one subcommand per job.
 *
 * The pipeline reads top to bottom in each subcommand: load (parse + check),
 * then the later passes; --dump=STAGE prints a stage and stops there.
 */
#include "config.h"
#include "comm.h"
#include "driver.h"
#include "outdir.h"
#include "sema.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_main[] =
    "usage: plastcc COMMAND [OPTIONS] FILE...\n"
    "\n"
    "plastcc compiles synaptic plasticity rules (.rule files) into forward and\n"
    "adjoint kernels and meta-trains their parameters.\n"
    "\n"
    "commands:\n"
    "  check FILE...        parse and check rule files; exit 0 when all are valid\n"
    "  emit-c FILE          the rules' forward and adjoint kernels as C99 + OpenMP\n"
    "  emit-llvm FILE       the same kernels as LLVM IR for the host\n"
    "  compile FILE -o OUT  the same kernels as a native object (-shared: a .so)\n"
    "  gradcheck FILE       check every adjoint kernel against finite differences\n"
    "  run FILE             meta-train an experiment: log, learned rule, plots\n"
    "  eval FILE            evaluate an experiment's rules over new tasks: scores, learning curves\n"
    "  episode FILE         one episode from a saved state: meta-loss and meta-gradient\n"
    "  latents FILE         a trained network's representation: linear probe, earth mover's distance\n"
    "  analyze FILE...      a learned rule on a grid of its inputs: slices, a polynomial fit\n"
    "  curves NAME:DIR...   training runs compared: median and range (or mean, sd) of their curves\n"
    "\n"
    "options:\n"
    "  -h, --help           this help; 'plastcc COMMAND --help' for a command's\n"
    "  -V, --version        version and the LLVM plastcc was built against\n"
    "\n"
    "See plastcc(1) and docs/ for the language and the commands.\n";

static const char usage_check[] =
    "usage: plastcc check [--dump=ast] FILE...\n"
    "\n"
    "Parses FILE and its imports, resolves names, checks signals, index spaces,\n"
    "shapes and experiments, and reports every error as file:line:col with the\n"
    "source line.  Exit status 0 when every file is valid, 1 otherwise.\n"
    "\n"
    "  --dump=ast           print the parsed syntax tree (fully parenthesised)\n"
    "  --quiet              print nothing but errors\n";

int driver_wants_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 1;
        }
    }
    return 0;
}

int driver_usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "plastcc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return 2;
}

int driver_parse_int(const char *usage, const char *option, const char *value, long long lo, long long hi,
                     long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (end == value || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "plastcc: %s wants an integer from %lld to %lld, not '%s'\n%s", option, lo, hi, value, usage);
        return 2;
    }
    *out = v;
    return 0;
}

void driver_report_errors(void)
{
    int n = diag_error_count();
    if (n) fprintf(stderr, "%d error%s\n", n, n == 1 ? "" : "s");
}

static void summarize(const char *path, const sema_program *p)
{
    printf("%s: ok (%d model%s, %d mlp%s, %d rule%s, %d experiment%s)\n", path,
           p->n_models, p->n_models == 1 ? "" : "s", p->n_mlps, p->n_mlps == 1 ? "" : "s",
           p->n_rules, p->n_rules == 1 ? "" : "s", p->n_experiments, p->n_experiments == 1 ? "" : "s");
    for (int i = 0; i < p->n_rules; i++) {
        const sema_rule *r = p->rules[i];
        const ast_expr *dw = r->dw_of[DW_FORWARD];
        printf("  rule %-14s %3d meta-parameter%s, dw %s", r->name, r->n_meta, r->n_meta == 1 ? " " : "s",
               dw ? space_name(dw->space) : "-");
        for (int k = DW_TOPDOWN; k < DW_KINDS; k++)   /* the other kinds only when defined: 003's output unchanged */
            if (r->dw_of[k]) printf(", dw %s %s", sema_dw_kind_names[k], space_name(r->dw_of[k]->space));
        putchar('\n');
    }
}

static int cmd_check(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage_check)) return 0;
    int dump_ast = 0, quiet = 0, n_files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dump=ast")) dump_ast = 1;
        else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) quiet = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return driver_usage_error(usage_check, "unknown option '%s'", argv[i]);
        else n_files++;
    }
    if (!n_files) return driver_usage_error(usage_check, "%s", "check needs at least one FILE");
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) continue;
        int before = diag_error_count();
        sema_program *p = sema_load(argv[i]);
        int ok = diag_error_count() == before;
        if (dump_ast) {
            for (int u = 0; u < p->n_units; u++) ast_dump_unit(stdout, p->units[u]);
        } else if (ok && !quiet) {
            summarize(argv[i], p);
        }
        if (!ok) failed = 1;
        sema_program_free(p);
    }
    if (failed) driver_report_errors();
    return failed;
}

int driver_only_experiment(const char *file, char *buf, size_t len)
{
    int before = diag_error_count();
    sema_program *p = sema_load(file);
    int rc = 0;
    if (diag_error_count() != before) {
        driver_report_errors();
        rc = 1;
    } else if (p->n_experiments != 1) {
        fprintf(stderr, "plastcc: %s has %d experiments; choose one with --experiment\n", file, p->n_experiments);
        for (int i = 0; i < p->n_experiments; i++) fprintf(stderr, "  %s\n", p->experiments[i]->name);
        rc = 2;
    } else {
        snprintf(buf, len, "%s", p->experiments[0]->name);
    }
    sema_program_free(p);
    return rc;
}

/* A .csv output with a row: one with its header only (a run that stopped
 * before its first row) is no result. */
static int has_rows(const char *path)
{
    size_t n = strlen(path);
    if (n < 4 || strcmp(path + n - 4, ".csv")) return 1;
    FILE *f = plast_fopen_regular(path);
    int c, lines = 0;
    while (f && lines < 2 && (c = getc(f)) != EOF) lines += c == '\n';
    if (f) fclose(f);
    return lines >= 2 || !f;
}

/* A fresh start in DIR (see driver_take_folder). */
static int fresh_folder(const char *dir, const char *const *outputs, size_t n_outputs, size_t n_results, int force,
                        const char *what, const char *suggest)
{
    char path[4096], found[256] = "";
    for (size_t i = 0; i < n_outputs; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, outputs[i]);
        if (access(path, F_OK) != 0 || (!force && !has_rows(path))) continue;
        if (force && remove(path) != 0) {
            fprintf(stderr, "plastcc: --force: cannot remove %s: %s\n", path, strerror(errno));
            return -1;
        }
        if (i < n_results) snprintf(found + strlen(found), sizeof found - strlen(found), "%s%s", found[0] ? ", " : "", outputs[i]);
    }
    if (!found[0] || force) return 0;
    fprintf(stderr, "plastcc: %s holds the results of an earlier %s (%s); %sreplace them with --force\n", dir, what,
            found, suggest);
    return -1;
}

/* The NAME.tmp a killed run left beside its outputs (the outputs themselves
 * are whole: the old version or the new). */
static void remove_temporaries(const char *dir, const char *const *outputs, size_t n_outputs)
{
    char path[4096];
    for (size_t i = 0; i < n_outputs; i++) {
        snprintf(path, sizeof path, "%s/%s.tmp", dir, outputs[i]);
        remove(path);
    }
}

int driver_take_folder(const char *dir, const char *holder, const char *const *outputs, size_t n_outputs,
                       size_t n_results, int force, const char *what, const char *suggest)
{
    char err[1024];
    int lock = plast_outdir_lock(dir, holder, err, sizeof err);
    if (lock < 0) fprintf(stderr, "plastcc: %s\n", err);
    else if (force >= 0 && fresh_folder(dir, outputs, n_outputs, n_results, force, what, suggest) < 0) {
        plast_outdir_unlock(lock);
        lock = -1;
    } else {
        remove_temporaries(dir, outputs, n_outputs);
    }
    return lock;
}

static const struct { const char *name; int (*run)(int, char **); } commands[] = {
    { "check", cmd_check },
    { "emit-c", cmd_emit_c },
    { "emit-llvm", cmd_emit_llvm },
    { "compile", cmd_compile },
    { "gradcheck", cmd_gradcheck },
    { "episode", cmd_episode },
    { "run", cmd_run },
    { "eval", cmd_eval },
    { "latents", cmd_latents },
    { "analyze", cmd_analyze },
    { "curves", cmd_curves },
};

int main(int argc, char **argv)
{
    if (argc < 2) { fputs(usage_main, stderr); return 2; }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) { fputs(usage_main, stdout); return 0; }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        const char *mpi = comm_library();
        printf("plastcc %s (LLVM %s%s%s)\n", PACKAGE_VERSION, PLAST_LLVM_VERSION, mpi ? ", " : ", without MPI",
               mpi ? mpi : "");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(commands[i].name, cmd)) {
            int rc = commands[i].run(argc - 1, argv + 1);
            comm_finish(rc);   /* a rank that failed stops the job (MPI) */
            diag_reset();
            ast_arena_free();
            return rc;
        }
    fprintf(stderr, "plastcc: unknown command '%s'\n%s", cmd, usage_main);
    return 2;
}
