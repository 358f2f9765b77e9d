/* hat_step — the meta-learner part of one HAT training step (paper 001),
 * plastcc's side of workload w4 (bench/README.md).
 *
 *   bench/hat_step [--rules DIR] [--batch B] [--reps N] [--threads 1,2]
 *                  [--precision double|single] [--only fwd|adj]
 *                  [--dump DIR] [--json]
 *
 * JIT-compiles DIR/hat.rule (default rules/) with the LLVM back end and
 * times its two kernels on random inputs of the paper's sizes (n_pre 784,
 * n_post 183, batch 50):
 *
 *   hat_fwd  dw[i,j] = mean_b hat_net(pre.y[b,j], w[i,j], post.y[b,i]),
 *            hat_net an MLP 3-100(relu)-1 (501 meta-parameters);
 *   hat_adj  given adj_dw: the adjoints of the 501 meta-parameters, of w,
 *            of pre.y and of post.y (what one backprop step through the
 *            meta-learner needs).
 *
 * Per kernel and thread count: the first call (page faults of the outputs
 * and scratch included) and the median of N more (--reps, default 3).  The
 * learner's own dense layers (784-183-10, batch 50: about 44 MFLOP forward
 * and backward) are not run: under 0.3% of the meta-learner's ~21 GFLOP.
 *
 * Inputs: a splitmix64 stream with a fixed seed — pre.y, post.y uniform in
 * [0,1), w uniform in +-1/sqrt(784), the meta-parameters as PyTorch
 * initialises Conv2d (uniform in +-1/sqrt(fan_in)), adj_dw uniform in
 * [-1,1).  --dump DIR writes them and the kernels' outputs (from one call
 * with zeroed accumulators) as .npy, in double, for bench/torch_hat.py
 * --check.  The meta vector is hat_net.W1 [100,3] row-major, b1 [100],
 * W2 [1,100], b2 [1] (compiler/build_rule.c).
 *
 * Output: one line per measurement, or with --json one JSON object per line.
 * Peak RSS (getrusage) is printed at the end, with the resident size after
 * the JIT compilation and the bytes the kernels' arguments and scratch take.
 */
#include "config.h"
#include "ast.h"
#include "backend.h"
#include "diag.h"
#include "jit.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include "bench_time.h"

enum { N_PRE = 784, N_POST = 183 };


static double peak_rss_mb(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_maxrss / 1024.0;
}

static double cur_rss_mb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * 4096.0 / (1024.0 * 1024.0);
}

static uint64_t rng_state = 0x5eed0001ULL;
static double uniform(void)   /* splitmix64, [0,1) */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* A .npy file of N doubles with shape DIMS (NDIM of them). */
static int write_npy(const char *dir, const char *name, const double *x, const int64_t *dims, int ndim)
{
    char path[1024], shape[128] = "", hdr[256];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        char s[32];
        snprintf(s, sizeof s, "%lld,%s", (long long)dims[d], ndim > 1 && d < ndim - 1 ? " " : "");
        strcat(shape, s);
        n *= dims[d];
    }
    if (ndim > 1) shape[strlen(shape) - 1] = 0;   /* (a, b) rather than (a, b,) */
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }", shape);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return -1; }
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int p = 0; p < pad; p++) fputc(' ', f);
    fputc('\n', f);
    fwrite(x, sizeof *x, (size_t)n, f);
    return fclose(f);
}

typedef struct arrays {
    int64_t batch;
    double *w, *pre, *post, *meta, *adj_dw;                 /* inputs, double */
} arrays;

static void make_inputs(arrays *a, int64_t batch)
{
    a->batch = batch;
    a->w = malloc(sizeof(double) * N_PRE * N_POST);
    a->pre = malloc(sizeof(double) * (size_t)batch * N_PRE);
    a->post = malloc(sizeof(double) * (size_t)batch * N_POST);
    a->meta = malloc(sizeof(double) * 501);
    a->adj_dw = malloc(sizeof(double) * N_PRE * N_POST);
    double s = 1 / sqrt((double)N_PRE);
    for (int64_t k = 0; k < (int64_t)N_PRE * N_POST; k++) a->w[k] = s * (2 * uniform() - 1);
    for (int64_t k = 0; k < batch * N_PRE; k++) a->pre[k] = uniform();
    for (int64_t k = 0; k < batch * N_POST; k++) a->post[k] = uniform();
    for (int k = 0; k < 400; k++) a->meta[k] = (2 * uniform() - 1) / sqrt(3.0);   /* W1, b1: fan_in 3 */
    for (int k = 400; k < 501; k++) a->meta[k] = (2 * uniform() - 1) / 10.0;      /* W2, b2: fan_in 100 */
    for (int64_t k = 0; k < (int64_t)N_PRE * N_POST; k++) a->adj_dw[k] = 2 * uniform() - 1;
}

