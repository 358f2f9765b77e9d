/* kcap_exact — the forward value of kcap(k): exactly min(k, n_post) ones per
 * sample, ties broken towards the lower neuron index, in every back end.
 *
 *   kcap_exact
 *
 * Compiles a model of kcap layers (k = 1, 3, 6, 7), loads it through the
 * LLVM JIT, the emitted C and an LLVM object file, and runs each layer's
 * forward kernel on inputs whose z has ties (equal values, 0 and -0, a
 * whole row equal), for n_post = 7, 4 and 1.  Each post_y must be 0 or 1,
 * hold exactly min(k, n_post) ones per sample, and equal the reference: the
 * first k neurons after a stable sort by z, largest first.  The three back
 * ends must agree bit for bit.  Exit 0 when all holds.
 */
#include "config.h"
#include "backend.h"
#include "ast.h"
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N_PRE = 3, MAX_POST = 7, BATCH = 6, N_BACKENDS = 3 };
static const int ks[] = { 1, 3, 6, 7 };

static const char model_text[] =
    "model ties {\n  input 3;\n  dense 7 kcap(1);\n  dense 7 kcap(3);\n  dense 7 kcap(6);\n  dense 7 kcap(7);\n"
    "  loss mse;\n  feedback none;\n}\n";

/* w[i][j], column j being the z of the samples that read only input j */
static const double W[MAX_POST][N_PRE] = {
    { 0.5, 0.25, 0.0 }, { 0.5, 0.25, -0.0 }, { 0.2, 0.25, 0.0 }, { 0.5, 0.25, -1.0 },
    { 0.9, 0.25, 0.0 }, { 0.2, 0.25, 3.0 }, { 0.5, 0.25, -0.0 } };
/* per sample: y_0 */
static const double Y[BATCH][N_PRE] = {
    { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 }, { 1, 1, 0 }, { -1, 0, 0 }, { 0, 0, 0 } };

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; printf("FAIL: " __VA_ARGS__); putchar('\n'); } } while (0)

typedef struct ranked { double z; int i; } ranked;

/* largest z first; equal z: lower index first (qsort is not stable) */
static int by_z(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->z != b->z) return a->z > b->z ? -1 : 1;
    return a->i - b->i;
}

/* Runs KD on n_post = N_POST; fills post_y (BATCH * n_post). */
static void run(const plast_kdesc *kd, int n_post, double *post_z, double *post_y)
{
    double pre_y[BATCH * N_PRE], w[MAX_POST * N_PRE];
    for (int b = 0; b < BATCH; b++) for (int j = 0; j < N_PRE; j++) pre_y[b * N_PRE + j] = Y[b][j];
    for (int i = 0; i < n_post; i++) for (int j = 0; j < N_PRE; j++) w[i * N_PRE + j] = W[i][j];
    void *args[8];
    for (int a = 0; a < kd->n_arg && a < 8; a++) {
        const char *n = kd->arg[a].name;
        args[a] = !strcmp(n, "pre_y") ? (void *)pre_y : !strcmp(n, "w") ? (void *)w
                : !strcmp(n, "post_z") ? (void *)post_z : (void *)post_y;
    }
    plast_kargs ka = { N_PRE, n_post, BATCH, 1, args, NULL };
    int64_t bytes = kd->scratch(&ka);
    ka.scratch = malloc((size_t)(bytes > 0 ? bytes : 8));
    for (int e = 0; e < BATCH * n_post; e++) post_y[e] = -7;   /* never a kcap value */
    kd->run(&ka);
    free(ka.scratch);
}

/* post_y of one layer against the sorted reference, sample by sample. */
static void check_layer(const char *what, int k, int n_post, const double *z, const double *y)
{
    for (int b = 0; b < BATCH; b++) {
        ranked r[MAX_POST];
        int ones = 0;
        for (int i = 0; i < n_post; i++) {
            r[i].z = z[b * n_post + i];
            r[i].i = i;
            double v = y[b * n_post + i];
            CHECK(v == 0 || v == 1, "%s, sample %d: y[%d] = %g", what, b, i, v);
            ones += v == 1;
        }
        int want = k < n_post ? k : n_post;
        CHECK(ones == want, "%s, sample %d: %d ones, expected %d", what, b, ones, want);
        qsort(r, (size_t)n_post, sizeof *r, by_z);
        for (int q = 0; q < n_post; q++)
            CHECK(y[b * n_post + r[q].i] == (q < k ? 1 : 0), "%s, sample %d: neuron %d (z %g, place %d) has y %g",
                  what, b, r[q].i, r[q].z, q, y[b * n_post + r[q].i]);
    }
}

int main(void)
{
    char path[] = "/tmp/kcap_exact.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, model_text, sizeof model_text - 1) != (ssize_t)(sizeof model_text - 1)) {
        perror("kcap_exact: temporary file");
        return 99;
    }
    close(fd);
    compiled_unit *u = pipeline_compile(path, 1);
    unlink(path);
    if (!u) { printf("FAIL: the model does not compile\n"); return 1; }
    static const char *const names[N_BACKENDS] = { "jit", "c", "object" };
    backend_module *(*load[N_BACKENDS])(const compiled_unit *, const char *, lower_precision, char *, size_t) = {
        backend_load_jit, backend_load_c, backend_load_object };
    backend_module *m[N_BACKENDS];
    char err[1024];
    for (int b = 0; b < N_BACKENDS; b++)
        if (!(m[b] = load[b](u, "kcap_exact", PREC_DOUBLE, err, sizeof err))) {
            printf("FAIL: the %s back end: %s\n", names[b], err);
            return 1;
        }
    static const int sizes[] = { MAX_POST, 4, 1 };
    for (size_t l = 0; l < sizeof ks / sizeof *ks; l++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int n_post = sizes[s];
            double z[N_BACKENDS][BATCH * MAX_POST], y[N_BACKENDS][BATCH * MAX_POST];
            char kname[64], what[128];
            snprintf(kname, sizeof kname, "ties_dense%d_fwd", (int)l + 1);
            for (int b = 0; b < N_BACKENDS; b++) {
                const plast_kdesc *kd = backend_find(m[b], kname);
                if (!kd) { printf("FAIL: %s: no kernel %s\n", names[b], kname); return 1; }
                run(kd, n_post, z[b], y[b]);
                snprintf(what, sizeof what, "%s, kcap(%d), n_post %d", names[b], ks[l], n_post);
                check_layer(what, ks[l], n_post, z[b], y[b]);
                if (b) CHECK(!memcmp(y[b], y[0], sizeof(double) * (size_t)(BATCH * n_post)),
                             "%s: post_y differs from the JIT's", what);
            }
            if (n_post == MAX_POST) {   /* the inputs do tie: sample 1 is one value, sample 2 has 0 and -0 */
                int same = 1;
                for (int i = 1; i < n_post; i++) same &= z[0][1 * n_post + i] == z[0][1 * n_post];
                CHECK(same, "sample 1 should be a row of equal z");
            }
        }
    for (int b = 0; b < N_BACKENDS; b++) backend_close(m[b]);
    pipeline_free(u);
    ast_arena_free();
    printf("kcap_exact: %s (k = 1, 3, 6, 7; n_post = 7, 4, 1; %d samples with ties; jit, c, object)\n",
           failures ? "FAILED" : "ok", BATCH);
    return failures != 0;
}
