/* cross_check — every back end computes the same kernels.
 *
 *   cross_check [--jit-only] [--no-threads] [--single] [--large] [--batch N] [--experiment NAME] FILE...
 *
 * For each FILE, its kernels (every rule's fwd and adj, every model kernel)
 * are loaded three ways: the LLVM JIT, the emitted C compiled by the system
 * compiler, and an LLVM object file linked into a shared object.  Every
 * kernel runs on the same random inputs (n_pre=61, n_post=23, batch=3, so
 * vector loops over j get a scalar remainder and thread chunks are uneven)
 * and every output must agree within 1e-12 relative.  Outputs that a kernel
 * overwrites start from a different sentinel per back end, so an element a
 * back end fails to write shows up; accumulated ones start from the same
 * random values.  Then JIT and C again with 2 and 4 OpenMP threads: every
 * output bit for bit equal to the 1-thread run.
 * --large runs them at n_pre=577, n_post=457, batch=2: a loop of 2^18
 * synapse-samples or more (2^12 when it calls a meta-MLP) is where the
 * kernels wake several threads (less runs on the caller alone, lower.h),
 * so the thread comparisons there cover every parallel loop, the chunked
 * ones and the JIT's fused passes with their stage matrices.
 * --batch N (after --large, if both) runs N samples: 1 takes the JIT's
 * versions of the loops for one sample (lower_loop.one_sample).
 * A kernel whose descriptor says seed_in_place (a rule's adjoint whose
 * adj_w may be the array adj_dw, as the episode runs it) runs a third way
 * on every back end, with 1 and 4 threads: adj_w starting as adj_dw's
 * values, once in an array of its own and once as adj_dw's array itself;
 * every output bit for bit the same.  Likewise a kernel whose descriptor
 * says next_in_place (a rule's step, fused or not, whose w_next may be the
 * array w): w_next in an array of its own, then in w's array.
 * --experiment NAME takes the kernels experiment NAME of each later FILE
 * runs (pipeline_compile_experiment), its rules' updates fused with the next
 * step's dense layers (RULE_step_M_denseL) among them.
 * --single compiles the kernels in single precision (float arrays; 1e-5
 * relative).  --jit-only loads only the JIT and runs each kernel once (the
 * leak test runs it under valgrind).  Exit 0 when everything agrees.
 */
#include "config.h"
#include "backend.h"
#include "ast.h"
#include "diag.h"
#include "rng.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STEPS = 2, MAX_ARGS = 128 };
static int64_t N_PRE = 61, N_POST = 23, BATCH = 3;   /* --large: 577, 457, 2 */
enum { B_JIT, B_C, B_OBJ, N_BACKENDS };
#define SENTINEL 1e30   /* times (back end + 1): an output that was never written */
static const char *const backend_names[N_BACKENDS] = { "jit", "c", "object" };

static uint64_t rng = 12345;
static int single;   /* --single: float arrays */

static size_t real_size(void) { return single ? sizeof(float) : sizeof(double); }
static double get(const void *a, int64_t i) { return single ? (double)((const float *)a)[i] : ((const double *)a)[i]; }
static void set(void *a, int64_t i, double v)
{
    if (single) ((float *)a)[i] = (float)v;
    else ((double *)a)[i] = v;
}

static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * plast_lcg_uniform(&rng);
}

static int64_t elems(const plast_kdesc *k, const plast_karg_desc *a)
{
    if (a->role == PLAST_ROLE_META || a->role == PLAST_ROLE_ADJ_META) return k->n_meta > 0 ? k->n_meta : 1;
    return (a->space & 4 ? BATCH : 1) * (a->space & 2 ? N_POST : 1) * (a->space & 1 ? N_PRE : 1);
}

/* The arguments of one kernel: inputs shared by every run, outputs per run. */
typedef struct argset {
    int n;
    int64_t len[MAX_ARGS];
    void *init[MAX_ARGS];     /* inputs and accumulated outputs: their values before a run */
} argset;

