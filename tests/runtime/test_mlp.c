/* test_mlp — libplast's meta-MLP routines (runtime/mlp.c): the forward pass
 * against a plain evaluation, the adjoints of the inputs and of every
 * parameter against central finite differences in double precision, and the
 * single-precision routines against the double ones. */
#include "plast.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long state = 88172645463325252ull;
static double uniform(void)   /* xorshift64, in [-1, 1) */
{
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0 * 2 - 1;
}

static int n_params(const double *shape)
{
    int n = 0, w = (int)shape[0];
    for (int l = 0; l < (int)shape[1]; l++) { int o = (int)shape[2 + 3 * l]; n += o * w + o; w = o; }
    return n;
}

/* log(1 + exp(b x)) / b in the form that does not overflow (ops.def) */
static double softplus(double x, double b)
{
    double t = b * x;
    return (t > 0 ? t + log1p(exp(-t)) : log1p(exp(t))) / b;
}

/* The MLP evaluated the plain way, with the sums in the documented order. */
static double plain_out(const double *shape, const double *theta, const double *x, int k)
{
    double a[1024], b[1024];
    int w = (int)shape[0];
    for (int i = 0; i < w; i++) a[i] = x[i];
    for (int l = 0; l < (int)shape[1]; l++) {
        int o_n = (int)shape[2 + 3 * l], act = (int)shape[3 + 3 * l];
        double beta = shape[4 + 3 * l];
        for (int o = 0; o < o_n; o++) {
            double s = theta[o * w] * a[0];
            for (int i = 1; i < w; i++) s = s + theta[o * w + i] * a[i];
            s = s + theta[o_n * w + o];
            b[o] = act == PLAST_MLP_RELU ? (s > 0 ? s : 0) : act == PLAST_MLP_TANH ? tanh(s)
                 : act == PLAST_MLP_SIGMOID ? 1 / (1 + exp(-s))
                 : act == PLAST_MLP_SOFTPLUS ? softplus(s, beta) : s;
        }
        theta += o_n * w + o_n;
        for (int o = 0; o < o_n; o++) a[o] = b[o];
        w = o_n;
    }
    return a[k];
}

/* The central difference (step 1e-6) of sum_k SEED[k] output k in *AT, an
 * input in X or a parameter in THETA. */
static double central(const double *shape, const double *theta, const double *x, const double *seed, double *at)
{
    const double h = 1e-6;
    int n_out = (int)shape[2 + 3 * ((int)shape[1] - 1)];
    double keep = *at, up = 0, down = 0;
    *at = keep + h;
    for (int k = 0; k < n_out; k++) up += seed[k] * plain_out(shape, theta, x, k);
    *at = keep - h;
    for (int k = 0; k < n_out; k++) down += seed[k] * plain_out(shape, theta, x, k);
    *at = keep;
    return (up - down) / (2 * h);
}

static int close_to(double got, double want, double tol)
{
    return fabs(got - want) <= tol * (1 + fabs(want));
}

/* The lane routines against one element at a time, bit for bit: LANES
 * elements of a lane stride of L (the parameters' adjoints split, lane e into
 * partial sum e, what a loop over columns does, when L is
 * PLAST_MLP_PARTS_D; and not split, every lane into partial 0, lane 0
 * first), the outputs, and the inputs' adjoints (all, and one). */
