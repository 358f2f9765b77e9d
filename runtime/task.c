/*
 * task.c -- N-way K-shot tasks, drawn reproducibly.
 *
 * The task of (seed, episode) on a data set, for given ways, K and Q:
 *
 *  1. R = plast_rng_stream(seed, episode, PLAST_RNG_TASK).
 *  2. Classes.  P = the classes that have samples, ascending, m = |P|.  The
 *     first `ways` steps of a forward Fisher-Yates shuffle of P with R:
 *       for i = 0 .. ways-1:  j = i + plast_rng_below(R, m - i);  swap P[i], P[j]
 *     Remapped label l stands for class P[l].
 *  3. Samples.  For l = 0 .. ways-1 in turn: S = the rows of class P[l],
 *     ascending, s = |S|; the first K+Q steps of the same forward shuffle of S
 *     with R (j = i + below(s - i)) pick S[0 .. K+Q).  The first K picked are
 *     training samples, the next Q query samples, in the order picked.
 *  4. Query set: label 0's Q samples in pick order, then label 1's, ...
 *  5. Training stream: the class-major list (label 0's K, then label 1's K, ...)
 *     reordered by perm = 0 .. ways*K-1 after
 *       plast_rng_shuffle(plast_rng_stream(seed, episode, PLAST_RNG_SHUFFLE), perm, ways*K);
 *     training row i is list entry perm[i].
 *
 * Steps 2 and 3 run a sparse Fisher-Yates that stores only the slots it has
 * swapped, which gives the same picks as shuffling the whole array, so a task
 * costs O(ways*(K+Q)) given a plast_class_index, however large the data set.
 */
#include "task.h"
#include "util.h"
#include "rng.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* malloc of count items of size bytes, never of 0 bytes (so NULL means no memory). */
static void *alloc_items(size_t count, size_t size)
{
    return malloc((count ? count : 1) * size);
}

static const char *dataset_name(const plast_dataset *d)
{
    return d->name ? d->name : "data set";
}

/* ======================================================================== */
/* Class index                                                              */
/* ======================================================================== */

/* Counting sort of rows by label: start[] = prefix sums of the counts. */
static void class_index_fill(const plast_dataset *d, plast_class_index *ci, size_t *next)
{
    size_t i;
    int c;

    for (i = 0; i < d->n; i++)
        ci->start[d->label[i] + 1]++;
    for (c = 0; c < ci->n_classes; c++) {
        ci->start[c + 1] += ci->start[c];
        next[c] = ci->start[c];
        if (ci->start[c + 1] > ci->start[c])
            ci->present[ci->n_present++] = c;
    }
    for (i = 0; i < d->n; i++)
        ci->sample[next[d->label[i]]++] = i;
}

int plast_class_index_build(const plast_dataset *d, plast_class_index *ci, char *err,
                            size_t errlen)
{
    size_t i, classes = d->n_classes > 0 ? (size_t)d->n_classes : 0;
    size_t *next;

    memset(ci, 0, sizeof *ci);
    for (i = 0; i < d->n; i++)
        if (d->label[i] < 0 || d->label[i] >= d->n_classes)
            return plast_fail(err, errlen, "%s: label %ld of row %zu is outside [0, %d)",
                        dataset_name(d), (long)d->label[i], i, d->n_classes);
    ci->n_classes = d->n_classes;
    ci->start = calloc(classes + 1, sizeof *ci->start);
    ci->sample = alloc_items(d->n, sizeof *ci->sample);
    ci->present = alloc_items(classes, sizeof *ci->present);
    next = alloc_items(classes, sizeof *next);
    if (!ci->start || !ci->sample || !ci->present || !next) {
        free(next);
        plast_class_index_free(ci);
        return plast_fail(err, errlen, "%s: out of memory for the class index", dataset_name(d));
    }
    class_index_fill(d, ci, next);
    free(next);
    return 0;
}

void plast_class_index_free(plast_class_index *ci)
{
    if (!ci)
        return;
    free(ci->start);
    free(ci->sample);
    free(ci->present);
    memset(ci, 0, sizeof *ci);
}

