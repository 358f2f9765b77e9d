/* jit_latency — the LLVM JIT's latency and its kernels' speed against gcc.
 *
 *   bench/jit_latency [--repeat N] [--only pool|hat|gu|mlp4] [--latency] [RULES_DIR]
 *
 * Latency: from the .rule file to a callable kernel — parse, check, build the
 * DAG, differentiate, lower, generate the IR, optimise it (llgen_optimize),
 * compile it to machine code and look the kernels up — best of N runs
 * (default 5), for the pool rule, HAT, rules/gu.rule (Gu et al.'s rule and
 * two small ones) and bench/mlp4.rule (a 4-16-8-1 meta-MLP rule; found at
 * RULES_DIR/../bench), with its split (front end, IR,
 * optimisation, code generation; the last is the rest of the total), with
 * the JIT cache off; then the same from a warm JIT cache (compiler/jit_cache.h:
 * the objects of an earlier run, in a directory of its own).
 *
 * Speed: the same kernels from the JIT and from the emitted C compiled with
 * `gcc -O3 -march=native -fopenmp` ($BENCH_CC overrides the compiler and its
 * flags), on the same inputs: pool with n_pre=784, n_post=170, batch 1; HAT
 * with n_pre=784, n_post=183, batch 50; gu with n_pre = n_post = 32, batch 20;
 * mlp4 as pool.
 * A kernel's time is the median of
 * many calls; the ratio is gcc's time over the JIT's (above 1: the JIT is
 * faster).  Measured with one thread and with all of OpenMP's threads.
 */
#include "config.h"
#include "ast.h"
#include "backend.h"
#include "diag.h"
#include "llgen.h"

#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench_time.h"
#include <unistd.h>

typedef struct bench_case {
    const char *name, *file;
    int64_t n_pre, n_post, batch;
} bench_case;


/* ---- latency ---- */

typedef struct latency { double total, cpu, front, ir, opt; } latency;

/* One run of each stage; TOTAL is the JIT path as plastcc runs it. */
static int measure_latency(const char *file, latency *l)
{
    char err[1024];
    double c0 = cpu_now(), t0 = now();
    compiled_unit *u = pipeline_compile(file, 1);
    if (!u) { fprintf(stderr, "%s does not compile\n", file); return -1; }
    double t1 = now();
    backend_module *m = backend_load_jit(u, file, PREC_DOUBLE, err, sizeof err);
    double t2 = now(), c2 = cpu_now();
    if (!m) { fprintf(stderr, "jit: %s\n", err); pipeline_free(u); return -1; }
    backend_close(m);
    l->front = t1 - t0;
    l->total = t2 - t0;
    l->cpu = c2 - c0;
    /* the split of the middle part, measured separately */
    const lower_kernel **ks;
    int n = pipeline_kernels(u, &ks);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMTargetMachineRef tm = llgen_host_machine(LLGEN_FOR_JIT, err, sizeof err);
    double t3 = now();
    LLVMModuleRef mod = llgen_build(ctx, tm, ks, n, PREC_DOUBLE, file, err, sizeof err);
    double t4 = now();
    if (mod) llgen_optimize(mod, tm, err, sizeof err);
    double t5 = now();
    l->ir = t4 - t3;
    l->opt = t5 - t4;
    if (mod) LLVMDisposeModule(mod);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(ctx);
    free(ks);
    pipeline_free(u);
    diag_reset();
    return 0;
}

/* Cold: the JIT cache off (every part compiled).  Warm: from a cache
 * directory of its own under TMPDIR, filled by a first run. */