static void check_lanes(const double *shape, const double *theta, int np, int lanes, int L)
{
    enum { P = PLAST_MLP_PARTS_D, MAXL = 16 };
    int n_in = (int)shape[0], n_out = (int)shape[2 + 3 * ((int)shape[1] - 1)];
    double x[128 * MAXL], seed[16 * MAXL], one_x[128], one_seed[16], out[128 * MAXL], one_out[128];
    for (int q = 0; q < n_in * L; q++) x[q] = uniform();
    for (int q = 0; q < n_out * L; q++) seed[q] = uniform();
    for (int split = 0; split <= (L == P); split++) {
        double *acc = calloc((size_t)np * P, sizeof *acc), *acc1 = calloc((size_t)np * P, sizeof *acc1);
        for (int rep = 0; rep < 2; rep++) {   /* twice: the second adds onto the first */
            plast_mlp_vjp_lanes_d(shape, theta, x, seed, -1, lanes, L, out, acc, split);
            for (int e = 0; e < lanes; e++) {
                for (int m = 0; m < n_in; m++) one_x[m] = x[m * L + e];
                for (int k = 0; k < n_out; k++) one_seed[k] = seed[k * L + e];
                plast_mlp_vjp_d(shape, theta, one_x, one_seed, -1, one_out, acc1, split ? e : 0);
                for (int m = 0; m < n_in; m++) CHECK(out[m * L + e] == one_out[m]);
            }
        }
        CHECK(!memcmp(acc, acc1, (size_t)np * P * sizeof *acc));
        int nonzero = 0;   /* the split adjoints reach every active lane's part, the others none */
        for (int p = 0; p < np; p++)
            for (int e = 0; e < P; e++) {
                int used = split ? e < lanes : e == 0;
                if (!used) CHECK(acc[p * P + e] == 0);
                nonzero += acc[p * P + e] != 0;
            }
        CHECK(nonzero > 0);
        free(acc);
        free(acc1);
    }
    for (int m = 0; m < n_in; m += 1 + n_in / 4) {   /* one input's adjoint: the same bits, no parameters */
        plast_mlp_vjp_lanes_d(shape, theta, x, seed, m, lanes, L, out, NULL, 0);
        for (int e = 0; e < lanes; e++) {
            for (int q = 0; q < n_in; q++) one_x[q] = x[q * L + e];
            for (int k = 0; k < n_out; k++) one_seed[k] = seed[k * L + e];
            plast_mlp_vjp_d(shape, theta, one_x, one_seed, -1, one_out, NULL, 0);
            CHECK(out[m * L + e] == one_out[m]);
        }
    }
    plast_mlp_outs_lanes_d(shape, theta, x, lanes, L, out);
    for (int e = 0; e < lanes; e++) {
        for (int m = 0; m < n_in; m++) one_x[m] = x[m * L + e];
        plast_mlp_outs_d(shape, theta, one_x, one_out);
        for (int k = 0; k < n_out; k++) CHECK(out[k * L + e] == one_out[k]);
    }
}

static void check_shape(const double *shape)
{
    int n_in = (int)shape[0], n_out = (int)shape[2 + 3 * ((int)shape[1] - 1)], np = n_params(shape);
    double *theta = malloc((size_t)np * sizeof *theta), *acc = calloc((size_t)np * PLAST_MLP_PARTS_D, sizeof *acc);
    float *theta_f = malloc((size_t)np * sizeof *theta_f);
    float *acc_f = calloc((size_t)np * PLAST_MLP_PARTS_F, sizeof *acc_f);
    double x[128], seed[16], y[16], gin[128];
    float x_f[128], seed_f[16], y_f[16], gin_f[128];
    for (int p = 0; p < np; p++) theta_f[p] = (float)(theta[p] = 0.5 * uniform());
    for (int i = 0; i < n_in; i++) x_f[i] = (float)(x[i] = uniform());
    for (int k = 0; k < n_out; k++) seed_f[k] = (float)(seed[k] = uniform());
    plast_mlp_outs_d(shape, theta, x, y);
    plast_mlp_outs_f(shape, theta_f, x_f, y_f);
    for (int k = 0; k < n_out; k++) {
        CHECK(y[k] == plain_out(shape, theta, x, k));
        CHECK(close_to(y_f[k], y[k], 1e-4));
    }
    /* the inputs' and the parameters' adjoints of one backward pass */
    plast_mlp_vjp_d(shape, theta, x, seed, -1, gin, acc, 3);   /* into partial sum 3 of each parameter */
    plast_mlp_vjp_f(shape, theta_f, x_f, seed_f, -1, gin_f, acc_f, 5);
    for (int m = 0; m < n_in; m++) {
        double want = central(shape, theta, x, seed, &x[m]);
        if (!close_to(gin[m], want, 1e-6)) fprintf(stderr, "vjp input %d: %.12g against %.12g\n", m, gin[m], want);
        CHECK(close_to(gin[m], want, 1e-6));
        CHECK(close_to(gin_f[m], gin[m], 1e-3));
    }
    for (int p = 0; p < np; p += np > 200 ? 7 : 1) {
        CHECK(close_to(acc[p * PLAST_MLP_PARTS_D + 3], central(shape, theta, x, seed, &theta[p]), 1e-6));
        CHECK(close_to(acc_f[p * PLAST_MLP_PARTS_F + 5], acc[p * PLAST_MLP_PARTS_D + 3], 1e-3));
        for (int e = 0; e < PLAST_MLP_PARTS_D; e++) if (e != 3) CHECK(acc[p * PLAST_MLP_PARTS_D + e] == 0);
    }
    for (int lanes = 1; lanes <= PLAST_MLP_PARTS_D; lanes++) check_lanes(shape, theta, np, lanes, PLAST_MLP_PARTS_D);
    check_lanes(shape, theta, np, 4, 4);     /* the JIT's widths on other machines */
    check_lanes(shape, theta, np, 13, 16);
    check_lanes(shape, theta, np, 3, 5);     /* a width without a clone of its own */
    free(theta); free(acc); free(theta_f); free(acc_f);
}

