/* test_mlp — libplast's meta-MLP routines (runtime/mlp.c): the forward pass
 * against a plain evaluation, the adjoints of the inputs and of every
 * parameter against central finite differences in double precision, and the
 * single-precision routines against the double ones. */
#include "plast.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>

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
    if (failures) fprintf(stderr, "test_mlp: %d checks failed\n", failures);
    return failures != 0;
}
