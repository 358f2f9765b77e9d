/* sweep_plan — the reverse sweep's checkpoints: the dynamic programme of
 * sweep_plan.h (binomial checkpointing with leaves). */
#include "config.h"
#include "sweep_plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INF (1LL << 60)
enum { ALL_SPLITS = 512,   /* beyond this n, 512 evenly spaced split points */
       MAX_DP = 4096 };     /* beyond this T, two levels: the planning time grows as T times the splits tried */

static long long add3(long long a, long long b, long long c)
{
    return a >= INF || b >= INF || c >= INF ? INF : a + b + c;
}

/* The split points tried for n steps: every m in [1, n) up to ALL_SPLITS
 * steps, else every STRIDE-th and the last. */
static int next_split(int m, int n)
{
    int stride = n <= ALL_SPLITS ? 1 : (n + ALL_SPLITS - 1) / ALL_SPLITS;
    return m == n - 1 ? n : m + stride < n ? m + stride : n - 1;
}

/* Column s of F and G from the one before it: the costs in the rolling
 * columns cost[s % 2], the choices kept for every column. */
static void fill_column(sweep_plan *p, int s)
{
    long long *f = p->fc[s % 2], *g = p->gc[s % 2];
    const long long *f1 = p->fc[(s + 1) % 2], *g1 = p->gc[(s + 1) % 2];
    short *fm = p->fm[s], *gm = p->gm[s];
    f[0] = g[0] = 0; fm[0] = gm[0] = 0;
    for (int n = 1; n <= p->T; n++) {
        /* F: a leaf (n steps, the least there is), or a split; m > 1 needs
         * a second slot for the alternate steps, unless they run in place */
        int leaf_ok = !p->leaf_max || n <= p->leaf_max;
        long long best = leaf_ok && n - 1 + p->extra <= s ? n : INF;
        int choice = 0;
        for (int m = 1; s >= 1 && best > n && m < n && (m == 1 || s >= 2 || p->in_place); m = next_split(m, n)) {
            long long c = add3(m, f1[n - m], f[m]);
            if (c < best) { best = c; choice = m; }
        }
        f[n] = best; fm[n] = (short)choice;
        /* G: the loop runs these n steps anyway, in two of the slots (one in place) */
        int loop_ok = s >= (p->in_place ? 1 : 2);
        best = loop_ok ? f[n] : INF;
        choice = 0;
        if (p->free_leaf && leaf_ok && n <= s && loop_ok) { best = 0; choice = -1; }
        for (int m = 1; s >= 1 && best > 0 && m < n; m = next_split(m, n)) {
            long long c = add3(f[m], g1[n - m], 0);
            if (c < best) { best = c; choice = m; }
        }
        g[n] = best; gm[n] = (short)choice;
    }
}

static int grow(sweep_plan *p, int cols)
{
    size_t n = (size_t)p->T + 1;
    for (int c = 0; c < 2; c++) {
        if (!p->fc[c] && !(p->fc[c] = malloc(n * sizeof **p->fc))) return -1;
        if (!p->gc[c] && !(p->gc[c] = malloc(n * sizeof **p->gc))) return -1;
    }
    if (p->n_cols == 0)   /* "column -1": nothing reversible */
        for (size_t k = 0; k < n; k++) p->fc[1][k] = p->gc[1][k] = k ? INF : 0;
    short **fm = realloc(p->fm, (size_t)cols * sizeof *fm);
    if (fm) p->fm = fm;
    short **gm = fm ? realloc(p->gm, (size_t)cols * sizeof *gm) : NULL;
    if (gm) p->gm = gm;
    if (!gm) return -1;
    for (int s = p->n_cols; s < cols; s++) {
        p->fm[s] = malloc(n * sizeof **p->fm); p->gm[s] = malloc(n * sizeof **p->gm);
        p->n_cols = s + 1;
        if (!p->fm[s] || !p->gm[s]) return -1;
        fill_column(p, s);
        p->steps = p->gc[s % 2][p->T] >= INF ? INF : p->T + p->gc[s % 2][p->T];
    }
    return 0;
}

/* Two levels: checkpoints every K steps, leaves of K.  The slots: the
 * checkpoints and the loop's two buffers (one in place), or the checkpoints
 * before the last leaf and its states. */
