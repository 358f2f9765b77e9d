/* meta_state — the meta-parameters and the optimiser's state (theta, phi,
 * Adam's moments, the scales, and the same before the last meta-step, which
 * nonfinite backtrack restores), and the meta-step that moves them
 * (plast_meta_step).  Their file form is meta_file.c. */
#include "config.h"
#include "train_impl.h"
#include "ranks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double **meta_alloc(const plast_net *N)
{
    double **a = calloc((size_t)N->n_rules + 1, sizeof *a);
    for (int r = 0; a && r < N->n_rules; r++)
        if (!(a[r] = calloc((size_t)N->rules[r].n_meta + 1, sizeof(double)))) { meta_free(N, a); return NULL; }
    return a;
}

void meta_zero(const plast_net *N, double **a)
{
    for (int r = 0; r < N->n_rules; r++) memset(a[r], 0, (size_t)N->rules[r].n_meta * sizeof(double));
}

void meta_free(const plast_net *N, double **a)
{
    if (!a) return;
    for (int r = 0; r < N->n_rules; r++) free(a[r]);   /* calloc'ed: the entries not allocated are NULL */
    free(a);
}

int meta_state_init(meta_state *S, const plast_net *N, const plast_train_opts *o)
{
    memset(S, 0, sizeof *S);
    S->theta = meta_alloc(N); S->phi = meta_alloc(N); S->m = meta_alloc(N); S->v = meta_alloc(N);
    S->scale = meta_alloc(N);
    S->prev_theta = meta_alloc(N); S->prev_phi = meta_alloc(N); S->prev_m = meta_alloc(N); S->prev_v = meta_alloc(N);
    if (!S->theta || !S->phi || !S->m || !S->v || !S->scale || !S->prev_theta || !S->prev_phi || !S->prev_m ||
        !S->prev_v)
        return -1;
    S->lr_factor = 1;
    S->fingerprint = o->fingerprint;
    for (int r = 0; r < N->n_rules; r++) {
        for (int k = 0; k < N->rules[r].n_meta; k++) {
            double s = o->scale && o->scale[r] ? o->scale[r][k] : 1;
            S->scale[r][k] = s > 0 ? s : 1;
            S->theta[r][k] = N->rules[r].init[k];
            S->phi[r][k] = S->theta[r][k] / S->scale[r][k];
        }
    }
    return 0;
}

void meta_state_free(meta_state *S, const plast_net *N)
{
    meta_free(N, S->theta); meta_free(N, S->phi); meta_free(N, S->m); meta_free(N, S->v); meta_free(N, S->scale);
    meta_free(N, S->prev_theta); meta_free(N, S->prev_phi); meta_free(N, S->prev_m); meta_free(N, S->prev_v);
    memset(S, 0, sizeof *S);
}

static void copy_meta(const plast_net *N, double **dst, double *const *src)
{
    for (int r = 0; r < N->n_rules; r++) memcpy(dst[r], src[r], (size_t)N->rules[r].n_meta * sizeof(double));
}

void meta_state_remember(meta_state *S, const plast_net *N)
{
    copy_meta(N, S->prev_theta, S->theta); copy_meta(N, S->prev_phi, S->phi);
    copy_meta(N, S->prev_m, S->m); copy_meta(N, S->prev_v, S->v);
    S->prev_t = S->t;
    S->has_prev = 1;
}

void meta_state_undo(meta_state *S, const plast_net *N)
{
    if (!S->has_prev) return;
    copy_meta(N, S->theta, S->prev_theta); copy_meta(N, S->phi, S->prev_phi);
    copy_meta(N, S->m, S->prev_m); copy_meta(N, S->v, S->prev_v);
    S->t = S->prev_t;
    S->has_prev = 0;   /* one step back at most: the state before it is not kept */
}

int meta_state_check_finite(const meta_state *S, const plast_net *N, char *why, size_t len)
{
    for (int r = 0; r < N->n_rules; r++)
        for (int k = 0; k < N->rules[r].n_meta; k++) {
            double v[4] = { S->theta[r][k], S->phi[r][k], S->m[r][k], S->v[r][k] };
            static const char *const what[4] = { "", " (phi)", " (its Adam first moment)", " (its Adam second moment)" };
            for (int q = 0; q < 4; q++)
                if (!isfinite(v[q])) {
                    snprintf(why, len, "the meta-step made %s%s %g (a non-finite meta-gradient); the state before it "
                             "is kept", N->rules[r].meta_name ? N->rules[r].meta_name[k] : N->rules[r].name, what[q], v[q]);
                    return -1;
                }
        }
    return 0;
}

/* ---- the meta-optimiser ---- */

double meta_learning_rate(const plast_train_opts *o, int e)
{
    double lr = o->lr;
    if (o->warmup > 0 && e < o->warmup) lr *= (double)(e + 1) / o->warmup;
    if (o->schedule == PLAST_SCHEDULE_STEP && o->sched_every > 0) lr *= pow(o->sched_gamma, (double)(e / o->sched_every));
    if (o->schedule == PLAST_SCHEDULE_COSINE && o->episodes > 0) lr *= 0.5 * (1 + cos(M_PI * e / o->episodes));
    return lr;
}