/* The buffer of kernel argument D, in the module's real type: the matching
 * input converted, or zeros for an output.  *N gets its element count. */
static void *arg_buffer(const plast_karg_desc *d, const arrays *a, int real, int64_t *n)
{
    const double *src = NULL;
    *n = d->space == 0 ? 501 : (d->space & 4 ? a->batch : 1) * (d->space & 2 ? N_POST : 1) * (d->space & 1 ? N_PRE : 1);
    if (d->role == PLAST_ROLE_INPUT || d->role == PLAST_ROLE_META) {
        if (!strcmp(d->name, "w")) src = a->w;
        else if (!strcmp(d->name, "pre_y")) src = a->pre;
        else if (!strcmp(d->name, "post_y")) src = a->post;
        else if (!strcmp(d->name, "meta")) src = a->meta;
        else if (!strcmp(d->name, "adj_dw")) src = a->adj_dw;
        else { fprintf(stderr, "hat_step: unknown input %s\n", d->name); exit(1); }
    }
    void *buf = calloc((size_t)*n, (size_t)real);
    if (src)
        for (int64_t k = 0; k < *n; k++) {
            if (real == 8) ((double *)buf)[k] = src[k];
            else ((float *)buf)[k] = (float)src[k];
        }
    return buf;
}

typedef struct call { void *arg[16]; int64_t len[16]; int n; void *scratch; int64_t bytes; } call;

static void call_make(call *c, const plast_kdesc *k, const arrays *a, int real)
{
    c->n = k->n_arg;
    c->bytes = 0;
    for (int i = 0; i < k->n_arg; i++) {
        c->arg[i] = arg_buffer(&k->arg[i], a, real, &c->len[i]);
        c->bytes += c->len[i] * real;
    }
    plast_kargs ka = { N_PRE, N_POST, a->batch, 1, c->arg, NULL };
    int64_t s = k->scratch(&ka);
    c->scratch = malloc((size_t)(s > 0 ? s : 8));
    c->bytes += s > 0 ? s : 0;
}

static void call_zero_outputs(call *c, const plast_kdesc *k, int real)
{
    for (int i = 0; i < k->n_arg; i++)
        if (k->arg[i].role >= PLAST_ROLE_OUTPUT) memset(c->arg[i], 0, (size_t)(c->len[i] * real));
}

static void call_free(call *c)
{
    for (int i = 0; i < c->n; i++) free(c->arg[i]);
    free(c->scratch);
}

static void dump_outputs(const char *dir, const call *c, const plast_kdesc *k, int real, const char *suffix)
{
    for (int i = 0; i < k->n_arg; i++) {
        if (k->arg[i].role < PLAST_ROLE_OUTPUT) continue;
        double *x = malloc(sizeof(double) * (size_t)c->len[i]);
        for (int64_t e = 0; e < c->len[i]; e++) x[e] = real == 8 ? ((double *)c->arg[i])[e] : ((float *)c->arg[i])[e];
        int s = k->arg[i].space;
        int64_t dims[3];
        int nd = 0;
        if (s == 0) dims[nd++] = c->len[i];
        if (s & 4) dims[nd++] = c->len[i] / ((s & 2 ? N_POST : 1) * (s & 1 ? N_PRE : 1));
        if (s & 2) dims[nd++] = N_POST;
        if (s & 1) dims[nd++] = N_PRE;
        char name[96];
        snprintf(name, sizeof name, "%s%s", k->arg[i].name, suffix);
        write_npy(dir, name, x, dims, nd);
        free(x);
    }
}