static void report_latency(const bench_case *c, int repeat, const char *tmpdir)
{
    latency best = { 1e9, 0, 0, 0, 0 }, warm = { 1e9, 0, 0, 0, 0 };
    setenv("PLASTCC_CACHE", "0", 1);
    for (int r = 0; r < repeat; r++) {
        latency l;
        if (measure_latency(c->file, &l)) return;
        if (l.total < best.total) best = l;
    }
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache-%s", tmpdir, c->name);
    setenv("PLASTCC_CACHE_DIR", cache, 1);
    unsetenv("PLASTCC_CACHE");
    for (int r = 0; r <= repeat; r++) {   /* the first fills the cache */
        latency l;
        if (measure_latency(c->file, &l)) return;
        if (r > 0 && l.total < warm.total) warm = l;
    }
    printf("  %-5s %7.1f ms (CPU %.1f ms): front end %.1f, IR %.1f, IR passes %.1f, code generation and lookup %.1f;"
           " from the JIT cache %.1f ms (CPU %.1f ms)\n",
           c->name, 1e3 * best.total, 1e3 * best.cpu, 1e3 * best.front, 1e3 * best.ir, 1e3 * best.opt,
           1e3 * (best.total - best.front - best.ir - best.opt), 1e3 * warm.total, 1e3 * warm.cpu);
}

/* ---- speed ---- */

/* The emitted C of U compiled by gcc -O3 -march=native into DIR/k.so. */
static void *load_gcc(const compiled_unit *u, const char *file, const char *dir)
{
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/k.c", dir);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    pipeline_emit_c(f, u, file, PREC_DOUBLE);
    fclose(f);
    const char *cc = getenv("BENCH_CC");
    snprintf(cmd, sizeof cmd, "%s -fPIC -shared -o '%s/k.so' '%s' -lm", cc && *cc ? cc : "gcc -O3 -march=native -fopenmp",
             dir, path);
    if (system(cmd) != 0) return NULL;
    snprintf(path, sizeof path, "%s/k.so", dir);
    return dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
}

typedef struct bufs { void *arg[128]; int n; void *scratch; } bufs;

static void bufs_make(bufs *b, const plast_kdesc *k, const bench_case *c)
{
    unsigned seed = 7;
    plast_kargs ka = { c->n_pre, c->n_post, c->batch, 1, b->arg, NULL };
    b->n = k->n_arg;
    for (int a = 0; a < k->n_arg && a < 128; a++) {
        const plast_karg_desc *d = &k->arg[a];
        int64_t n = d->role == PLAST_ROLE_META || d->role == PLAST_ROLE_ADJ_META ? (k->n_meta > 0 ? k->n_meta : 1)
                  : (d->space & 4 ? c->batch : 1) * (d->space & 2 ? c->n_post : 1) * (d->space & 1 ? c->n_pre : 1);
        double *x = malloc((size_t)n * sizeof *x);
        for (int64_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            x[i] = d->role == PLAST_ROLE_META ? 0.01 * ((seed >> 16) % 100) / 100.0 : 0.1 + 0.9 * ((seed >> 16) % 1000) / 1000.0;
        }
        b->arg[a] = x;
    }
    int64_t bytes = k->scratch(&ka);
    b->scratch = malloc((size_t)(bytes > 0 ? bytes : 8));
}

static void bufs_free(bufs *b)
{
    for (int a = 0; a < b->n; a++) free(b->arg[a]);
    free(b->scratch);
}

/* Median seconds per call of K: after a first call, calls until 0.5 s have
 * passed and at least 3 were made (1 when a call takes over 5 s). */