/* Random shapes in both precisions, lanes against one element at a time,
 * bit for bit (plast.h's promise): one hidden relu or linear layer and a
 * linear output (the shape mlp_real.h runs unit by unit on a full vector,
 * up to 8 inputs, and 9 inputs, which it leaves to the layered routines)
 * and the others; every lane count the JIT uses and odd ones; partial
 * strips; one input's adjoint or all; without GIN or ACC; float as well as
 * double; and pre-activations at exactly +0 and -0, where relu's mask
 * decides. */
static int pick(int n)
{
    uniform();
    return (int)(state % (unsigned long long)n);
}

/* uniform in [-1, 1), one value in eight +0 or -0 (zero weights and inputs
 * make pre-activations exactly zero) */
static double value_or_zero(void)
{
    int r = pick(16);
    if (r == 0) return 0.0;
    if (r == 1) return -0.0;
    return uniform();
}

enum { MAX_SHAPE = 2 + 3 * 3, MAX_LANES = 64 };

/* a random shape; FAST: one relu or linear hidden layer, one linear output */
static int random_shape(double *shape, int fast)
{
    int n_in = 1 + pick(fast ? 9 : 5), n_layers = fast ? 2 : 1 + pick(3), width = n_in, params = 0;
    shape[0] = n_in;
    shape[1] = n_layers;
    for (int l = 0; l < n_layers; l++) {
        int last = l == n_layers - 1;
        int w_out = last ? (fast ? 1 : 1 + pick(3)) : 1 + pick(7);
        int act = fast ? (last ? PLAST_MLP_IDENTITY : (pick(2) ? PLAST_MLP_RELU : PLAST_MLP_IDENTITY)) : pick(5);
        shape[2 + 3 * l] = w_out;
        shape[3 + 3 * l] = act;
        shape[4 + 3 * l] = act == PLAST_MLP_SOFTPLUS ? 1 + pick(10) : 0;
        params += w_out * width + w_out;
        width = w_out;
    }
    return params;
}

static int n_out_of(const double *shape) { return (int)shape[2 + 3 * ((int)shape[1] - 1)]; }