/* One Adam step of the meta-state from the averaged gradient G (theta space):
 *   g_phi = s * G                                       (theta = s * phi)
 *   g_phi *= min(1, clip / |g_phi|)                    (clipping, when clip > 0)
 *   g_phi += s * l1 * sign(theta)   on `l1` entries    (subgradient L1, the paper's)
 *   lr_e = lr * warmup(e) * schedule(e) * 0.5^(backtracks so far)
 *   Adam(beta1 0.9, beta2 0.999, eps 1e-8) moves phi;  fixed entries never move
 *   proximal L1: phi = sign(phi) max(|phi| - lr_e * l1 * s, 0) on `l1` entries
 *   theta = clamp(s * phi, lo, hi) */
void plast_meta_step(meta_state *S, const plast_net *N, const plast_train_opts *o, double **G, int e,
                     double *grad_norm, int *clipped)
{
    double norm2 = 0;
    for (int r = 0; r < N->n_rules; r++)
        for (int k = 0; k < N->rules[r].n_meta; k++) {
            if (N->rules[r].fixed[k]) continue;
            double gp = S->scale[r][k] * G[r][k];
            norm2 += gp * gp;
        }
    double norm = sqrt(norm2), factor = o->clip > 0 && norm > o->clip ? o->clip / norm : 1;
    *grad_norm = norm;
    *clipped = factor < 1;
    double lr = meta_learning_rate(o, e) * S->lr_factor;
    S->t++;
    double c1 = 1 - pow(0.9, S->t), c2 = 1 - pow(0.999, S->t);
    for (int r = 0; r < N->n_rules; r++) {
        const plast_rule *R = &N->rules[r];
        for (int k = 0; k < R->n_meta; k++) {
            if (R->fixed[k]) continue;
            double s = S->scale[r][k], gp = s * G[r][k] * factor;
            if (R->l1[k] && !o->l1_prox && S->theta[r][k] != 0) gp += s * o->l1 * (S->theta[r][k] > 0 ? 1 : -1);
            S->m[r][k] = 0.9 * S->m[r][k] + 0.1 * gp;
            S->v[r][k] = 0.999 * S->v[r][k] + 0.001 * gp * gp;
            S->phi[r][k] -= lr * (S->m[r][k] / c1) / (sqrt(S->v[r][k] / c2) + 1e-8);
            if (R->l1[k] && o->l1_prox) {
                double tau = lr * o->l1 * s, a = fabs(S->phi[r][k]);
                S->phi[r][k] = a <= tau ? 0 : (S->phi[r][k] > 0 ? a - tau : tau - a);
            }
            double th = s * S->phi[r][k];
            double lo = R->lo ? R->lo[k] : -INFINITY, hi = R->hi ? R->hi[k] : INFINITY;
            if (th < lo) { th = lo; S->phi[r][k] = lo / s; }
            if (th > hi) { th = hi; S->phi[r][k] = hi / s; }
            S->theta[r][k] = th;
        }
    }
}

/* ---- the meta-state handed from rank 0 to the others ---- */

static void pack_arrays(ranks_pack *p, const plast_net *N, double **a, int put)
{
    for (int r = 0; r < N->n_rules; r++) {
        size_t len = (size_t)N->rules[r].n_meta * sizeof(double);
        if (put) ranks_put(p, a[r], len);
        else ranks_get(p, a[r], len);
    }
}

/* Every number of S, in a fixed order (PUT: into P; else out of it). */
static void pack_state(ranks_pack *p, meta_state *S, const plast_net *N, int put)
{
    double **arrays[] = { S->theta, S->phi, S->m, S->v, S->scale, S->prev_theta, S->prev_phi, S->prev_m, S->prev_v };
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++) pack_arrays(p, N, arrays[i], put);
    long t[2] = { S->t, S->prev_t };
    int ints[2] = { S->episode, S->has_prev };
    if (put) { ranks_put(p, t, sizeof t); ranks_put(p, ints, sizeof ints); ranks_put(p, &S->lr_factor, sizeof(double)); }
    else {
        ranks_get(p, t, sizeof t); ranks_get(p, ints, sizeof ints); ranks_get(p, &S->lr_factor, sizeof(double));
        S->t = t[0], S->prev_t = t[1], S->episode = ints[0], S->has_prev = ints[1];
    }
}

int meta_state_share(meta_state *S, const plast_net *N, const plast_comm *c)
{
    if (ranks_size(c) == 1) return 0;
    ranks_pack p = { 0 };
    if (ranks_rank(c) == 0) pack_state(&p, S, N, 1);
    int rc = ranks_bcast_pack(c, &p, 0);
    if (rc == 0 && ranks_rank(c) != 0) pack_state(&p, S, N, 0);
    ranks_pack_free(&p);
    return rc;
}