static void argset_make(argset *s, const plast_kdesc *k)
{
    memset(s, 0, sizeof *s);
    s->n = k->n_arg;
    for (int a = 0; a < k->n_arg; a++) {
        const plast_karg_desc *d = &k->arg[a];
        s->len[a] = elems(k, d);
        s->init[a] = malloc((size_t)s->len[a] * real_size());
        size_t nl = strlen(d->name);
        int positive = nl > 2 && !strcmp(d->name + nl - 2, "_y");
        for (int64_t i = 0; i < s->len[a]; i++)
            set(s->init[a], i, d->role == PLAST_ROLE_META ? uniform(-0.5, 0.5) : positive ? uniform(0.1, 1) : uniform(-1, 1));
    }
}

static void argset_free(argset *s) { for (int a = 0; a < s->n; a++) free(s->init[a]); }

/* Runs K on fresh copies of S's values; returns the arrays (caller frees).
 * With W >= 0, argument W is given argument DW's array, and gets its
 * values after the run. */
static void **run_aliased(const plast_kdesc *k, const argset *s, int backend, int w, int dw)
{
    void **arr = calloc((size_t)s->n, sizeof *arr);
    void *args[MAX_ARGS];
    for (int a = 0; a < s->n; a++) {
        arr[a] = malloc((size_t)s->len[a] * real_size());
        if (k->arg[a].role == PLAST_ROLE_OUTPUT)
            for (int64_t i = 0; i < s->len[a]; i++) set(arr[a], i, SENTINEL * (backend + 1));   /* must be overwritten */
        else
            memcpy(arr[a], s->init[a], (size_t)s->len[a] * real_size());
        args[a] = arr[a];
    }
    if (w >= 0) args[w] = arr[dw];
    plast_kargs ka = { N_PRE, N_POST, BATCH, STEPS, args, NULL };
    int64_t bytes = k->scratch(&ka);
    ka.scratch = malloc((size_t)(bytes > 0 ? bytes : 8));
    k->run(&ka);
    free(ka.scratch);
    if (w >= 0) memcpy(arr[w], arr[dw], (size_t)s->len[w] * real_size());
    return arr;
}

static void **run(const plast_kdesc *k, const argset *s, int backend) { return run_aliased(k, s, backend, -1, -1); }

static void free_run(void **arr, int n) { for (int a = 0; a < n; a++) free(arr[a]); free(arr); }

static double rel_diff(double a, double b)
{
    if (a == b || (isnan(a) && isnan(b))) return 0;
    if (!isfinite(a) || !isfinite(b)) return INFINITY;
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), 1e-300);
}

/* The descriptors must describe the same ABI. */
static int same_descriptor(const plast_kdesc *a, const plast_kdesc *b)
{
    if (strcmp(a->name, b->name) || a->n_arg != b->n_arg || a->n_meta != b->n_meta || a->seed_in_place != b->seed_in_place ||
        a->next_in_place != b->next_in_place)
        return 0;
    for (int q = 0; q < a->n_arg; q++)
        if (strcmp(a->arg[q].name, b->arg[q].name) || a->arg[q].space != b->arg[q].space ||
            a->arg[q].role != b->arg[q].role)
            return 0;
    return 1;
}

typedef struct stats { int kernels, failed, in_place; long values, bitwise; double max_rel; } stats;

/* Outputs of run R against reference REF: within 1e-12, counting exact matches. */
static int compare(const plast_kdesc *k, const argset *s, void **ref, void **r, const char *what, stats *st)
{
    int bad = 0;
    double tol = single ? 1e-5 : 1e-12;
    for (int a = 0; a < s->n; a++) {
        int role = k->arg[a].role;
        if (role == PLAST_ROLE_INPUT || role == PLAST_ROLE_META) continue;
        for (int64_t i = 0; i < s->len[a]; i++) {
            double x = get(ref[a], i), y = get(r[a], i), d = rel_diff(x, y);
            st->values++;
            if (memcmp((const char *)ref[a] + i * real_size(), (const char *)r[a] + i * real_size(), real_size()) == 0)
                st->bitwise++;
            if (d > st->max_rel) st->max_rel = d;
            if (d > tol && bad++ < 3)
                printf("    %s: %s[%lld] = %.17g, reference %.17g\n", what, k->arg[a].name, (long long)i, y, x);
        }
    }
    return bad;
}

