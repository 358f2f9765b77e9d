/* meta_state — the meta-parameters and the optimiser's state, and their
 * file form: DIR/meta-state.txt, one "index value phi m v scale" line per
 * meta-parameter, followed by the same four before the last meta-step (for
 * nonfinite backtrack), with %.17g (exact round trip), written atomically.
 * Version 1 files (without the lr factor and the previous state) still load.
 * The meta-step that moves the state is here too (plast_meta_step). */
#include "config.h"
#include "train_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double **meta_alloc(const plast_net *N)
{
    double **a = calloc((size_t)N->n_rules + 1, sizeof *a);
    for (int r = 0; r < N->n_rules; r++) a[r] = calloc((size_t)N->rules[r].n_meta + 1, sizeof(double));
    return a;
}

void meta_zero(const plast_net *N, double **a)
{
    for (int r = 0; r < N->n_rules; r++) memset(a[r], 0, (size_t)N->rules[r].n_meta * sizeof(double));
}

void meta_free(const plast_net *N, double **a)
{
    if (!a) return;
    for (int r = 0; r < N->n_rules; r++) free(a[r]);
    free(a);
}

int meta_state_init(meta_state *S, const plast_net *N, const plast_train_opts *o)
{
    memset(S, 0, sizeof *S);
    S->theta = meta_alloc(N); S->phi = meta_alloc(N); S->m = meta_alloc(N); S->v = meta_alloc(N);
    S->scale = meta_alloc(N);
    S->prev_theta = meta_alloc(N); S->prev_phi = meta_alloc(N); S->prev_m = meta_alloc(N); S->prev_v = meta_alloc(N);
    S->lr_factor = 1;
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

/* ---- the file ---- */

int meta_state_save(const meta_state *S, const plast_net *N, const char *dir, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/meta-state.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) { snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno)); return -1; }
    fprintf(f, "plast-meta-state 2\nepisode %d\nadam_steps %ld\nlr_factor %.17g\nprevious %d %ld\nrules %d\n",
            S->episode, S->t, S->lr_factor, S->has_prev, S->prev_t, N->n_rules);
    for (int r = 0; r < N->n_rules; r++) {
        fprintf(f, "rule %s %d\n", N->rules[r].name, N->rules[r].n_meta);
        for (int k = 0; k < N->rules[r].n_meta; k++)
            fprintf(f, "%d %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", k, S->theta[r][k], S->phi[r][k],
                    S->m[r][k], S->v[r][k], S->scale[r][k], S->prev_theta[r][k], S->prev_phi[r][k], S->prev_m[r][k],
                    S->prev_v[r][k]);
    }
    int bad = ferror(f);
    bad |= fflush(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

int meta_state_load(meta_state *S, const plast_net *N, const char *dir, char *err, size_t errlen)
{
    char path[4096], name[256];
    snprintf(path, sizeof path, "%s/meta-state.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "cannot resume: %s: %s", path, strerror(errno)); return -1; }
    int version = 0, n_rules = -1, ok = 1;
    ok &= fscanf(f, "plast-meta-state %d episode %d adam_steps %ld", &version, &S->episode, &S->t) == 3;
    if (ok && version == 2)   /* version 1 (before nonfinite backtrack) has neither */
        ok &= fscanf(f, " lr_factor %lg previous %d %ld", &S->lr_factor, &S->has_prev, &S->prev_t) == 3;
    ok &= fscanf(f, " rules %d", &n_rules) == 1;
    ok &= (version == 1 || version == 2) && n_rules == N->n_rules;
    for (int r = 0; ok && r < N->n_rules; r++) {
        int n_meta = -1;
        ok &= fscanf(f, " rule %255s %d", name, &n_meta) == 2;
        ok &= ok && !strcmp(name, N->rules[r].name) && n_meta == N->rules[r].n_meta;
        for (int k = 0; ok && k < n_meta; k++) {
            int idx;
            ok &= fscanf(f, "%d %lg %lg %lg %lg %lg", &idx, &S->theta[r][k], &S->phi[r][k], &S->m[r][k], &S->v[r][k],
                         &S->scale[r][k]) == 6 && idx == k;
            if (ok && version == 2)
                ok &= fscanf(f, "%lg %lg %lg %lg", &S->prev_theta[r][k], &S->prev_phi[r][k], &S->prev_m[r][k],
                             &S->prev_v[r][k]) == 4;
        }
    }
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, "cannot resume: %s is corrupt or belongs to another experiment", path);
        return -1;
    }
    return 0;
}