/* ======================================================================== */
/* Sparse Fisher-Yates                                                      */
/* ======================================================================== */
/* A virtual array a[p] = p over [0, n) of which only swapped slots are stored,
 * in an open-addressing table with at least twice as many slots as entries. */

#define SLOT_EMPTY ((size_t)-1)

typedef struct sparse_perm {
    size_t mask;  /* slots - 1, slots a power of two */
    int shift;    /* 64 - log2(slots), for Fibonacci hashing */
    size_t *key;  /* position, or SLOT_EMPTY */
    size_t *val;  /* a[position] */
} sparse_perm;

/* Room for up to max_entries swapped positions. */
static int sparse_init(sparse_perm *sp, size_t max_entries)
{
    size_t slots = 2;
    int bits = 1;

    while (slots < 2 * max_entries)
        slots *= 2, bits++;
    sp->mask = slots - 1, sp->shift = 64 - bits;
    sp->key = malloc(slots * sizeof *sp->key);
    sp->val = malloc(slots * sizeof *sp->val);
    return sp->key && sp->val ? 0 : -1;
}

static void sparse_free(sparse_perm *sp)
{
    free(sp->key);
    free(sp->val);
}

/* The table slot holding pos, or the empty slot where it would go. */
static size_t sparse_slot(const sparse_perm *sp, size_t pos)
{
    size_t h = (size_t)(((uint64_t)pos * UINT64_C(0x9e3779b97f4a7c15)) >> sp->shift);

    while (sp->key[h & sp->mask] != SLOT_EMPTY && sp->key[h & sp->mask] != pos)
        h++;
    return h & sp->mask;
}

/* out[i], i < m: the first m entries of a forward Fisher-Yates shuffle of
 * 0..n-1 (j = i + below(n - i); swap a[i], a[j]).  Needs m <= n. */
static void sparse_draw(sparse_perm *sp, plast_rng *r, size_t n, size_t m, size_t *out)
{
    size_t i, s;

    for (s = 0; s <= sp->mask; s++)
        sp->key[s] = SLOT_EMPTY;
    for (i = 0; i < m; i++) {
        size_t j = i + (size_t)plast_rng_below(r, n - i);
        size_t si = sparse_slot(sp, i);
        size_t ai = sp->key[si] == SLOT_EMPTY ? i : sp->val[si];
        size_t sj = sparse_slot(sp, j);

        out[i] = sp->key[sj] == SLOT_EMPTY ? j : sp->val[sj];
        sp->key[sj] = j, sp->val[sj] = ai; /* a[i] is never read again */
    }
}

/* ======================================================================== */
/* Tasks                                                                    */
/* ======================================================================== */

/* Can this data set give a (ways, K, Q) task at every episode? */
static int task_check(const plast_dataset *d, const plast_class_index *ci, int ways,
                      int k, int q, size_t m, char *err, size_t errlen)
{
    size_t need = (size_t)k + (size_t)q + m;
    int i;

    if (ways < 1 || k < 1 || q < 0)
        return plast_fail(err, errlen, "%s: a task needs ways >= 1, K >= 1 and Q >= 0 "
                    "(got ways=%d, K=%d, Q=%d)", dataset_name(d), ways, k, q);
    if ((size_t)ways * need > (size_t)INT_MAX)
        return plast_fail(err, errlen, "%s: a task of %d x %zu samples is too large",
                    dataset_name(d), ways, need);
    if (ci->n_present < ways)
        return plast_fail(err, errlen, "%s: %d-way tasks need %d classes, but the data set has "
                    "only %d", dataset_name(d), ways, ways, ci->n_present);
    for (i = 0; i < ci->n_present; i++) {
        int c = ci->present[i];
        size_t have = ci->start[c + 1] - ci->start[c];

        if (have < need && !m)
            return plast_fail(err, errlen, "%s: class %d has only %zu samples, but a task takes "
                        "K+Q = %zu of each class (K=%d, Q=%d)",
                        dataset_name(d), c, have, need, k, q);
        if (have < need)
            return plast_fail(err, errlen, "%s: class %d has only %zu samples, but a semi-supervised "
                        "task takes K+Q+M = %zu of each class (K=%d, Q=%d, and M=%zu unlabelled: "
                        "steps x unlabelled / ways)", dataset_name(d), c, have, need, k, q, m);
    }
    return 0;
}

