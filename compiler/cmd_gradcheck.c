/* cmd_gradcheck — every generated adjoint against central finite differences.
 *
 * For a rule with forward kernel dw = F(x) (x: the weight, the signals, the
 * meta-parameters), take the scalar L = sum(R * dw) with a random R.  The
 * adjoint kernel seeded with adj_dw = R must give dL/dx; central differences
 * (eps 1e-6, double precision) give it independently.  A value passes when
 * |adjoint - numeric| <= 1e-5 + 1e-3 |numeric|.  Inputs are drawn away from
 * kinks: activities y in [0.1, 1], other signals and weights in [-1, 1],
 * meta-parameters in [-0.5, 0.5].
 */
#include "config.h"
#include "backend.h"
#include "driver.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: plastcc gradcheck FILE [--backend c] [--seed N] [--verbose]\n"
    "\n"
    "Checks the adjoint kernel of every rule in FILE against central finite\n"
    "differences of its forward kernel, in double precision, at random points\n"
    "(n_pre=5, n_post=4, batch=3).  Reports the maximum relative error per\n"
    "input; exits 1 if any value fails |a-n| <= 1e-5 + 1e-3|n|.\n"
    "\n"
    "  --backend c        compile the emitted C with the system compiler (default)\n"
    "  --seed N           seed of the random points (default 1)\n"
    "  --verbose          print every compared value\n";

enum { GC_PRE = 5, GC_POST = 4, GC_BATCH = 3 };

typedef struct gc_state {
    uint64_t rng;
    int verbose;
} gc_state;

static double uniform(gc_state *g, double lo, double hi)
{
    g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(g->rng >> 11) / 9007199254740992.0;
}

static int64_t elems(int space, int n_meta, int role)
{
    if (role == PLAST_ROLE_META || role == PLAST_ROLE_ADJ_META) return n_meta > 0 ? n_meta : 1;
    return (space & 4 ? GC_BATCH : 1) * (space & 2 ? GC_POST : 1) * (space & 1 ? GC_PRE : 1);
}

/* Arrays for a kernel's arguments, found by name in a shared pool so the
 * forward and adjoint kernels read the same inputs. */
typedef struct pool { char name[32][48]; double *data[32]; int64_t n[32]; int count; } pool;

static double *pool_get(pool *p, const char *name, int64_t n)
{
    for (int i = 0; i < p->count; i++) if (!strcmp(p->name[i], name)) return p->data[i];
    if (p->count == 32) return NULL;
    snprintf(p->name[p->count], sizeof p->name[0], "%s", name);
    p->data[p->count] = calloc((size_t)n, sizeof(double));
    p->n[p->count] = n;
    return p->data[p->count++];
}

static void pool_free(pool *p) { for (int i = 0; i < p->count; i++) free(p->data[i]); }

static void run_kernel(const plast_kdesc *k, pool *p)
{
    void *args[128];
    for (int a = 0; a < k->n_arg && a < 128; a++)
        args[a] = pool_get(p, k->arg[a].name, elems(k->arg[a].space, k->n_meta, k->arg[a].role));
    plast_kargs ka = { GC_PRE, GC_POST, GC_BATCH, 1, args, NULL };
    int64_t bytes = k->scratch(&ka);
    ka.scratch = malloc((size_t)(bytes > 0 ? bytes : 8));
    k->run(&ka);
    free(ka.scratch);
}

/* L = sum(R * dw) */
static double objective(const plast_kdesc *fwd, pool *p, const double *R)
{
    run_kernel(fwd, p);
    const double *dw = pool_get(p, "dw", GC_PRE * GC_POST);
    double L = 0;
    for (int k = 0; k < GC_PRE * GC_POST; k++) L += R[k] * dw[k];
    return L;
}

typedef struct gc_result { int values, failed; double max_rel; } gc_result;

