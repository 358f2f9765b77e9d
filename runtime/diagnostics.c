/* diagnostics — the per-layer measures 003 reports beside the accuracy,
 * computed on the query samples of an episode with its trained weights.
 *
 * Alignment angle (003 Fig. 3e, Table 1): from the same output error e_L,
 * the errors are sent down twice with the network's own error kernels —
 * once through the feedback pathway the rules saw (B_l, or W_l^T when the
 * feedback is symmetric, or the direct projection of e_L), once as backprop
 * does (b = W_l, e_{l-1} = (W_l^T e_l) * act'(z_{l-1}), the synthetic e_0
 * with the same factor).  alpha_l is the angle between the two e_l, in
 * degrees, averaged over the samples where both are non-zero; l = 0..L-1
 * (e_L is the same for both, alpha_L = 0).
 *
 * Orthonormality error (003 Eq. 10): E_l = ||z_l - W_l ybar_{l-1}||^2 with
 * ybar_{l-1} = W_l^T y_l, averaged over the samples; l = 1..L-1 (003 Fig. 8
 * leaves out the output layer).  It is 0 when the rows of W_l are
 * orthonormal.
 *
 * The kernels run in double on one thread's worth of buffers; the cost is one
 * forward pass and two error passes over the query samples.
 */
#include "config.h"
#include "plast.h"
#include "kcall.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dstate {
    kscratch scratch;
    double *junk;
    char *err;
    size_t errlen;
} dstate;

static int call(dstate *D, const plast_kdesc *k, int n_pre, int n_post, int batch, const kbind *b, int nb)
{
    return plast_kcall(k, n_pre, n_post, batch, 1, b, nb, D->junk, &D->scratch, D->err, D->errlen);
}

/* Errors e[0..L-1] from e[L] through the matrices FB (b layout) and the error
 * kernels; DIRECT: each from e_L. */
static int send_down(dstate *D, const plast_net *N, const double *const *fb, int direct, double **z, double **y,
                     double **e, int nq)
{
    int L = N->n_layers;
    for (int l = L; l >= 1; l--) {
        int src = direct ? L : l;
        kbind b[] = { { "b", (void *)fb[l - 1] }, { "post_e", e[src] }, { "pre_z", z[l - 1] },
                      { "pre_y", y[l - 1] }, { "pre_e", e[l - 1] } };
        if (call(D, N->error_fwd[l - 1], N->size[l - 1], N->size[src], nq, b, 5) < 0) return -1;
    }
    return 0;
}

static double angle_deg(const double *a, const double *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < n; k++) { ab += a[k] * b[k]; aa += a[k] * a[k]; bb += b[k] * b[k]; }
    if (aa <= 0 || bb <= 0) return NAN;
    double c = ab / sqrt(aa * bb);
    c = c > 1 ? 1 : c < -1 ? -1 : c;
    return acos(c) * (180.0 / M_PI);
}

/* ||z - W W^T y||^2 for one sample; W is [n_post][n_pre]; U: n_pre scratch. */
static double orth_error(const double *W, const double *z, const double *y, int n_pre, int n_post, double *u)
{
    memset(u, 0, (size_t)n_pre * sizeof *u);
    for (int i = 0; i < n_post; i++)
        for (int j = 0; j < n_pre; j++) u[j] += W[(size_t)i * n_pre + j] * y[i];
    double s = 0;
    for (int i = 0; i < n_post; i++) {
        double v = 0;
        for (int j = 0; j < n_pre; j++) v += W[(size_t)i * n_pre + j] * u[j];
        s += (z[i] - v) * (z[i] - v);
    }
    return s;
}