/* Room for the task's rows, labels and indices; zeroed on failure. */
static int task_alloc(plast_task *t, int ways, int k, int q, size_t dim)
{
    size_t nt = (size_t)ways * (size_t)k, nq = (size_t)ways * (size_t)q;

    t->ways = ways, t->k_train = k, t->q_query = q, t->dim = dim, t->n_train = (int)nt;
    if (dim && (nt + nq) > (size_t)-1 / sizeof(double) / dim)
        return -1;
    t->x_train = alloc_items(nt * dim, sizeof *t->x_train);
    t->y_train = alloc_items(nt, sizeof *t->y_train);
    t->x_query = alloc_items(nq * dim, sizeof *t->x_query);
    t->y_query = alloc_items(nq, sizeof *t->y_query);
    t->classes = alloc_items((size_t)ways, sizeof *t->classes);
    t->train_index = alloc_items(nt, sizeof *t->train_index);
    t->query_index = alloc_items(nq, sizeof *t->query_index);
    if (!t->x_train || !t->y_train || !t->x_query || !t->y_query || !t->classes ||
        !t->train_index || !t->query_index) {
        plast_task_free(t);
        return -1;
    }
    return 0;
}

/* Steps 1-4: classes, then each class's K+Q picks; the K training picks go to
 * the class-major list `major`, the Q query picks straight to the task. */
static void task_draw(const plast_class_index *ci, plast_task *t, sparse_perm *sp,
                      uint64_t seed, uint64_t episode, size_t *picks, size_t *major,
                      size_t m, size_t *extra)
{
    plast_rng r = plast_rng_stream(seed, episode, PLAST_RNG_TASK);
    size_t k = (size_t)t->k_train, q = (size_t)t->q_query, i;
    int l;

    sparse_draw(sp, &r, (size_t)ci->n_present, (size_t)t->ways, picks);
    for (l = 0; l < t->ways; l++)
        t->classes[l] = ci->present[picks[l]];
    for (l = 0; l < t->ways; l++) {
        int c = t->classes[l];
        const size_t *rows = ci->sample + ci->start[c];

        if (m) {   /* the same shuffle, M steps further, from a copy of R: the task stays as it was */
            plast_rng more = r;
            sparse_draw(sp, &more, ci->start[c + 1] - ci->start[c], k + q + m, picks);
            for (i = 0; i < m; i++)
                extra[(size_t)l * m + i] = rows[picks[k + q + i]];
        }
        sparse_draw(sp, &r, ci->start[c + 1] - ci->start[c], k + q, picks);
        for (i = 0; i < k; i++)
            major[(size_t)l * k + i] = rows[picks[i]];
        for (i = 0; i < q; i++) {
            t->query_index[(size_t)l * q + i] = rows[picks[k + i]];
            t->y_query[(size_t)l * q + i] = l;
        }
    }
}

/* Step 5, then copy every sample's features out of the data set. */
static void task_fill(const plast_dataset *d, plast_task *t, uint64_t seed,
                      uint64_t episode, const size_t *major, int *perm)
{
    plast_rng r = plast_rng_stream(seed, episode, PLAST_RNG_SHUFFLE);
    size_t nt = (size_t)t->ways * (size_t)t->k_train;
    size_t nq = (size_t)t->ways * (size_t)t->q_query, i;

    for (i = 0; i < nt; i++)
        perm[i] = (int)i;
    plast_rng_shuffle(&r, perm, nt);
    for (i = 0; i < nt; i++) {
        t->train_index[i] = major[perm[i]];
        t->y_train[i] = (int32_t)((size_t)perm[i] / (size_t)t->k_train);
        plast_dataset_row(d, (size_t)t->train_index[i], t->x_train + i * d->dim);
    }
    for (i = 0; i < nq; i++)
        plast_dataset_row(d, (size_t)t->query_index[i], t->x_query + i * d->dim);
}