/* Central differences for every element of input NAME, against ADJOINT. */
static void check_input(gc_state *g, const plast_kdesc *fwd, pool *p, const double *R, const char *name,
                        double *x, int64_t n, const double *adjoint, gc_result *res)
{
    const double eps = 1e-6;
    double max_rel = 0;
    int failed = 0;
    for (int64_t k = 0; k < n; k++) {
        double x0 = x[k];
        x[k] = x0 + eps;
        double lp = objective(fwd, p, R);
        x[k] = x0 - eps;
        double lm = objective(fwd, p, R);
        x[k] = x0;
        double num = (lp - lm) / (2 * eps), a = adjoint[k];
        double err = fabs(a - num);
        int ok = err <= 1e-5 + 1e-3 * fabs(num) && isfinite(a);
        double rel = err / fmax(fmax(fabs(num), fabs(a)), 1e-300);
        if (fmax(fabs(num), fabs(a)) > 1e-9 && rel > max_rel) max_rel = rel;
        if (!ok) failed++;
        if (g->verbose || !ok)
            printf("    %s[%lld]: adjoint %.12g, numeric %.12g%s\n", name, (long long)k, a, num, ok ? "" : "  FAIL");
    }
    printf("  %-14s %4lld values, max relative error %.2e%s\n", name, (long long)n, max_rel, failed ? "  FAIL" : "");
    res->values += (int)n;
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

static int check_rule(gc_state *g, backend_module *m, const compiled_rule *cr)
{
    char name[160];
    snprintf(name, sizeof name, "%s_fwd", cr->rule->name);
    const plast_kdesc *fwd = backend_find(m, name);
    snprintf(name, sizeof name, "%s_adj", cr->rule->name);
    const plast_kdesc *adj = backend_find(m, name);
    if (!fwd || !adj) { printf("rule %s: kernels not found in the module\n", cr->rule->name); return 1; }
    printf("rule %s: adjoint vs central differences\n", cr->rule->name);
    pool p;
    memset(&p, 0, sizeof p);
    fill_inputs(g, fwd, &p);
    double *R = pool_get(&p, "adj_dw", GC_PRE * GC_POST);
    for (int k = 0; k < GC_PRE * GC_POST; k++) R[k] = uniform(g, -1, 1);
    run_kernel(adj, &p);   /* outputs accumulate into zeroed arrays */
    gc_result res = { 0, 0, 0 };
    for (int a = 0; a < fwd->n_arg; a++) {
        const plast_karg_desc *d = &fwd->arg[a];
        if (d->role != PLAST_ROLE_INPUT && d->role != PLAST_ROLE_META) continue;
        int64_t n = elems(d->space, fwd->n_meta, d->role);
        char adj_name[64];
        snprintf(adj_name, sizeof adj_name, "%s", d->role == PLAST_ROLE_META ? "adj_meta" : "adj_");
        if (d->role != PLAST_ROLE_META) strncat(adj_name, d->name, sizeof adj_name - strlen(adj_name) - 1);
        double *adjoint = pool_get(&p, adj_name, n);
        check_input(g, fwd, &p, R, d->name, pool_get(&p, d->name, n), n, adjoint, &res);
    }
    printf("rule %s: %s (%d values, max relative error %.2e)\n", cr->rule->name,
           res.failed ? "FAILED" : "ok", res.values, res.max_rel);
    pool_free(&p);
    return res.failed != 0;
}

int cmd_gradcheck(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    const char *file = NULL;
    gc_state g = { 1, 0 };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            if (strcmp(argv[++i], "c")) return driver_usage_error(usage, "unknown backend '%s'", argv[i]);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) g.rng = strtoull(argv[++i], NULL, 10) * 2 + 1;
        else if (!strcmp(argv[i], "--verbose")) g.verbose = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return driver_usage_error(usage, "unknown option '%s'", argv[i]);
        else file = argv[i];
    }
    if (!file) return driver_usage_error(usage, "%s", "gradcheck needs a FILE");
    compiled_unit *u = pipeline_compile(file, 1);
    if (!u) { driver_report_errors(); return 1; }
    char err[512];
    backend_module *m = backend_load_c(u, file, PREC_DOUBLE, err, sizeof err);
    if (!m) { fprintf(stderr, "plastcc: %s\n", err); pipeline_free(u); return 1; }
    int failed = 0;
    for (int r = 0; r < u->n_rules; r++) failed += check_rule(&g, m, &u->rules[r]);
    backend_close(m);
    pipeline_free(u);
    return failed ? 1 : 0;
}