#define DEFINE_RANDOM_LANES(SUF, REAL, PARTS)                                                                            \
    static void random_lanes_##SUF(int fast)                                                                            \
    {                                                                                                           \
        double shape[MAX_SHAPE];                                                                                \
        int params = random_shape(shape, fast), n_in = (int)shape[0], n_out = n_out_of(shape);                  \
        static const int Ls[] = { 1, 2, 4, 8, 16, 3, 5, 32 };                                                   \
        int L = pick(3) ? PARTS : Ls[pick(8)], lanes = pick(3) ? L : 1 + pick(L);                               \
        int split = L == PARTS && pick(2), m = pick(2) ? -1 : pick(n_in);                                       \
        int with_gin = pick(4) != 0, with_acc = pick(4) != 0;                                                   \
        REAL theta[512], x[16 * MAX_LANES], seed[4 * MAX_LANES], out[4 * MAX_LANES], gin[16 * MAX_LANES];         \
        REAL acc[512 * PARTS], want_out[4 * MAX_LANES], want_gin[16 * MAX_LANES], want_acc[512 * PARTS];         \
        for (int p = 0; p < params; p++) theta[p] = (REAL)value_or_zero();                                             \
        for (int q = 0; q < n_in * L; q++) x[q] = (REAL)value_or_zero();                                               \
        for (int q = 0; q < n_out * L; q++) seed[q] = (REAL)value_or_zero();                                           \
        for (int q = 0; q < params * PARTS; q++) acc[q] = want_acc[q] = (REAL)value_or_zero();                         \
        memset(gin, 0, sizeof gin);                                                                             \
        memset(want_gin, 0, sizeof want_gin);                                                                   \
        plast_mlp_outs_lanes_##SUF(shape, theta, x, lanes, L, out);                                            \
        plast_mlp_vjp_lanes_##SUF(shape, theta, x, seed, m, lanes, L, with_gin ? gin : NULL,                   \
                                  with_acc ? acc : NULL, split);                                                \
        for (int e = 0; e < lanes; e++) {                                                                       \
            REAL xe[16], se[4], oe[4], ge[16] = { 0 };                                                            \
            for (int i = 0; i < n_in; i++) xe[i] = x[i * L + e];                                                \
            for (int k = 0; k < n_out; k++) se[k] = seed[k * L + e];                                            \
            plast_mlp_outs_##SUF(shape, theta, xe, oe);                                                         \
            for (int k = 0; k < n_out; k++) want_out[k * L + e] = oe[k];                                        \
            plast_mlp_vjp_##SUF(shape, theta, xe, se, m, ge, with_acc ? want_acc : NULL, split ? e : 0);        \
            for (int i = 0; i < n_in; i++)                                                                      \
                if (m < 0 || i == m) want_gin[i * L + e] = ge[i];                                               \
        }                                                                                                       \
        int bad = 0;                                                                                            \
        for (int e = 0; e < lanes; e++) {                                                                       \
            for (int k = 0; k < n_out; k++)                                                                     \
                bad |= memcmp(&out[k * L + e], &want_out[k * L + e], sizeof(REAL)) ? 1 : 0;                     \
            if (with_gin)                                                                                       \
                for (int i = 0; i < n_in; i++)                                                                  \
                    if (m < 0 || i == m) bad |= memcmp(&gin[i * L + e], &want_gin[i * L + e], sizeof(REAL)) ? 2 : 0; \
        }                                                                                                       \
        if (memcmp(acc, want_acc, (size_t)params * PARTS * sizeof(REAL))) bad |= 4;                             \
        if (bad) {                                                                                              \
            failures++;                                                                                         \
            fprintf(stderr, "FAIL " #SUF " %s: shape in %d, %d layers (", fast ? "one hidden" : "other", n_in,          \
                   (int)shape[1]);                                                                              \
            for (int l = 0; l < (int)shape[1]; l++)                                                             \
                fprintf(stderr, " %g/%g/%g", shape[2 + 3 * l], shape[3 + 3 * l], shape[4 + 3 * l]);                     \
            fprintf(stderr, " ), L %d, lanes %d, split %d, m %d, gin %d, acc %d: %s%s%s differ\n", L, lanes, split, m,   \
                   with_gin, with_acc, bad & 1 ? "outputs " : "", bad & 2 ? "input adjoints " : "",             \
                   bad & 4 ? "parameter adjoints" : "");                                                        \
        }                                                                                                       \
    }

DEFINE_RANDOM_LANES(d, double, PLAST_MLP_PARTS_D)
DEFINE_RANDOM_LANES(f, float, PLAST_MLP_PARTS_F)

int main(void)
{
    /* n_in, n_layers, then (width, activation, argument) per layer */
    static const double hat[] = { 3, 2, 100, PLAST_MLP_RELU, 0, 1, PLAST_MLP_IDENTITY, 0 };
    static const double deep[] = { 4, 3, 16, PLAST_MLP_TANH, 0, 8, PLAST_MLP_RELU, 0, 1, PLAST_MLP_IDENTITY, 0 };
    static const double gu[] = { 6, 2, 32, PLAST_MLP_RELU, 0, 7, PLAST_MLP_IDENTITY, 0 };
    static const double smooth[] = { 2, 3, 5, PLAST_MLP_SIGMOID, 0, 3, PLAST_MLP_SOFTPLUS, 2, 2, PLAST_MLP_TANH, 0 };
    static const double linear[] = { 3, 1, 1, PLAST_MLP_IDENTITY, 0 };
    static const double wide[] = { 3, 2, 600, PLAST_MLP_TANH, 0, 1, PLAST_MLP_IDENTITY, 0 };   /* heap work space */
    static const double many_in[] = { 70, 2, 4, PLAST_MLP_SIGMOID, 0, 2, PLAST_MLP_IDENTITY, 0 };
    const double *shapes[] = { hat, deep, gu, smooth, linear, wide, many_in };
    for (int s = 0; s < 7; s++)
        for (int rep = 0; rep < 3; rep++) check_shape(shapes[s]);
    for (int c = 0; c < 3000; c++) {
        random_lanes_d(c % 3 != 0);
        random_lanes_f(c % 3 != 0);
    }
    if (failures) fprintf(stderr, "test_mlp: %d checks failed\n", failures);
    return failures != 0;
}