int main(int argc, char **argv)
{
    const char *dir = "rules", *only = NULL, *dump = NULL, *threads_arg = "1,2";
    int reps = 3, json = 0;
    int64_t batch = 50;
    lower_precision prec = PREC_DOUBLE;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rules") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads_arg = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            i++;
            prec = !strcmp(argv[i], "single") ? PREC_SINGLE : PREC_DOUBLE;
        } else {
            fprintf(stderr, "usage: hat_step [--rules DIR] [--batch B] [--reps N] [--threads 1,2] "
                            "[--precision double|single] [--only fwd|adj] [--dump DIR] [--json]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    const char *pname = prec == PREC_SINGLE ? "fp32" : "fp64";
    char file[512], err[1024];
    snprintf(file, sizeof file, "%s/hat.rule", dir);
    double rss0 = cur_rss_mb(), t0 = now();
    compiled_unit *u = pipeline_compile(file, 1);
    if (!u) { fprintf(stderr, "%s does not compile\n", file); return 1; }
    backend_module *m = backend_load_jit(u, file, prec, err, sizeof err);
    if (!m) { fprintf(stderr, "jit: %s\n", err); return 1; }
    jit_release_compiler_memory();   /* as plastcc run and episode do */
    double t_jit = now() - t0, rss_jit = cur_rss_mb();
    int real = backend_real_size(m);
    if (json)
        printf("{\"what\": \"jit\", \"seconds\": %.4f, \"rss_before_mb\": %.1f, \"rss_after_mb\": %.1f, \"prec\": \"%s\"}\n",
               t_jit, rss0, rss_jit, pname);
    else
        printf("hat.rule JIT-compiled (%s) in %.2f s; resident %.0f MB before, %.0f MB after\n", pname, t_jit, rss0,
               rss_jit);

    arrays a;
    make_inputs(&a, batch);
    if (dump) {
        mkdir(dump, 0777);
        int64_t d_syn[2] = { N_POST, N_PRE }, d_pre[2] = { batch, N_PRE }, d_post[2] = { batch, N_POST }, d_m[1] = { 501 };
        write_npy(dump, "w", a.w, d_syn, 2);
        write_npy(dump, "pre_y", a.pre, d_pre, 2);
        write_npy(dump, "post_y", a.post, d_post, 2);
        write_npy(dump, "meta", a.meta, d_m, 1);
        write_npy(dump, "adj_dw", a.adj_dw, d_syn, 2);
    }

    const char *names[2] = { "hat_fwd", "hat_adj" };
    int64_t arg_bytes_max = 0;
    for (int kk = 0; kk < 2; kk++) {
        if (only && strncmp(names[kk] + 4, only, 3)) continue;
        const plast_kdesc *k = backend_find(m, names[kk]);
        if (!k) { fprintf(stderr, "no kernel %s\n", names[kk]); return 1; }
        call c;
        call_make(&c, k, &a, real);
        if (c.bytes > arg_bytes_max) arg_bytes_max = c.bytes;
        char list[64];
        snprintf(list, sizeof list, "%s", threads_arg);
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            int nt = atoi(tok);
            if (nt < 1) continue;
            omp_set_num_threads(nt);
            plast_kargs ka = { N_PRE, N_POST, batch, 1, c.arg, c.scratch };
            call_zero_outputs(&c, k, real);
            double f0 = now();
            k->run(&ka);
            double first = now() - f0;
            if (dump && nt == atoi(threads_arg)) dump_outputs(dump, &c, k, real, prec == PREC_SINGLE ? "_fp32" : "");
            double *t = malloc(sizeof(double) * (size_t)reps), c0 = cpu_now();
            for (int r = 0; r < reps; r++) {
                double s = now();
                k->run(&ka);
                t[r] = now() - s;
            }
            double cpu = (cpu_now() - c0) / reps;
            qsort(t, (size_t)reps, sizeof *t, cmp_double);
            double med = t[reps / 2];
            if (json)
                printf("{\"what\": \"%s\", \"threads\": %d, \"batch\": %lld, \"prec\": \"%s\", \"first_s\": %.6f, "
                       "\"median_s\": %.6f, \"min_s\": %.6f, \"cpu_s\": %.6f, \"reps\": %d, \"arg_scratch_mb\": %.1f}\n",
                       names[kk], nt, (long long)batch, pname, first, med, t[0], cpu, reps, c.bytes / 1048576.0);
            else
                printf("  %s  %s  batch %lld  %d thread%s  first %8.3f s  median of %d %8.3f s (min %.3f, CPU %.3f s)"
                       "  args+scratch %.1f MB\n",
                       names[kk], pname, (long long)batch, nt, nt == 1 ? " " : "s", first, reps, med, t[0], cpu,
                       c.bytes / 1048576.0);
            free(t);
        }
        call_free(&c);
    }
    double peak = peak_rss_mb();
    if (json)
        printf("{\"what\": \"rss\", \"peak_mb\": %.1f, \"after_jit_mb\": %.1f, \"arg_scratch_max_mb\": %.1f}\n", peak,
               rss_jit, arg_bytes_max / 1048576.0);
    else
        printf("peak RSS %.1f MB (%.1f MB after the JIT; kernel arguments and scratch at most %.1f MB)\n", peak, rss_jit,
               arg_bytes_max / 1048576.0);
    free(a.w); free(a.pre); free(a.post); free(a.meta); free(a.adj_dw);
    backend_close(m);
    pipeline_free(u);
    diag_reset();
    ast_arena_free();
    return 0;
}