/* The task, and with M > 0 also M more rows of each class (class-major,
 * ways*M) into *EXTRA (malloc'ed): the unlabelled pool. */
static int sample_task(const plast_dataset *d, const plast_class_index *ci, int ways, int k, int q,
                       size_t m, uint64_t seed, uint64_t episode, plast_task *out, size_t **extra,
                       char *err, size_t errlen)
{
    size_t need, nt, most;
    sparse_perm sp = {0};
    size_t *picks, *major;
    int *perm, rc = 0;

    memset(out, 0, sizeof *out);
    if (task_check(d, ci, ways, k, q, m, err, errlen))
        return -1;
    need = (size_t)k + (size_t)q + m, nt = (size_t)ways * (size_t)k;
    most = need > (size_t)ways ? need : (size_t)ways;
    picks = alloc_items(most, sizeof *picks);
    major = alloc_items(nt, sizeof *major);
    perm = alloc_items(nt, sizeof *perm);
    if (extra)
        *extra = alloc_items((size_t)ways * m, sizeof **extra);
    if (!picks || !major || !perm || (extra && !*extra) || sparse_init(&sp, most) ||
        task_alloc(out, ways, k, q, d->dim)) {
        rc = plast_fail(err, errlen, "%s: out of memory for a %d-way task", dataset_name(d), ways);
        if (extra) {
            free(*extra);
            *extra = NULL;
        }
    } else {
        task_draw(ci, out, &sp, seed, episode, picks, major, m, extra ? *extra : NULL);
        task_fill(d, out, seed, episode, major, perm);
    }
    sparse_free(&sp);
    free(picks), free(major), free(perm);
    return rc;
}

int plast_task_sample_indexed(const plast_dataset *d, const plast_class_index *ci,
                              int ways, int k, int q, uint64_t seed, uint64_t episode,
                              plast_task *out, char *err, size_t errlen)
{
    double *none;
    if (d->family.kind != PLAST_FAMILY_NONE)
        return plast_family_task(d, ways, k, q, 0, seed, episode, out, &none, err, errlen);
    return sample_task(d, ci, ways, k, q, 0, seed, episode, out, NULL, err, errlen);
}

int plast_task_sample(const plast_dataset *d, int ways, int k, int q, uint64_t seed,
                      uint64_t episode, plast_task *out, char *err, size_t errlen)
{
    plast_class_index ci;
    int rc;

    memset(out, 0, sizeof *out);
    if (plast_class_index_build(d, &ci, err, errlen))
        return -1;
    rc = plast_task_sample_indexed(d, &ci, ways, k, q, seed, episode, out, err, errlen);
    plast_class_index_free(&ci);
    return rc;
}

void plast_task_free(plast_task *t)
{
    if (!t)
        return;
    free(t->x_train);
    free(t->y_train);
    free(t->x_query);
    free(t->y_query);
    free(t->classes);
    free(t->train_index);
    free(t->query_index);
    memset(t, 0, sizeof *t);
}

/* ======================================================================== */
/* Semi-supervised streams (task.h)                                         */
/* ======================================================================== */

/* The stream of SP: STEPS batches of BATCH rows, the first BATCH - U
 * labelled (the task's training rows in turn), the last U the rows of XU in
 * order (label -1; XU_INDEX their data-set rows, or NULL: generated).  It
 * replaces the task's x_train, y_train and train_index. */
static int build_stream(plast_task *t, const plast_task_spec *sp, const double *xu, const size_t *xu_index)
{
    size_t n = (size_t)sp->steps * (size_t)sp->batch, dim = t->dim, nl = (size_t)t->n_train;
    size_t labelled = (size_t)(sp->batch - sp->unlabelled), next_l = 0, next_u = 0;
    double *x = alloc_items(n * dim, sizeof *x);
    int32_t *y = alloc_items(n, sizeof *y);
    size_t *index = alloc_items(n, sizeof *index);

    if (!x || !y || !index) {
        free(x), free(y), free(index);
        return -1;
    }
    for (size_t row = 0; row < n; row++) {
        if (row % (size_t)sp->batch < labelled) {
            size_t src = next_l++ % nl;
            memcpy(x + row * dim, t->x_train + src * dim, dim * sizeof *x);
            y[row] = t->y_train[src];
            index[row] = t->train_index[src];
        } else {
            memcpy(x + row * dim, xu + next_u * dim, dim * sizeof *x);
            y[row] = -1;
            index[row] = xu_index ? xu_index[next_u] : SIZE_MAX;
            next_u++;
        }
    }
    free(t->x_train), free(t->y_train), free(t->train_index);
    t->x_train = x, t->y_train = y, t->train_index = index, t->n_train = (int)n;
    return 0;
}

