/* cmd_gradcheck — every generated adjoint against central finite differences.
 *
 * For a forward kernel out = F(x) (x: weights, signals, meta-parameters; out:
 * dw for a rule, z and y for a dense layer, ...), take the scalar
 * L = sum_o sum(R_o * out_o) with random R_o.  The adjoint kernel seeded with
 * adj_<out> = R_o must give dL/dx; central differences
 * (eps 1e-6, double precision) give it independently.  A value passes when
 * |adjoint - numeric| <= 1e-5 + 1e-3 |numeric|.  Inputs are drawn away from
 * kinks: activities y in [0.1, 1], other signals and weights in [-1, 1],
 * meta-parameters in [-0.5, 0.5].  The reported error is relative for
 * derivatives above 1e-4 in magnitude and absolute below.
 *
 * kcap is piecewise constant: its finite differences are zero, while its
 * adjoint is the straight-through surrogate.  A forward kernel through kcap
 * is differenced in its surrogate form instead (surrogate.h), whose kernels
 * are compiled into a module of their own; the report line of such a kernel
 * says so.
 */
#include "config.h"
#include "backend.h"
#include "driver.h"
#include "rng.h"
#include "surrogate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: plastcc gradcheck FILE [--backend jit|c] [--seed N] [--verbose]\n"
    "\n"
    "Checks the adjoint kernel of every rule and model in FILE against central\n"
    "finite differences of its forward kernel, in double precision, at random points\n"
    "(n_pre=5, n_post=4, batch=3).  Reports the maximum relative error per\n"
    "input; exits 1 if any value fails |a-n| <= 1e-5 + 1e-3|n|.  A kernel through\n"
    "kcap(k) is compared with its straight-through surrogate (kcap(z) -> z + kcap(z0)\n"
    "- z0 at the point) instead, and its report line says so.\n"
    "\n"
    "  --backend jit      compile the kernels with the LLVM JIT (default)\n"
    "  --backend c        compile the emitted C with the system compiler\n"
    "  --seed N           seed of the random points (default 1)\n"
    "  --verbose          print every compared value\n";

enum { GC_PRE = 5, GC_POST = 4, GC_BATCH = 3 };

typedef struct gc_state {
    uint64_t rng;
    int verbose;
} gc_state;

static double uniform(gc_state *g, double lo, double hi)
{
    return lo + (hi - lo) * plast_lcg_uniform(&g->rng);
}

static int64_t elems(int space, int n_meta, int role)
{
    if (role == PLAST_ROLE_META || role == PLAST_ROLE_ADJ_META) return n_meta > 0 ? n_meta : 1;
    return (space & 4 ? GC_BATCH : 1) * (space & 2 ? GC_POST : 1) * (space & 1 ? GC_PRE : 1);
}

/* Arrays for a kernel's arguments, found by name in a shared pool so the
 * forward and adjoint kernels read the same inputs. */
enum { POOL_MAX = 512 };   /* a rule reading 15 neighbour-step signals has over 40 arrays */
typedef struct pool { char name[POOL_MAX][48]; double *data[POOL_MAX]; int64_t n[POOL_MAX]; int count; } pool;

/* The array NAME of N values; exits with a message when the pool is full
 * (a kernel would otherwise be handed a null argument). */
static double *pool_get(pool *p, const char *name, int64_t n)
{
    for (int i = 0; i < p->count; i++) if (!strcmp(p->name[i], name)) return p->data[i];
    if (p->count == POOL_MAX) {
        fprintf(stderr, "plastcc: gradcheck: more than %d distinct kernel arguments (at %s)\n", POOL_MAX, name);
        exit(1);
    }
    snprintf(p->name[p->count], sizeof p->name[0], "%s", name);
    p->data[p->count] = calloc((size_t)n, sizeof(double));
    p->n[p->count] = n;
    return p->data[p->count++];
}

static void pool_free(pool *p) { for (int i = 0; i < p->count; i++) free(p->data[i]); }

static void run_kernel(const plast_kdesc *k, pool *p)
{
    void *args[POOL_MAX];
    for (int a = 0; a < k->n_arg && a < POOL_MAX; a++)
        args[a] = pool_get(p, k->arg[a].name, elems(k->arg[a].space, k->n_meta, k->arg[a].role));
    plast_kargs ka = { GC_PRE, GC_POST, GC_BATCH, 1, args, NULL };
    int64_t bytes = k->scratch(&ka);
    ka.scratch = malloc((size_t)(bytes > 0 ? bytes : 8));
    k->run(&ka);
    free(ka.scratch);
}