static double time_kernel(const plast_kdesc *k, const bench_case *c)
{
    bufs b;
    bufs_make(&b, k, c);
    plast_kargs ka = { c->n_pre, c->n_post, c->batch, 1, b.arg, b.scratch };
    k->run(&ka);
    enum { MAX_CALLS = 2000 };
    double *t = malloc(MAX_CALLS * sizeof *t), start = now();
    int n = 0;
    while (n < MAX_CALLS && (n < 3 || now() - start < 0.5) && !(n >= 1 && t[0] > 5)) {
        double t0 = now();
        k->run(&ka);
        t[n++] = now() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double med = t[n / 2];
    free(t);
    bufs_free(&b);
    return med;
}

static void report_speed(const bench_case *c, const char *tmpdir)
{
    char err[1024];
    compiled_unit *u = pipeline_compile(c->file, 1);
    if (!u) return;
    backend_module *jit = backend_load_jit(u, c->file, PREC_DOUBLE, err, sizeof err);
    void *gcc = load_gcc(u, c->file, tmpdir);
    if (!jit || !gcc) { fprintf(stderr, "%s: %s\n", c->name, jit ? "gcc failed" : err); goto out; }
    const lower_kernel **ks;
    int n = pipeline_kernels(u, &ks);
    for (int i = 0; i < n; i++) {
        char sym[160];
        snprintf(sym, sizeof sym, "%s_desc", ks[i]->k->name);
        const plast_kdesc *kj = backend_find(jit, ks[i]->k->name), *kg = dlsym(gcc, sym);
        if (!kj || !kg) continue;
        int threads[2] = { 1, omp_get_num_procs() };
        for (int q = 0; q < 2; q++) {
            if (q && threads[1] == 1) break;
            omp_set_num_threads(threads[q]);
            double tj = time_kernel(kj, c), tg = time_kernel(kg, c);
            printf("  %-10s %3lldx%-3lld batch %-3lld %d thread%s  jit %8.3f ms  gcc %8.3f ms  gcc/jit %5.2f\n",
                   ks[i]->k->name, (long long)c->n_pre, (long long)c->n_post, (long long)c->batch, threads[q],
                   threads[q] == 1 ? " " : "s", 1e3 * tj, 1e3 * tg, tg / tj);
        }
    }
    free(ks);
out:
    if (jit) backend_close(jit);
    if (gcc) dlclose(gcc);
    pipeline_free(u);
    diag_reset();
}

int main(int argc, char **argv)
{
    const char *dir = "rules";
    const char *only = NULL;
    int repeat = 5, latency_only = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);   /* progress while gcc and HAT take minutes */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--latency")) latency_only = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: jit_latency [--repeat N] [--only pool|hat|gu|mlp4] [--latency] [RULES_DIR]\n");
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "jit_latency: unknown option '%s' (--help)\n", argv[i]);
            return 2;
        } else dir = argv[i];
    }
    char pool[512], hat[512], gu[512], mlp4[512], tmpdir[] = "/tmp/jit_latency.XXXXXX";
    snprintf(pool, sizeof pool, "%s/pool.rule", dir);
    snprintf(hat, sizeof hat, "%s/hat.rule", dir);
    snprintf(gu, sizeof gu, "%s/gu.rule", dir);
    snprintf(mlp4, sizeof mlp4, "%s/../bench/mlp4.rule", dir);
    /* gu: the hidden layer of the 2-32-2 Gu model, a batch of 10 labelled and 10 unlabelled samples */
    bench_case cases[] = { { "pool", pool, 784, 170, 1 }, { "hat", hat, 784, 183, 50 }, { "gu", gu, 32, 32, 20 },
                           { "mlp4", mlp4, 784, 170, 1 } };
    int n_cases = (int)(sizeof cases / sizeof *cases);
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    printf("JIT latency, .rule file to callable kernels (best of %d):\n", repeat);
    for (int c = 0; c < n_cases; c++)
        if (!only || !strcmp(only, cases[c].name)) report_latency(&cases[c], repeat, tmpdir);
    setenv("PLASTCC_CACHE", "0", 1);   /* the speed runs: each kernel compiled */
    if (!latency_only) printf("kernel speed, JIT vs %s:\n", getenv("BENCH_CC") ? getenv("BENCH_CC") : "gcc -O3 -march=native -fopenmp");
    for (int c = 0; c < n_cases && !latency_only; c++)
        if (!only || !strcmp(only, cases[c].name)) report_speed(&cases[c], tmpdir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return 1;
    ast_arena_free();
    return 0;
}