int plast_diagnostics(const plast_net *N, const double *const *W, const double *const *B,
                      const plast_episode_data *data, double *align, double *orth, char *err, size_t errlen)
{
    int L = N->n_layers, nq = data->n_query, nL = N->size[L], rc = -1;
    if (nq < 1) { snprintf(err, errlen, "diagnostics: no query samples"); return -1; }
    size_t max_n = 0, max_w = 0;
    for (int l = 0; l <= L; l++) if ((size_t)N->size[l] > max_n) max_n = (size_t)N->size[l];
    for (int l = 1; l <= L; l++) {
        size_t w = (size_t)N->size[l] * (size_t)N->size[l - 1];
        if (w > max_w) max_w = w;
    }
    dstate D = { { NULL, 0 }, NULL, err, errlen };
    size_t junk = max_w > (size_t)nq * max_n ? max_w : (size_t)nq * max_n;
    D.junk = malloc(junk * sizeof(double));
    double *z[PLAST_MAX_LAYERS + 1] = { 0 }, *y[PLAST_MAX_LAYERS + 1] = { 0 };
    double *efb[PLAST_MAX_LAYERS + 1] = { 0 }, *ebp[PLAST_MAX_LAYERS + 1] = { 0 };
    double *target = calloc((size_t)nq * (size_t)nL, sizeof(double)), *loss = calloc((size_t)nq, sizeof(double));
    double *mask = calloc((size_t)nq, sizeof(double)), *u = malloc(max_n * sizeof(double));
    int ok = D.junk && target && loss && mask && u;
    for (int l = 0; ok && l <= L; l++) {
        size_t m = (size_t)nq * (size_t)N->size[l];
        y[l] = calloc(m, sizeof(double));
        z[l] = l == 0 ? y[0] : calloc(m, sizeof(double));
        efb[l] = calloc(m, sizeof(double));
        ebp[l] = calloc(m, sizeof(double));
        ok = y[l] && z[l] && efb[l] && ebp[l];
    }
    if (!ok) { snprintf(err, errlen, "diagnostics: out of memory"); goto out; }
    for (int k = 0; k < nq; k++) {
        memcpy(y[0] + (size_t)k * N->size[0], data->x_query + (size_t)k * N->size[0], (size_t)N->size[0] * sizeof(double));
        if (data->y_query[k] < 0 || data->y_query[k] >= nL) continue;   /* unlabelled: no error */
        target[(size_t)k * nL + data->y_query[k]] = 1;
        mask[k] = 1;
    }
    for (int l = 1; l <= L; l++) {
        kbind b[] = { { "w", (void *)W[l - 1] }, { "pre_y", y[l - 1] }, { "post_z", z[l] }, { "post_y", y[l] } };
        if (call(&D, N->dense_fwd[l - 1], N->size[l - 1], N->size[l], nq, b, 4) < 0) goto out;
    }
    kbind lb[] = { { "post_z", z[L] }, { "post_y", y[L] }, { "target", target }, { "mask", mask },
                   { "post_e", efb[L] }, { "loss", loss } };
    if (call(&D, N->loss_fwd, N->size[L - 1], nL, nq, lb, 6) < 0) goto out;
    memcpy(ebp[L], efb[L], (size_t)nq * (size_t)nL * sizeof(double));
    for (int l = 0; l < L; l++) align[l] = NAN;
    if (N->feedback != PLAST_FB_NONE) {
        const double *fb[PLAST_MAX_LAYERS];
        for (int l = 0; l < L; l++) fb[l] = N->feedback == PLAST_FB_SYMMETRIC ? W[l] : B[l];
        if (send_down(&D, N, fb, N->feedback == PLAST_FB_DIRECT, z, y, efb, nq) < 0 ||
            send_down(&D, N, W, 0, z, y, ebp, nq) < 0) goto out;
        for (int l = 0; l < L; l++) {
            double sum = 0;
            int n = 0;
            for (int k = 0; k < nq; k++) {
                double a = angle_deg(efb[l] + (size_t)k * N->size[l], ebp[l] + (size_t)k * N->size[l], N->size[l]);
                if (!isnan(a)) { sum += a; n++; }
            }
            align[l] = n ? sum / n : NAN;
        }
    }
    for (int l = 1; l < L; l++) {
        double sum = 0;
        for (int k = 0; k < nq; k++)
            sum += orth_error(W[l - 1], z[l] + (size_t)k * N->size[l], y[l] + (size_t)k * N->size[l], N->size[l - 1],
                              N->size[l], u);
        orth[l - 1] = sum / nq;
    }
    rc = 0;
out:
    for (int l = 0; l <= L; l++) {
        if (l > 0) free(z[l]);
        free(y[l]); free(efb[l]); free(ebp[l]);
    }
    free(target); free(loss); free(mask); free(u); free(D.junk); free(D.scratch.mem);
    return rc;
}