/* The random weights of the objective: one array per forward output. */
typedef struct objective_spec { const plast_kdesc *fwd; const char *name[16]; const double *R[16]; int64_t n[16]; int count; } objective_spec;

/* L = sum over outputs o of sum(R_o * out_o) */
static double objective(const objective_spec *obj, pool *p)
{
    run_kernel(obj->fwd, p);
    double L = 0;
    for (int o = 0; o < obj->count; o++) {
        const double *v = pool_get(p, obj->name[o], obj->n[o]);
        for (int64_t k = 0; k < obj->n[o]; k++) L += obj->R[o][k] * v[k];
    }
    return L;
}

/* ---- kcap: the surrogate forms of the forward kernels ---- */

typedef struct gc_extra {
    surrogate *k;
    int n;
    backend_module *m;    /* the probe and surrogate kernels, compiled */
} gc_extra;

/* Builds and compiles the probe and surrogate kernels of every forward
 * kernel of LIST that computes a kcap.  0, or -1 with ERR set. */
static int kcap_compile(gc_extra *x, const lower_kernel **list, int n, backend_kind kind, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    x->k = calloc((size_t)n + 1, sizeof *x->k);
    for (int i = 0; i < n; i++) x->n += surrogate_build(list[i]->k, &x->k[x->n]);
    if (!x->n) return 0;
    const lower_kernel **all = malloc((size_t)(2 * x->n) * sizeof *all);
    for (int i = 0; i < x->n; i++) { all[2 * i] = &x->k[i].lprobe; all[2 * i + 1] = &x->k[i].lsur; }
    x->m = backend_load_kernels(kind, all, 2 * x->n, "gradcheck-kcap-surrogate", PREC_DOUBLE, err, errlen);
    free(all);
    return x->m ? 0 : -1;
}

static void kcap_free(gc_extra *x)
{
    for (int i = 0; i < x->n; i++) surrogate_free(&x->k[i]);
    free(x->k);
    backend_close(x->m);
}

static const surrogate *kcap_find(const gc_extra *x, const char *base)
{
    for (int i = 0; i < x->n; i++) if (!strcmp(x->k[i].base, base)) return &x->k[i];
    return NULL;
}

typedef struct gc_result { int values, failed; double max_rel; } gc_result;

/* Central differences for every element of input NAME, against ADJOINT,
 * but those FIXED marks (unless NULL): `fixed` parameters, constants
 * without an adjoint. */
static void check_input(gc_state *g, const objective_spec *obj, pool *p, const char *name,
                        double *x, int64_t n, const double *adjoint, const unsigned char *fixed, gc_result *res)
{
    const double eps = 1e-6;
    double max_rel = 0;
    int failed = 0;
    int64_t skipped = 0;
    for (int64_t k = 0; k < n; k++) {
        if (fixed && fixed[k]) { skipped++; continue; }
        double x0 = x[k];
        x[k] = x0 + eps;
        double lp = objective(obj, p);
        x[k] = x0 - eps;
        double lm = objective(obj, p);
        x[k] = x0;
        double num = (lp - lm) / (2 * eps), a = adjoint[k];
        double err = fabs(a - num);
        int ok = err <= 1e-5 + 1e-3 * fabs(num) && isfinite(a);
        /* relative above 1e-4, absolute below: differences of an O(1)
         * objective at eps 1e-6 carry ~1e-10 of rounding, which is a large
         * relative error on a tiny derivative */
        double rel = err / fmax(fmax(fabs(num), fabs(a)), 1e-4);
        if (rel > max_rel) max_rel = rel;
        if (!ok) failed++;
        if (g->verbose || !ok)
            printf("    %s[%lld]: adjoint %.12g, numeric %.12g%s\n", name, (long long)k, a, num, ok ? "" : "  FAIL");
    }
    printf("  %-14s %4lld values, max relative error %.2e%s", name, (long long)(n - skipped), max_rel, failed ? "  FAIL" : "");
    if (skipped) printf(" (%lld fixed: constants, no adjoint)", (long long)skipped);
    printf("\n");
    res->values += (int)(n - skipped);
    res->failed += failed;
    if (max_rel > res->max_rel) res->max_rel = max_rel;
}