/* The same backend with 2 and 4 threads: bit for bit the 1-thread result. */
static int compare_threads(const plast_kdesc *k, const argset *s, void **one, int backend)
{
    int bad = 0;
    for (int t = 2; t <= 4; t += 2) {
        omp_set_num_threads(t);
        void **r = run(k, s, backend);
        for (int a = 0; a < s->n; a++) {
            if (k->arg[a].role == PLAST_ROLE_INPUT || k->arg[a].role == PLAST_ROLE_META) continue;
            if (memcmp(one[a], r[a], (size_t)s->len[a] * real_size())) {
                printf("    %s with %d threads: %s differs from 1 thread\n", backend_names[backend], t, k->arg[a].name);
                bad++;
            }
        }
        free_run(r, s->n);
    }
    omp_set_num_threads(1);
    return bad;
}

static int arg_index(const plast_kdesc *k, const char *name)
{
    for (int a = 0; a < k->n_arg; a++) if (!strcmp(k->arg[a].name, name)) return a;
    return -1;
}

/* K with output OUT starting as input IN's values (seed_in_place: adj_w
 * and adj_dw; next_in_place: w_next and w): in an array of its own, then
 * in IN's array itself; every output bit for bit. */
static int check_in_place(const plast_kdesc *k, const argset *s, int backend, int threads, const char *out,
                          const char *in)
{
    int dw = arg_index(k, in), w = arg_index(k, out), bad = 0;
    if (dw < 0 || w < 0 || s->len[dw] != s->len[w]) {
        printf("    %s: in place, but no %s and %s alike\n", k->name, in, out);
        return 1;
    }
    argset t = *s;
    t.init[w] = s->init[dw];
    omp_set_num_threads(threads);
    void **apart = run(k, &t, backend), **same = run_aliased(k, &t, backend, w, dw);
    for (int a = 0; a < t.n; a++) {
        if (k->arg[a].role == PLAST_ROLE_INPUT || k->arg[a].role == PLAST_ROLE_META) continue;
        if (memcmp(apart[a], same[a], (size_t)s->len[a] * real_size())) {
            printf("    %s, %d thread%s: %s differs with %s in %s's array\n", backend_names[backend], threads,
                   threads == 1 ? "" : "s", k->arg[a].name, out, in);
            bad++;
        }
    }
    free_run(apart, t.n);
    free_run(same, t.n);
    omp_set_num_threads(1);
    return bad;
}

static int check_kernel(backend_module **m, int n_mod, const char *name, int threads, stats *st)
{
    const plast_kdesc *k[N_BACKENDS];
    for (int b = 0; b < n_mod; b++) {
        k[b] = backend_find(m[b], name);
        if (!k[b]) { printf("  %s: not found in the %s module\n", name, backend_names[b]); return 1; }
        if (b && !same_descriptor(k[0], k[b])) { printf("  %s: descriptors differ (%s)\n", name, backend_names[b]); return 1; }
    }
    if (k[0]->n_arg > MAX_ARGS) { printf("  %s: too many arguments\n", name); return 1; }
    argset s;
    argset_make(&s, k[0]);
    omp_set_num_threads(1);
    void **r[N_BACKENDS];
    int bad = 0;
    for (int b = 0; b < n_mod; b++) r[b] = run(k[b], &s, b);
    if (n_mod > 1) {   /* against the emitted C */
        bad += compare(k[0], &s, r[B_C], r[B_JIT], backend_names[B_JIT], st);
        bad += compare(k[0], &s, r[B_C], r[B_OBJ], backend_names[B_OBJ], st);
    }
    if (n_mod == 1) {
        for (int a = 0; a < s.n; a++) {   /* an output left at its sentinel was never written */
            if (k[0]->arg[a].role != PLAST_ROLE_OUTPUT) continue;
            for (int64_t i = 0; i < s.len[a]; i++)
                if (get(r[0][a], i) == SENTINEL) { printf("    %s[%lld] not written\n", k[0]->arg[a].name, (long long)i); bad++; break; }
        }
    }
    for (int b = 0; threads && b < n_mod && b <= B_C; b++) bad += compare_threads(k[b], &s, r[b], b);
    for (int b = 0; k[0]->seed_in_place && b < n_mod; b++) {
        bad += check_in_place(k[b], &s, b, 1, "adj_w", "adj_dw");
        if (threads) bad += check_in_place(k[b], &s, b, 4, "adj_w", "adj_dw");
        st->in_place += b == 0;
    }
    for (int b = 0; k[0]->next_in_place && b < n_mod; b++) {
        bad += check_in_place(k[b], &s, b, 1, "w_next", "w");
        if (threads) bad += check_in_place(k[b], &s, b, 4, "w_next", "w");
        st->in_place += b == 0;
    }
    for (int b = 0; b < n_mod; b++) free_run(r[b], s.n);
    argset_free(&s);
    st->kernels++;
    if (bad) { st->failed++; printf("  %s: FAILED\n", name); }
    return bad != 0;
}