static void plan_every(sweep_plan *p)
{
    int T = p->T, K = p->every;
    if (p->free_leaf && T <= K) { p->slots = T > 2 ? T : 2; p->steps = T; return; }
    int parts = (T + K - 1) / K, leaf = (K < T ? K : T) - 1 + p->extra;
    int loop = parts - 1 + (p->in_place ? 1 : 2), sweep = parts - 1 + leaf;
    p->slots = loop > sweep ? loop : sweep;
    p->steps = 2LL * T;
}

int plast_sweep_plan_make(sweep_plan *p, int T, int slots, int every, int extra, int free_leaf, int leaf_max,
                          int in_place)
{
    memset(p, 0, sizeof *p);
    p->in_place = in_place != 0;
    p->T = T > 0 ? T : 0;
    p->leaf_max = leaf_max > 0 ? leaf_max : 0;
    p->extra = extra != 0;
    p->free_leaf = free_leaf != 0;
    p->every = every > 0 ? every : 0;
    if (p->every) { plan_every(p); return 0; }
    int cap = p->T + 2;   /* more slots than this change nothing */
    if (slots > cap) slots = cap;
    if (p->T > MAX_DP) {   /* two levels: about 2 sqrt(T) slots */
        p->every = (int)ceil(sqrt((double)p->T));
        plan_every(p);
        return slots > 0 && p->slots > slots ? -1 : 0;
    }
    if (slots > 0) {
        if (grow(p, slots + 1) < 0) return -1;
        p->slots = slots;
    } else {   /* the fewest slots for at most 3 T forward steps */
        int s = 1;
        do if (grow(p, ++s + 1) < 0) return -1;
        while (p->steps > 3LL * p->T && s < cap);
        p->slots = s;
    }
    for (int c = 0; c < 2; c++) { free(p->fc[c]); free(p->gc[c]); p->fc[c] = p->gc[c] = NULL; }
    return p->steps >= INF ? -1 : 0;
}

void plast_sweep_plan_free(sweep_plan *p)
{
    for (int s = 0; s < p->n_cols; s++) { free(p->fm[s]); free(p->gm[s]); }
    for (int c = 0; c < 2; c++) { free(p->fc[c]); free(p->gc[c]); }
    free(p->fm); free(p->gm);
    memset(p, 0, sizeof *p);
}

int plast_sweep_plan_split(const sweep_plan *p, int n, int s)
{
    if (p->every) return 0;   /* every leaf is one part */
    return p->fm[s][n];
}

int plast_sweep_plan_top(const sweep_plan *p, int n, int s)
{
    if (p->every) return n > p->every ? p->every : (p->free_leaf && n == p->T ? -1 : 0);
    return p->gm[s][n];
}

/* Plans made once per shape and kept for the process: a meta-training run
 * asks for the same plan every episode, from any thread, and a long one
 * takes a good fraction of a second to make.  Kept plans are never changed
 * or freed, so readers need no lock; the list itself is guarded. */
enum { N_KEPT = 8 };
static sweep_plan kept[N_KEPT];
static int asked[N_KEPT][7], n_kept;

const sweep_plan *plast_sweep_plan_get(int T, int slots, int every, int extra, int free_leaf, int leaf_max,
                                       int in_place, sweep_plan *own)
{
    const int key[7] = { T, slots, every, extra != 0, free_leaf != 0, leaf_max, in_place != 0 };
    const sweep_plan *found = NULL;
    int key_failed = 0;   /* no such plan: making it again would fail again */
    #pragma omp critical(plast_sweep_plans)
    {
        for (int k = 0; k < n_kept && !found; k++)
            if (!memcmp(asked[k], key, sizeof key)) found = &kept[k];
        if (!found && n_kept < N_KEPT) {
            if (plast_sweep_plan_make(&kept[n_kept], T, slots, every, extra, free_leaf, leaf_max, in_place) == 0) {
                memcpy(asked[n_kept], key, sizeof key);
                found = &kept[n_kept++];
            } else {
                plast_sweep_plan_free(&kept[n_kept]);
                key_failed = 1;
            }
        }
    }
    if (found || key_failed) return found;
    if (plast_sweep_plan_make(own, T, slots, every, extra, free_leaf, leaf_max, in_place) == 0) return own;
    plast_sweep_plan_free(own);
    return NULL;
}