static void fill_inputs(gc_state *g, const plast_kdesc *fwd, pool *p)
{
    for (int a = 0; a < fwd->n_arg; a++) {
        const plast_karg_desc *d = &fwd->arg[a];
        if (d->role != PLAST_ROLE_INPUT && d->role != PLAST_ROLE_META) continue;
        int64_t n = elems(d->space, fwd->n_meta, d->role);
        double *x = pool_get(p, d->name, n);
        size_t len = strlen(d->name);
        int positive = len > 2 && !strcmp(d->name + len - 2, "_y");
        for (int64_t k = 0; k < n; k++)
            x[k] = d->role == PLAST_ROLE_META ? uniform(g, -0.5, 0.5) : positive ? uniform(g, 0.1, 1) : uniform(g, -1, 1);
    }
}

/* The shifts s = kcap(z0) - z0 of kernel pair NAME's kcaps at the point in
 * P, from its probe; then whether the surrogate form SUR computes FWD's
 * outputs there (to rounding).  0, or the number of values that differ. */
static int kcap_prepare(const surrogate *kc, backend_module *xm, const plast_kdesc *fwd, const plast_kdesc *sur, pool *p)
{
    char sym[160];
    snprintf(sym, sizeof sym, "%s_gcprobe", kc->base);
    const plast_kdesc *probe = backend_find(xm, sym);
    if (!probe) { printf("%s: kernel not found in the module\n", sym); return 1; }
    run_kernel(probe, p);
    for (int k = 0; k < kc->n_kcap; k++) {
        char name[48];
        int64_t n = elems(kc->probe.out[2 * k].space, 0, PLAST_ROLE_INPUT);
        snprintf(name, sizeof name, "kcap_val%d", k);
        const double *val = pool_get(p, name, n);
        snprintf(name, sizeof name, "kcap_arg%d", k);
        const double *arg = pool_get(p, name, n);
        snprintf(name, sizeof name, "kcap_shift%d", k);
        double *shift = pool_get(p, name, n);
        for (int64_t e = 0; e < n; e++) shift[e] = val[e] - arg[e];
    }
    int bad = 0;
    run_kernel(fwd, p);
    for (int a = 0; a < fwd->n_arg; a++) {
        const plast_karg_desc *d = &fwd->arg[a];
        if (d->role != PLAST_ROLE_OUTPUT) continue;
        int64_t n = elems(d->space, fwd->n_meta, d->role);
        double *want = malloc((size_t)n * sizeof *want);
        memcpy(want, pool_get(p, d->name, n), (size_t)n * sizeof *want);
        run_kernel(sur, p);
        const double *got = pool_get(p, d->name, n);
        for (int64_t e = 0; e < n; e++) {
            if (fabs(got[e] - want[e]) <= 1e-12 * (1 + fabs(want[e]))) continue;
            printf("    %s[%lld]: forward %.17g, surrogate form %.17g  FAIL\n", d->name, (long long)e, want[e], got[e]);
            bad++;
        }
        free(want);
    }
    return bad;
}

static int has_arg(const plast_kdesc *k, const char *name)
{
    for (int a = 0; a < k->n_arg; a++) if (!strcmp(k->arg[a].name, name)) return 1;
    return 0;
}

/* Checks kernel pair NAME_fwd / NAME_adj (against the surrogate form when
 * X has one for it). */