/* EXPERIMENT: the kernels that experiment runs (its update calls' kernels
 * fused with the next step's dense layers among them), else every rule's
 * and model's. */
static int check_file(const char *file, const char *experiment, int jit_only, int threads)
{
    int not_found = 0;
    compiled_unit *u = experiment ? pipeline_compile_experiment(file, experiment, &not_found) : pipeline_compile(file, 1);
    if (!u) { printf("%s: does not compile%s%s\n", file, not_found ? ", or has no experiment " : "", not_found ? experiment : ""); return 1; }
    backend_module *m[N_BACKENDS] = { NULL, NULL, NULL };
    int n_mod = jit_only ? 1 : N_BACKENDS, failed = 0;
    char err[1024];
    backend_module *(*load[N_BACKENDS])(const compiled_unit *, const char *, lower_precision, char *, size_t) = {
        backend_load_jit, backend_load_c, backend_load_object };
    for (int b = 0; b < n_mod; b++) {
        if (!(m[b] = load[b](u, file, single ? PREC_SINGLE : PREC_DOUBLE, err, sizeof err))) {
            printf("%s: the %s back end failed: %s\n", file, backend_names[b], err);
            failed = 1;
        }
    }
    stats st = { 0, 0, 0, 0, 0, 0 };
    const lower_kernel **ks;
    int n = pipeline_kernels(u, &ks);
    for (int i = 0; i < n && !failed; i++) check_kernel(m, n_mod, ks[i]->k->name, threads, &st);
    free(ks);
    if (!failed && jit_only)
        printf("%s: %d kernel%s run by the JIT%s\n", file, st.kernels, st.kernels == 1 ? "" : "s",
               st.failed ? "  FAILED" : "");
    else if (!failed)
        printf("%s: %d kernel%s, %ld values, %ld bitwise equal, max relative difference %.2e; %d in place, checked%s\n",
               file, st.kernels, st.kernels == 1 ? "" : "s", st.values, st.bitwise, st.max_rel, st.in_place,
               st.failed ? "  FAILED" : "");
    for (int b = 0; b < n_mod; b++) backend_close(m[b]);
    pipeline_free(u);
    return failed || st.failed;
}

int main(int argc, char **argv)
{
    int jit_only = 0, threads = 1, failed = 0;
    const char *experiment = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--jit-only")) jit_only = 1;
        else if (!strcmp(argv[i], "--no-threads")) threads = 0;
        else if (!strcmp(argv[i], "--single")) single = 1;
        else if (!strcmp(argv[i], "--large")) N_PRE = 577, N_POST = 457, BATCH = 2;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) BATCH = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--experiment") && i + 1 < argc) experiment = argv[++i];
        else failed |= check_file(argv[i], experiment, jit_only, threads && !jit_only);
        diag_reset();
    }
    ast_arena_free();
    return failed;
}