/* The unlabelled rows of a data-set task: its ways*M extra rows shuffled
 * with the UNLABELLED stream, the first COUNT of them. */
static int dataset_unlabelled(const plast_dataset *d, const size_t *extra, size_t pool, size_t count,
                              uint64_t seed, uint64_t episode, double **xu, size_t **index)
{
    plast_rng r = plast_rng_stream(seed, episode, PLAST_RNG_UNLABELLED);
    int *perm = alloc_items(pool, sizeof *perm);

    *xu = alloc_items(count * d->dim, sizeof **xu);
    *index = alloc_items(count, sizeof **index);
    if (!perm || !*xu || !*index) {
        free(perm);
        return -1;
    }
    for (size_t i = 0; i < pool; i++)
        perm[i] = (int)i;
    plast_rng_shuffle(&r, perm, pool);
    for (size_t i = 0; i < count; i++) {
        (*index)[i] = extra[perm[i]];
        plast_dataset_row(d, (*index)[i], *xu + i * d->dim);
    }
    free(perm);
    return 0;
}

static int spec_check(const plast_dataset *d, const plast_task_spec *sp, char *err, size_t errlen)
{
    if (sp->unlabelled < 0 || (sp->unlabelled > 0 && (sp->unlabelled >= sp->batch || sp->steps < 1)))
        return plast_fail(err, errlen, "%s: a semi-supervised batch holds U unlabelled samples with "
                          "0 < U < batch, over at least one step (got U=%d, batch %d, %d steps)",
                          dataset_name(d), sp->unlabelled, sp->batch, sp->steps);
    if (sp->unlabelled > 0 && (size_t)sp->steps * (size_t)sp->batch > (size_t)INT_MAX / 2)
        return plast_fail(err, errlen, "%s: a stream of %d steps of %d samples is too long",
                          dataset_name(d), sp->steps, sp->batch);
    return 0;
}

int plast_task_draw(const plast_dataset *d, const plast_class_index *ci, const plast_task_spec *sp,
                    uint64_t seed, uint64_t episode, plast_task *out, char *err, size_t errlen)
{
    size_t count = sp->unlabelled > 0 ? (size_t)sp->steps * (size_t)sp->unlabelled : 0;
    size_t m = count ? (count + (size_t)sp->ways - 1) / (size_t)sp->ways : 0;
    size_t *extra = NULL, *index = NULL;
    double *xu = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (spec_check(d, sp, err, errlen))
        return -1;
    if (d->family.kind != PLAST_FAMILY_NONE)
        rc = plast_family_task(d, sp->ways, sp->k_train, sp->q_query, (int)count, seed, episode, out,
                               &xu, err, errlen);
    else
        rc = sample_task(d, ci, sp->ways, sp->k_train, sp->q_query, m, seed, episode, out,
                         count ? &extra : NULL, err, errlen);
    if (rc == 0 && count && d->family.kind == PLAST_FAMILY_NONE &&
        dataset_unlabelled(d, extra, (size_t)sp->ways * m, count, seed, episode, &xu, &index) < 0)
        rc = plast_fail(err, errlen, "%s: out of memory for the unlabelled samples", dataset_name(d));
    if (rc == 0 && count && build_stream(out, sp, xu, index) < 0)
        rc = plast_fail(err, errlen, "%s: out of memory for the training stream", dataset_name(d));
    if (rc)
        plast_task_free(out);
    free(extra), free(index), free(xu);
    return rc;
}