static int check_pair(gc_state *g, backend_module *m, const gc_extra *x, const char *name,
                      const unsigned char *meta_fixed)
{
    char sym[160];
    snprintf(sym, sizeof sym, "%s_fwd", name);
    const plast_kdesc *fwd = backend_find(m, sym);
    snprintf(sym, sizeof sym, "%s_adj", name);
    const plast_kdesc *adj = backend_find(m, sym);
    if (!fwd || !adj) { printf("%s: kernels not found in the module\n", name); return 1; }
    const surrogate *kc = kcap_find(x, name);
    const plast_kdesc *sur = NULL;
    if (kc) {
        snprintf(sym, sizeof sym, "%s_gcsur", name);
        if (!(sur = backend_find(x->m, sym))) { printf("%s: kernel not found in the module\n", sym); return 1; }
    }
    printf("%s: adjoint vs central differences%s\n", name,
           kc ? " of the surrogate form (kcap(z) -> z + kcap(z0) - z0)" : "");
    pool p;
    memset(&p, 0, sizeof p);
    fill_inputs(g, fwd, &p);
    gc_result res = { 0, 0, 0 };
    if (kc) res.failed += kcap_prepare(kc, x->m, fwd, sur, &p);
    objective_spec obj;
    memset(&obj, 0, sizeof obj);
    obj.fwd = kc ? sur : fwd;
    for (int a = 0; a < fwd->n_arg && obj.count < 16; a++) {
        const plast_karg_desc *d = &fwd->arg[a];
        if (d->role != PLAST_ROLE_OUTPUT) continue;
        char seed[64];
        snprintf(seed, sizeof seed, "adj_%s", d->name);
        int64_t n = elems(d->space, fwd->n_meta, d->role);
        double *R = pool_get(&p, seed, n);
        for (int64_t k = 0; k < n; k++) R[k] = uniform(g, -1, 1);
        obj.name[obj.count] = d->name; obj.R[obj.count] = R; obj.n[obj.count] = n; obj.count++;
    }
    run_kernel(fwd, &p);   /* the forward's outputs, which an adjoint may read (kern_adj_reads_outputs) */
    run_kernel(adj, &p);   /* outputs accumulate into zeroed arrays */
    for (int a = 0; a < fwd->n_arg; a++) {
        const plast_karg_desc *d = &fwd->arg[a];
        if (d->role != PLAST_ROLE_INPUT && d->role != PLAST_ROLE_META) continue;
        int64_t n = elems(d->space, fwd->n_meta, d->role);
        char adj_name[64];
        if (d->role == PLAST_ROLE_META) snprintf(adj_name, sizeof adj_name, "adj_meta");
        else snprintf(adj_name, sizeof adj_name, "adj_%s", d->name);
        if (!has_arg(adj, adj_name)) {   /* data or fixed feedback: the compiler left its adjoint out */
            printf("  %-16s no adjoint (a constant of the model)\n", d->name);
            continue;
        }
        double *adjoint = pool_get(&p, adj_name, n);
        check_input(g, &obj, &p, d->name, pool_get(&p, d->name, n), n, adjoint,
                    d->role == PLAST_ROLE_META ? meta_fixed : NULL, &res);
    }
    printf("%s: %s (%d values, max relative error %.2e)%s\n", name, res.failed ? "FAILED" : "ok", res.values,
           res.max_rel, kc ? " (kcap: checked against the straight-through surrogate)" : "");
    pool_free(&p);
    return res.failed != 0;
}

int cmd_gradcheck(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    const char *file = NULL;
    gc_state g = { 1, 0 };
    backend_kind kind = BACKEND_JIT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            if (!strcmp(b, "jit")) kind = BACKEND_JIT;
            else if (!strcmp(b, "c")) kind = BACKEND_C;
            else return driver_usage_error(usage, "unknown backend '%s'", b);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) g.rng = strtoull(argv[++i], NULL, 10) * 2 + 1;
        else if (!strcmp(argv[i], "--verbose")) g.verbose = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return driver_usage_error(usage, "unknown option '%s'", argv[i]);
        else file = argv[i];
    }
    if (!file) return driver_usage_error(usage, "%s", "gradcheck needs a FILE");
    compiled_unit *u = pipeline_compile(file, 1);
    if (!u) { driver_report_errors(); return 1; }
    char err[512];
    const lower_kernel **list;
    int n = pipeline_kernels(u, &list), failed = 0;
    backend_module *m = backend_load_kernels(kind, list, n, file, PREC_DOUBLE, err, sizeof err);
    if (!m) { fprintf(stderr, "plastcc: %s\n", err); free(list); pipeline_free(u); return 1; }
    gc_extra x;
    if (kcap_compile(&x, list, n, kind, err, sizeof err) < 0) {
        fprintf(stderr, "plastcc: the kcap surrogate kernels: %s\n", err);
        kcap_free(&x);
        free(list);
        backend_close(m);
        pipeline_free(u);
        return 1;
    }
    for (int k = 0; k < n; k++) {
        const char *name = list[k]->k->name;
        size_t len = strlen(name);
        if (len < 4 || strcmp(name + len - 4, "_fwd")) continue;   /* each pair once, by its fwd */
        char base[128];
        snprintf(base, sizeof base, "%.*s", (int)(len - 4), name);
        failed += check_pair(&g, m, &x, base, list[k]->k->d->meta_fixed);
    }
    kcap_free(&x);
    free(list);
    backend_close(m);
    pipeline_free(u);
    return failed ? 1 : 0;
}
