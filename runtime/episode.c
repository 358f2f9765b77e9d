/* episode — one meta-training episode run from the network's schedule: the
 * inner loop, the eval meta-loss, and its exact gradient with respect to the
 * rules' meta-parameters (and the initial state and parameters) by a
 * reverse sweep through the unrolled loop.
 *
 * The schedule (plast.h) is the whole program: inner step t loads batch t of
 * the training stream into the DATA buffers and runs the step's calls in
 * order; an update call writes the next version of its STATE buffer
 * (w_next = w + dw in the pass that computes dw; dw is never stored), and
 * the versions swap after the step, or (plan_in_place) the next version is
 * written over the state where nothing reads the old one.  The eval calls then run once on the
 * query batch with the final state; the meta-loss is the mean of their
 * per-sample loss over the samples that count (mask).
 *
 * Reverse sweep: each call's generated adjoint, in the exact reverse order of
 * the calls.  adj(S) flows from the eval loss back through every step.  For
 * an update call of state k, S_{t+1} = S_t + dw(S_t, ...), so the identity
 * passes adj(S_{t+1}) to adj(S_t) and the rule's adjoint, seeded with
 * adj_dw = adj(S_{t+1}), adds dw's dependences and d meta_loss / d meta.
 * When no call of the step reads S_{t+1} (the usual case: updates come last)
 * the identity is free: adj(S_t) starts as adj(S_{t+1}) in place.  When later
 * calls read it (updates inside the forward pass), adj(S_{t+1}) is gathered
 * apart and added at the update.
 *
 * Memory: the sweep is binomial checkpointing in a fixed number of state
 * slots (sweep_plan.h): a split stores a state it runs forward to, a leaf
 * runs its steps again keeping every state and the signals; a range's first
 * state is its parent's, never a copy.
 *
 * Precision: the buffers hold the element type of the net's kernels
 * (net->precision), double or float; E->esz is its size.  This file is a
 * driver: the arithmetic is in the kernels, and the values are touched here
 * only in a few typed helpers (section "values": loading samples, the probe
 * of term sizes, the finiteness checks, the loss and argmax, and the
 * conversions at the API boundary, where initial values, meta and the results
 * are double).  Every other function moves buffers by element offsets
 * (at()), so one compiled copy serves both precisions.  In single precision
 * the meta-parameters are converted to float once, and the rules' adjoints
 * accumulate one step's d meta_loss / d meta in float, added to the double
 * gradient after each step; the meta-loss is summed in double.
 */
#include "config.h"
#include "plast.h"
#include "kcall.h"
#include "sweep_plan.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Where a kernel argument lives: the region, and the element offset in it
 * (for REG_SIG and REG_ADJ_SIG, in values per sample: times the batch). */
typedef enum {
    REG_STATE, REG_NEXT, REG_PARAM, REG_CONST, REG_SIG, REG_SIG_NEXT, REG_META,
    REG_ADJ_STATE, REG_ADJ_NEXT, REG_ADJ_PARAM, REG_ADJ_SIG, REG_GRAD, REG_DW, REG_JUNK
} region;

typedef struct bref { const char *name; region reg; size_t off; } bref;

/* A call's bindings, resolved once: the forward's, and the adjoint's
 * (the forward's plus adj_<arg> for each, adj_dw and adj_meta). */
typedef struct call_plan {
    const plast_call *c;
    bref *fwd, *adj;
    int n_fwd, n_adj;
    char **names;            /* owned "adj_<arg>" strings */
    int n_names;
    short *fwd_map, *adj_map;  /* the kernels' arguments' indices in fwd, adj (plast_kcall_map); NULL: by name */
    short *fused_map;          /* the fused kernel's (plast_call.fused) in fwd */
} call_plan;

typedef struct ep {
    const plast_net *net;
    const plast_schedule *S;
    const plast_episode_data *data;
    const plast_episode_opts *opts;   /* NULL for the probe of term sizes */
    plast_episode_out *out;
    int single;                /* float buffers and kernels */
    size_t esz;                /* bytes per element: 8 or 4 */
    size_t *off;               /* [n_buf] offset in its region (state, param, const vector; per-sample signal block) */
    size_t state_total, param_total, const_total, sig_cols;
    size_t eval_cols;          /* the signals the eval binds come first: the query batch's blocks hold only them */
    unsigned char *next_read;  /* [n_buf] 1: a later call of the step reads the state's next version */
    unsigned char *unread;     /* [n_step] 1: a call whose outputs nobody reads (prune_step): not run */
    unsigned char *seed_copy;  /* [n_buf] 1: a state whose update's adjoint reads adj(S_{t+1}) after some
                                  adjoint wrote adj(S_t) of it (seed_in_place): copied to adj_next */
    int any_next_read;
    int fusing;                /* a step's update calls also run the next step's calls fused_away (plast_call.fused) */
    int in_place;              /* a run that keeps no earlier state updates it in place (plan_in_place) */
    unsigned char *fused_away; /* [n_step] 1: a call that the step before ran, when it ran fused */
    call_plan *step, *eval;
    void *param, *cnst;        /* the PARAM and CONST vectors, in the element type */
    const void *meta;          /* the meta of the call being bound (set per call) */
    const void **rule_meta;    /* [n_rules] in the element type */
    void **gstep;              /* single: one step's d meta_loss / d meta per rule */
    double **grad;             /* [n_rules] the double gradient */
    void *adj_param;           /* d meta_loss / d PARAM, accumulated over the episode */
    void *adj_next;            /* d meta_loss / d S_{t+1}: the update calls' seed */
    void *adj_sig;             /* the signals' adjoints of one step (max batch) */
    void *dw_out;              /* where a dw kernel writes (the probe of term sizes), like the state */
    int max_batch;
    kscratch scratch;          /* kernels' scratch, grown on demand */
    void *junk;                /* outputs nobody reads */
    void *part_sig;            /* the signals of a step the sweep runs to a split's state (reverse_range) */
    const double *const *init; /* the initial values, double (diverged() runs the loop again from them) */
    const sweep_plan *plan;    /* where the sweep keeps states (with want_grad) */
    void *slot_pool;           /* the state slots (slots_open) */
    size_t slot_stride;        /* elements from one slot to the next */
    int *slot_free, n_free;    /* the free slots' indices */
    void **leaf_slot;          /* the states of the leaf being swept */
    size_t junk_elems;
    double bytes, peak;        /* allocated now and at most, for the memory report */
    char *cache[8];            /* released mappings kept for reuse (see alloc) */
    int ending;                /* teardown with opts.keep_buffers: released mappings go to the thread's spares */
    double **signals_out;      /* out->signals while the final eval runs, else NULL */
    int profiling;             /* PLASTCC_PROFILE set: time every kernel call */
    int n_prof;
    struct prof_row { const char *name; int n_pre, n_post; double sec; long calls; } prof[160];
} ep;

/* The pointers of one binding context: the state versions and signals a
 * call sees, and their adjoints. */
typedef struct frame {
    void *state, *next, *sig;  /* sig: this step's signal block */
    void *adj_state, *adj_sig;
    int batch;
    void *sig_next;            /* the next step's signal block, for a fused call; or NULL */
} frame;

static void fail(ep *E, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(E->out->what, sizeof E->out->what, fmt, ap);
    va_end(ap);
}

/* Element K of buffer P. */
static void *at(const ep *E, const void *p, size_t k)
{
    return (char *)p + k * E->esz;
}

/* Episode buffers come straight from mmap and go back with munmap, so the
 * process's peak memory is what the sweep holds at once, not what malloc's
 * arenas kept from earlier segments.  A 64-byte header keeps the size.
 *
 * The sweep allocates the same few sizes over and over (every leaf its
 * segment, every part its dW and signals): a fresh mapping faults every page
 * in again, which took a sixth of an episode's time.  So the last few
 * released mappings are kept and an allocation reuses the smallest that
 * holds it, if at most twice its size (zeroed again, as calloc; a leaf's
 * segment of 5 states fits in the 6 of the one before).  Kept mappings
 * still count in the byte total (their whole size), so the reported peak
 * stays what the process holds, and they are unmapped before a new mapping
 * would raise that peak.  New mappings are populated at once (every page
 * of a buffer is written, and one call maps them all for a fraction of what
 * a fault each costs: 10-20 us on a virtual machine, 0.2 s of a 0.75 s fa
 * episode), those of 2 MB or more in whole transparent huge pages where the
 * system allows them (madvise mode): a 250-step pool episode of mlp5 took
 * 0.44-0.48 s so against 0.56-0.58 s with 4 kB pages (PLASTCC_NO_HUGE=1)
 * and 0.70-0.77 s with a fault per page. */
enum { HDR = 64, N_CACHE = sizeof ((ep *)0)->cache / sizeof(char *), N_SPARE = 32 };

/* What an episode with opts.keep_buffers held at its end, kept for the
 * next episode of the same thread: the joint scheme runs one short episode
 * per minibatch, and mapping its buffers afresh faulted every page in again
 * each time (about 800 faults per HAT minibatch, 10-20 us each on a virtual
 * machine).  The next episode takes the spares of the sizes it allocates;
 * before it maps more, it unmaps spares so that the process never holds
 * more than the larger of the two episodes' peaks; and if it does not keep
 * its own buffers, it unmaps the rest at its end. */
static __thread char *spare[N_SPARE];
static __thread double spare_bytes, spare_peak;   /* their total; the peak of the episode that left them */

static size_t mapping_bytes(const char *p)
{
    size_t bytes;
    memcpy(&bytes, p, sizeof bytes);
    return bytes;
}

static void unmap(ep *E, char *p)
{
    size_t bytes = mapping_bytes(p);
    munmap(p, bytes);
    E->bytes -= (double)bytes;
}

/* Of the mappings LIST[0..n), the smallest that holds BYTES, if at most
 * twice as large; -1 if none. */
static int best_fit(char *const *list, int n, size_t bytes)
{
    int fit = -1;
    for (int c = 0; c < n; c++)
        if (list[c] && mapping_bytes(list[c]) >= bytes && mapping_bytes(list[c]) / 2 <= bytes &&
            (fit < 0 || mapping_bytes(list[c]) < mapping_bytes(list[fit])))
            fit = c;
    return fit;
}

/* A zeroed, populated mapping of *BYTES; from 2 MB up, of whole 2 MB
 * pages (*BYTES rounded up) on transparent huge pages where the system
 * allows them. */
static char *map_buffer(size_t *bytes)
{
    const size_t huge = (size_t)2 << 20;
    const char *no = getenv("PLASTCC_NO_HUGE");
    if (*bytes < huge || (no && *no && strcmp(no, "0")))
        return mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    size_t len = (*bytes + huge - 1) & ~(huge - 1);
    char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return raw;
    char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (p > raw) munmap(raw, (size_t)(p - raw));
    if (raw + len + huge > p + len) munmap(p + len, (size_t)(raw + len + huge - (p + len)));
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE   /* Linux 5.14; without it, or where it fails, the pages fault in as written */
    madvise(p, len, MADV_POPULATE_WRITE);
#endif
    *bytes = len;
    return p;
}

/* A buffer of ELEMS elements, zeroed when ZERO (a fresh mapping is zero
 * anyway; a reused one is cleared only for buffers that are not written
 * whole before they are read). */
static void *alloc_buffer(ep *E, size_t elems, int zero)
{
    size_t bytes = HDR + (elems ? elems : 1) * E->esz;
    int fit = best_fit(E->cache, N_CACHE, bytes);
    if (fit >= 0) {
        char *p = E->cache[fit];
        E->cache[fit] = NULL;
        if (zero) memset(p + HDR, 0, bytes - HDR);
        return p + HDR;
    }
    if ((fit = best_fit(spare, N_SPARE, bytes)) >= 0) {
        char *p = spare[fit];
        spare[fit] = NULL;
        spare_bytes -= (double)mapping_bytes(p);
        if (zero) memset(p + HDR, 0, bytes - HDR);
        E->bytes += (double)mapping_bytes(p);
        if (E->bytes > E->peak) E->peak = E->bytes;
        return p + HDR;
    }
    /* spares never raise the process above the larger of the peaks of
     * this episode and the one that left them: the last-kept go first */
    double limit = E->peak > spare_peak ? E->peak : spare_peak;
    for (int c = N_SPARE - 1; c >= 0 && E->bytes + spare_bytes + (double)bytes > limit; c--)
        if (spare[c]) {
            spare_bytes -= (double)mapping_bytes(spare[c]);
            munmap(spare[c], mapping_bytes(spare[c]));
            spare[c] = NULL;
        }
    /* kept mappings never raise the peak: the oldest go before it would */
    for (int c = N_CACHE - 1; c >= 0 && E->bytes + (double)bytes > E->peak; c--)
        if (E->cache[c]) { unmap(E, E->cache[c]); E->cache[c] = NULL; }
    char *p = map_buffer(&bytes);
    if (p == MAP_FAILED) return NULL;
    memcpy(p, &bytes, sizeof bytes);
    E->bytes += (double)bytes;
    if (E->bytes > E->peak) E->peak = E->bytes;
    return p + HDR;   /* zero-filled, as calloc */
}

static void *alloc(ep *E, size_t elems) { return alloc_buffer(E, elems, 1); }

/* A buffer of ELEMS elements whose pages come in only as they are written:
 * the junk target of outputs nobody reads, sized for the largest buffer
 * (a weight matrix) but written, in the usual schedule, by a few vectors;
 * populated, it was a megabyte of the episode's peak for nothing. */
static void *alloc_lazy(ep *E, size_t elems)
{
    size_t bytes = HDR + (elems ? elems : 1) * E->esz;
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    memcpy(p, &bytes, sizeof bytes);
    E->bytes += (double)bytes;
    if (E->bytes > E->peak) E->peak = E->bytes;
    return p + HDR;
}


/* Returns what alloc gave to the cache (the oldest kept mapping makes room),
 * keeping the byte count (and so the peak) right; at the episode's end, to
 * the thread's spares. */
static void release(ep *E, void *ptr)
{
    if (!ptr) return;
    char *p = (char *)ptr - HDR;
    if (E->ending) {
        for (int c = 0; c < N_SPARE; c++)
            if (!spare[c]) {
                spare[c] = p;
                spare_bytes += (double)mapping_bytes(p);
                E->bytes -= (double)mapping_bytes(p);
                return;
            }
        unmap(E, p);
        return;
    }
    if (E->cache[N_CACHE - 1]) unmap(E, E->cache[N_CACHE - 1]);
    memmove(E->cache + 1, E->cache, (N_CACHE - 1) * sizeof *E->cache);   /* newest first */
    E->cache[0] = p;
}

/* Unmaps the kept mappings, or hands them on to the thread's spares (release). */
static void release_cache(ep *E)
{
    for (int c = 0; c < N_CACHE; c++) {
        if (!E->cache[c]) continue;
        if (E->ending) release(E, E->cache[c] + HDR);
        else unmap(E, E->cache[c]);
        E->cache[c] = NULL;
    }
}

/* ---- values: the only code that reads or writes elements ---- */

static void copy_elems(const ep *E, void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n * E->esz);
}

/* dst = (real) src */
static void from_double(const ep *E, void *dst, const double *src, size_t n)
{
    if (!E->single) { memcpy(dst, src, n * sizeof(double)); return; }
    float *d = dst;
    for (size_t k = 0; k < n; k++) d[k] = (float)src[k];
}

/* dst = (double) src */
static void to_double(const ep *E, double *dst, const void *src, size_t n)
{
    if (!E->single) { memcpy(dst, src, n * sizeof(double)); return; }
    const float *s = src;
    for (size_t k = 0; k < n; k++) dst[k] = s[k];
}

static double get(const ep *E, const void *p, size_t k)
{
    return E->single ? ((const float *)p)[k] : ((const double *)p)[k];
}

static void set(const ep *E, void *p, size_t k, double v)
{
    if (E->single) ((float *)p)[k] = (float)v;
    else ((double *)p)[k] = v;
}

/* dst += src */
static void add_elems(const ep *E, void *dst, const void *src, size_t n)
{
    if (E->single) {
        float *restrict d = dst;
        const float *restrict s = src;
        for (size_t k = 0; k < n; k++) d[k] += s[k];
    } else {
        double *restrict d = dst;
        const double *restrict s = src;
        for (size_t k = 0; k < n; k++) d[k] += s[k];
    }
}

/* 1 when no element is NaN or Inf: x * 0 is 0 for the others, NaN for
 * those, and a sum of zeros stays 0 in any order while a NaN stays NaN, so
 * `omp simd` may split the sum over the lanes (at -O2 the compare-and-OR
 * form stayed scalar for doubles: 11% of an fa episode).  Cloned for the
 * host's vector width: SSE2's two lanes ran mlp5's 1.43 MB state in 55 us,
 * AVX-512's eight in 28 (once per inner step). */
#if HAVE_TARGET_CLONES
#define HOST_VECTORS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOST_VECTORS
#endif

HOST_VECTORS static int all_finite_d(const double *restrict d, size_t n)
{
    double s = 0;
    #pragma omp simd reduction(+:s)
    for (size_t k = 0; k < n; k++) s += d[k] * 0;
    return s == 0;
}

HOST_VECTORS static int all_finite_f(const float *restrict f, size_t n)
{
    float s = 0;
    #pragma omp simd reduction(+:s)
    for (size_t k = 0; k < n; k++) s += f[k] * 0.0f;
    return s == 0;
}

static int all_finite(const ep *E, const void *v, size_t n)
{
    return E->single ? all_finite_f(v, n) : all_finite_d(v, n);
}

/* ---- the layout of the buffers ---- */

static size_t buf_elems(const plast_buf *b)
{
    return (size_t)b->rows * (size_t)b->cols;
}

/* Offsets of every buffer in its region, the next-version readers, and the
 * sizes; -1 with a message for a schedule the engine cannot run. */
static int layout(ep *E)
{
    const plast_schedule *S = E->S;
    int *updates = calloc((size_t)S->n_buf + 1, sizeof *updates);
    E->off = calloc((size_t)S->n_buf + 1, sizeof *E->off);
    E->next_read = calloc((size_t)S->n_buf + 1, 1);
    if (!updates || !E->off || !E->next_read) { free(updates); fail(E, "out of memory"); return -1; }
    /* signals no eval call binds (the errors, the rules' reads of other
     * steps) after the others, so that the query batch's blocks, a hundred
     * samples each, need not hold them */
    unsigned char *in_eval = calloc((size_t)S->n_buf + 1, 1);
    if (!in_eval) { free(updates); fail(E, "out of memory"); return -1; }
    for (int c = 0; c < S->n_eval; c++)
        for (int k = 0; k < S->eval[c].n_bind; k++)
            if (S->eval[c].bind[k].buf >= 0 && S->eval[c].bind[k].buf < S->n_buf) in_eval[S->eval[c].bind[k].buf] = 1;
    int special[4] = { S->x, S->target, S->mask, S->loss };
    for (int q = 0; q < 4; q++) if (special[q] >= 0 && special[q] < S->n_buf) in_eval[special[q]] = 1;
    for (int pass = 0; pass < 2; pass++) {
        for (int b = 0; b < S->n_buf; b++) {
            const plast_buf *B = &S->buf[b];
            int sig = B->kind == PLAST_BUF_DATA || B->kind == PLAST_BUF_SIGNAL;
            if (pass != (sig && !in_eval[b])) continue;
            size_t *total = B->kind == PLAST_BUF_STATE ? &E->state_total : B->kind == PLAST_BUF_PARAM ? &E->param_total
                          : B->kind == PLAST_BUF_CONST ? &E->const_total : &E->sig_cols;
            E->off[b] = *total;
            *total += sig ? (size_t)B->cols : buf_elems(B);
        }
        if (pass == 0) E->eval_cols = E->sig_cols;
    }
    free(in_eval);
    int rc = 0;
    for (int c = 0; c < S->n_step && rc == 0; c++) {
        const plast_call *C = &S->step[c];
        if (C->update >= 0) {
            if (C->update >= S->n_buf || S->buf[C->update].kind != PLAST_BUF_STATE) rc = -1;
            else updates[C->update]++;
        }
        for (int k = 0; k < C->n_bind && rc == 0; k++)
            if (C->bind[k].next && C->update != C->bind[k].buf && C->bind[k].buf >= 0 && C->bind[k].buf < S->n_buf &&
                S->buf[C->bind[k].buf].kind == PLAST_BUF_STATE)
                E->next_read[C->bind[k].buf] = 1;
    }
    for (int b = 0; b < S->n_buf && rc == 0; b++) {
        if (S->buf[b].kind == PLAST_BUF_STATE && updates[b] != 1) {
            fail(E, "state %s has %d update calls in a step; it needs exactly one", S->buf[b].name, updates[b]);
            rc = -1;
        }
        E->any_next_read |= E->next_read[b];
    }
    if (rc < 0 && !E->out->what[0]) fail(E, "an update call of the schedule writes no state buffer");
    free(updates);
    return rc;
}

/* ---- binding plans ---- */

static region adj_region(int kind, int next)
{
    switch (kind) {
    case PLAST_BUF_STATE: return next ? REG_ADJ_NEXT : REG_ADJ_STATE;
    case PLAST_BUF_PARAM: return REG_ADJ_PARAM;
    case PLAST_BUF_SIGNAL: return next ? REG_JUNK : REG_ADJ_SIG;   /* the next step's: no adjoint here */
    default: return REG_JUNK;   /* data and constants have no adjoint */
    }
}

static region val_region(int kind, int next)
{
    switch (kind) {
    case PLAST_BUF_STATE: return next ? REG_NEXT : REG_STATE;
    case PLAST_BUF_PARAM: return REG_PARAM;
    case PLAST_BUF_CONST: return REG_CONST;
    default: return next ? REG_SIG_NEXT : REG_SIG;
    }
}

/* Where each argument of kernel K finds its binding in REFS[0..n), matched
 * by name once (thousands of calls an episode did it by strcmp each time);
 * NULL when it cannot be (no K, names repeated): kcall matches by name. */
static short *arg_map(const plast_kdesc *k, const bref *refs, int n)
{
    const char *names[2 * 96 + 4];
    if (!k || n > (int)(sizeof names / sizeof names[0])) return NULL;
    for (int q = 0; q < n; q++) names[q] = refs[q].name;
    short *map = malloc(((size_t)k->n_arg + 1) * sizeof *map);
    if (map && plast_kcall_map(k, names, n, map) < 0) { free(map); map = NULL; }
    return map;
}

/* The forward and adjoint bindings of call C. */
static int plan_call(ep *E, const plast_call *C, call_plan *P)
{
    const plast_schedule *S = E->S;
    P->c = C;
    P->fwd = calloc((size_t)C->n_bind + 2, sizeof *P->fwd);
    P->adj = calloc(2 * (size_t)C->n_bind + 4, sizeof *P->adj);
    P->names = calloc((size_t)C->n_bind + 1, sizeof *P->names);
    if (!P->fwd || !P->adj || !P->names) return -1;
    for (int k = 0; k < C->n_bind; k++) {
        const plast_bind *b = &C->bind[k];
        if (b->buf < 0 || b->buf >= S->n_buf) { fail(E, "a call binds '%s' to no buffer", b->arg); return -1; }
        int kind = S->buf[b->buf].kind;
        bref v = { b->arg, val_region(kind, b->next), E->off[b->buf] };
        P->fwd[P->n_fwd++] = v;
        P->adj[P->n_adj++] = v;
        size_t len = strlen(b->arg) + 5;
        char *name = malloc(len);
        if (!name) return -1;
        snprintf(name, len, "adj_%s", b->arg);
        P->names[P->n_names++] = name;
        P->adj[P->n_adj++] = (bref){ name, adj_region(kind, b->next), E->off[b->buf] };
    }
    if (C->rule >= 0) {
        P->fwd[P->n_fwd++] = (bref){ "meta", REG_META, 0 };
        P->adj[P->n_adj++] = (bref){ "meta", REG_META, 0 };
        P->adj[P->n_adj++] = (bref){ "adj_meta", REG_GRAD, 0 };
    }
    if (C->update >= 0) P->adj[P->n_adj++] = (bref){ "adj_dw", REG_ADJ_NEXT, E->off[C->update] };
    P->fwd_map = arg_map(C->fwd, P->fwd, P->n_fwd);
    P->fused_map = C->fused ? arg_map(C->fused, P->fwd, P->n_fwd) : NULL;
    P->adj_map = arg_map(C->adj, P->adj, P->n_adj);
    return 0;
}

/* The role of kernel K's argument NAME (plast_karg_desc), -1 if it has none. */
static int arg_role(const plast_kdesc *k, const char *name)
{
    for (int a = 0; k && a < k->n_arg; a++)
        if (!strcmp(k->arg[a].name, name)) return k->arg[a].role;
    return -1;
}

/* Marks the step calls whose outputs nobody reads: calls of no rule that
 * update no state and write only signals that no other running call of
 * the step or of the eval reads, and not the loss.  Their forward would
 * compute values for nobody and their adjoint add zeros, so neither runs:
 * with a rule of term 0 alone (feedback alignment) the input layer's error
 * e_0 (B_1 e_1, 784 x 170 for mlp5) was computed three times a step and
 * differentiated once, 12% of an episode.  Repeated until nothing changes
 * (a call read only by an unread one is unread too). */
static int prune_step(ep *E)
{
    const plast_schedule *S = E->S;
    unsigned char *read = calloc((size_t)S->n_buf + 1, 1);
    E->unread = calloc((size_t)S->n_step + 1, 1);
    if (!read || !E->unread) { free(read); return -1; }
    for (int changed = 1; changed;) {
        changed = 0;
        memset(read, 0, (size_t)S->n_buf);
        read[S->loss] = 1;
        for (int c = 0; c < S->n_step + S->n_eval; c++) {
            const plast_call *C = c < S->n_step ? &S->step[c] : &S->eval[c - S->n_step];
            if (c < S->n_step && E->unread[c]) continue;
            for (int k = 0; k < C->n_bind; k++)
                if (arg_role(C->fwd, C->bind[k].arg) == 0) read[C->bind[k].buf] = 1;
        }
        for (int c = 0; c < S->n_step; c++) {
            const plast_call *C = &S->step[c];
            if (E->unread[c] || C->update >= 0 || C->rule >= 0 || !C->fwd) continue;
            int needed = 0;
            for (int k = 0; k < C->n_bind; k++) {
                int role = arg_role(C->fwd, C->bind[k].arg), b = C->bind[k].buf;
                if (role == 2 || role == 3) needed |= S->buf[b].kind != PLAST_BUF_SIGNAL || read[b];
            }
            if (!needed) E->unread[c] = changed = 1;
        }
    }
    free(read);
    return 0;
}

/* Where each update call's adjoint reads its seed adj_dw = adj(S_{t+1}):
 * adj_state holds it as the reverse step starts (the identity is in
 * place), and stays so until an adjoint writes adj(S_t) of that state.
 * For a state whose update's adjoint runs before any such write (the calls
 * in reverse order, the update's own adjoint included), the seed is read
 * there, in place; for the others it is copied to adj_next first
 * (enter_step_adjoint: 1.43 MB a reverse step of mlp5).  The update's own
 * adjoint of w does not count when its kernel reads each element of adj_dw
 * before it adds into that element of adj_w, and none after
 * (plast_kdesc.seed_in_place: the pool's adjoint; feedback alignment's SGD
 * has no adjoint of w).  PLASTCC_SEED_COPY=1 copies every seed (for
 * testing: the same bits).  States read in their next version keep their
 * own scheme (next_read). */
static int seed_in_place(ep *E)
{
    const plast_schedule *S = E->S;
    unsigned char *written = calloc((size_t)S->n_buf + 1, 1);
    E->seed_copy = calloc((size_t)S->n_buf + 1, 1);
    if (!written || !E->seed_copy) { free(written); return -1; }
    const char *copy_env = getenv("PLASTCC_SEED_COPY");
    int copy_all = copy_env && *copy_env && strcmp(copy_env, "0");
    for (int c = S->n_step - 1; c >= 0; c--) {
        const plast_call *C = &S->step[c];
        if (E->unread[c] || !C->adj) continue;
        int u = C->update;
        for (int k = 0; k < C->n_bind; k++) {
            const plast_bind *b = &C->bind[k];
            char name[96];
            snprintf(name, sizeof name, "adj_%s", b->arg);
            int role = arg_role(C->adj, name);
            if (b->buf == u && !strcmp(b->arg, "w") && C->adj->seed_in_place && !copy_all) continue;
            if (S->buf[b->buf].kind == PLAST_BUF_STATE && !b->next && role >= 2 && role <= 3) written[b->buf] = 1;
        }
        if (u >= 0 && !E->next_read[u]) {
            E->seed_copy[u] = written[u] || copy_all;
            if (!E->seed_copy[u]) {
                call_plan *P = &E->step[c];
                for (int q = 0; q < P->n_adj; q++) if (P->adj[q].reg == REG_ADJ_NEXT) P->adj[q].reg = REG_ADJ_STATE;
            }
        }
    }
    free(written);
    return 0;
}

static void free_plans(call_plan *P, int n)
{
    for (int c = 0; P && c < n; c++) {
        for (int k = 0; k < P[c].n_names; k++) free(P[c].names[k]);
        free(P[c].names); free(P[c].fwd); free(P[c].adj); free(P[c].fwd_map); free(P[c].adj_map);
        free(P[c].fused_map);
    }
    free(P);
}

static call_plan *plan_calls(ep *E, const plast_call *calls, int n)
{
    call_plan *P = calloc((size_t)n + 1, sizeof *P);
    for (int c = 0; P && c < n; c++)
        if (plan_call(E, &calls[c], &P[c]) < 0) {
            free_plans(P, n);
            if (!E->out->what[0]) fail(E, "out of memory");
            return NULL;
        }
    if (!P) fail(E, "out of memory");
    return P;
}

static void *resolve(ep *E, const frame *F, const bref *r)
{
    switch (r->reg) {
    case REG_STATE: return at(E, F->state, r->off);
    case REG_NEXT: return F->next ? at(E, F->next, r->off) : NULL;
    case REG_PARAM: return at(E, E->param, r->off);
    case REG_CONST: return at(E, E->cnst, r->off);
    case REG_SIG: return at(E, F->sig, r->off * (size_t)F->batch);
    case REG_SIG_NEXT: return F->sig_next ? at(E, F->sig_next, r->off * (size_t)F->batch) : NULL;
    case REG_META: return (void *)E->meta;
    case REG_ADJ_STATE: return at(E, F->adj_state, r->off);
    case REG_ADJ_NEXT: return E->adj_next ? at(E, E->adj_next, r->off) : NULL;   /* none: no call reads it */
    case REG_ADJ_PARAM: return at(E, E->adj_param, r->off);
    case REG_ADJ_SIG: return at(E, F->adj_sig, r->off * (size_t)F->batch);
    case REG_GRAD: return NULL;   /* set by the caller: the rule's gradient */
    case REG_DW: return at(E, E->dw_out, r->off);
    default: return E->junk;
    }
}

/* ---- kernel calls ---- */

/* Calls kernel K with the bindings REFS resolved in frame F; an output nobody
 * bound goes to the junk buffer, a missing input is an error. */
static void *resolve_ref(ep *E, const plast_call *C, const frame *F, const bref *r)
{
    return r->reg == REG_GRAD ? (E->single ? E->gstep[C->rule] : (void *)E->grad[C->rule]) : resolve(E, F, r);
}

/* MAP: the plan's arg_map of K over REFS, or NULL (matched by name). */
static int kcall(ep *E, const plast_kdesc *k, const plast_call *C, const bref *refs, int nr, const short *map,
                 const frame *F)
{
    enum { MAX_BIND = 2 * 96 + 4 };
    void *ptrs[MAX_BIND];
    E->meta = C->rule >= 0 ? E->rule_meta[C->rule] : NULL;
    if (nr > MAX_BIND) nr = MAX_BIND;
    for (int q = 0; q < nr; q++) ptrs[q] = resolve_ref(E, C, F, &refs[q]);
    int64_t before = E->scratch.bytes;
    double t0 = E->profiling ? plast_seconds() : 0;
    int rc;
    if (map) {
        rc = plast_kcall_mapped(k, C->n_pre, C->n_post, F->batch, E->data->steps, map, ptrs, E->junk, &E->scratch,
                                E->out->what, sizeof E->out->what);
    } else {   /* by name, the bindings that resolve */
        kbind b[MAX_BIND];
        int nb = 0;
        for (int q = 0; q < nr; q++) if (ptrs[q]) b[nb++] = (kbind){ refs[q].name, ptrs[q] };
        rc = plast_kcall(k, C->n_pre, C->n_post, F->batch, E->data->steps, b, nb, E->junk, &E->scratch, E->out->what,
                         sizeof E->out->what);
    }
    E->bytes += (double)(E->scratch.bytes - before);   /* scratch counts in the memory report */
    if (E->profiling && k) {
        int i = 0;
        while (i < E->n_prof && (E->prof[i].name != k->name || E->prof[i].n_pre != C->n_pre ||
                                 E->prof[i].n_post != C->n_post))
            i++;
        if (i == E->n_prof && E->n_prof < (int)(sizeof E->prof / sizeof E->prof[0]))
            E->prof[E->n_prof++] = (struct prof_row){ k->name, C->n_pre, C->n_post, 0, 0 };
        if (i < E->n_prof) { E->prof[i].sec += plast_seconds() - t0; E->prof[i].calls++; }
    }
    return rc;
}

/* PLASTCC_PROFILE: the episode's time per kernel and shape (pre x post),
 * largest first, on stderr;
 * what is left of the total is the driver's own work (copies, finiteness checks,
 * loading samples, clearing adjoints). */
static void print_profile(ep *E, double total)
{
    double in_kernels = 0;
    for (int i = 0; i < E->n_prof; i++) in_kernels += E->prof[i].sec;
    for (int i = 1; i < E->n_prof; i++)
        for (int j = i; j > 0 && E->prof[j].sec > E->prof[j - 1].sec; j--) {
            struct prof_row t = E->prof[j]; E->prof[j] = E->prof[j - 1]; E->prof[j - 1] = t;
        }
    fprintf(stderr, "profile: %.3f s in the episode, %.3f s in kernels\n", total, in_kernels);
    for (int i = 0; i < E->n_prof; i++) {
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%d", E->prof[i].n_pre, E->prof[i].n_post);
        fprintf(stderr, "  %-24s %-9s %8.4f s %5.1f%% %8ld calls %9.2f us/call\n", E->prof[i].name, shape,
                E->prof[i].sec, 100 * E->prof[i].sec / total, E->prof[i].calls, 1e6 * E->prof[i].sec / E->prof[i].calls);
    }
    fprintf(stderr, "  %-34s %8.4f s %5.1f%%\n", "(driver: copies, checks, ...)", total - in_kernels,
            100 * (total - in_kernels) / total);
}

/* ---- one step ---- */

/* Samples FIRST.. (mod N_ROWS) of X, Y into the DATA buffers of the signal
 * block SIG: inputs, one-hot targets, and the mask (1 for a sample that
 * counts in the loss: labelled, or any sample when the loss compares with x). */
static void load_batch(ep *E, void *sig, const double *x, const int32_t *y, int n_rows, int first, int batch)
{
    const plast_schedule *S = E->S;
    size_t n0 = (size_t)S->buf[S->x].cols;
    void *xb = at(E, sig, E->off[S->x] * (size_t)batch);
    void *tb = S->target >= 0 ? at(E, sig, E->off[S->target] * (size_t)batch) : NULL;
    void *mb = S->mask >= 0 ? at(E, sig, E->off[S->mask] * (size_t)batch) : NULL;
    size_t nt = tb ? (size_t)S->buf[S->target].cols : 0;
    if (tb) memset(tb, 0, (size_t)batch * nt * E->esz);
    for (int k = 0; k < batch; k++) {
        int row = (first + k) % n_rows;
        from_double(E, at(E, xb, (size_t)k * n0), x + (size_t)row * n0, n0);
        int labelled = y[row] >= 0 && (size_t)y[row] < nt;
        if (tb && labelled) set(E, tb, (size_t)k * nt + (size_t)y[row], 1);
        if (mb) set(E, mb, (size_t)k, tb ? labelled : 1);
    }
}

/* One inner step from STATE: signals into SIG and the updated state into
 * NEXT (which must not be STATE).  Without NEXT only the signals (the last
 * step of a leaf), when no call reads a next version.
 *
 * Steps run in a row through two signal blocks: given SIG_NEXT, the block
 * of step t + 1 that follows in the same run, the update calls run their
 * fused kernels (E->fusing), which also compute step t + 1's dense calls
 * over the updated weights, and *RAN is set; step t + 1 is then called with
 * *RAN set, and neither loads its batch again nor runs those calls.  The
 * first step of a run, and a step whose next block is not the one its
 * successor uses, start with *RAN clear. */
static int step_forward(ep *E, int t, const void *state, void *sig, void *next, void *sig_next, int *ran)
{
    const plast_episode_data *D = E->data;
    int pre = *ran, fuse = E->fusing && next && sig_next;
    if (!pre) load_batch(E, sig, D->x_train, D->y_train, D->n_train, t * D->batch, D->batch);
    if (fuse) load_batch(E, sig_next, D->x_train, D->y_train, D->n_train, (t + 1) * D->batch, D->batch);
    *ran = 0;
    frame F = { (void *)state, next, sig, NULL, NULL, D->batch, fuse ? sig_next : NULL };
    for (int c = 0; c < E->S->n_step; c++) {
        const call_plan *P = &E->step[c];
        if ((P->c->update >= 0 && !next) || E->unread[c] || (pre && E->fused_away[c])) continue;
        int rc = fuse && P->c->fused ? kcall(E, P->c->fused, P->c, P->fwd, P->n_fwd, P->fused_map, &F)
                                     : kcall(E, P->c->fwd, P->c, P->fwd, P->n_fwd, P->fwd_map, &F);
        if (rc < 0) return -1;
    }
    *ran = fuse;
    return 0;
}

/* Block K of the two signal blocks at SIG that steps run in a row use. */
static void *sig_block(const ep *E, void *sig, int k)
{
    return at(E, sig, (size_t)(k & 1) * E->sig_cols * (size_t)E->data->batch);
}

/* In single precision the rules' adjoints accumulated one step into
 * gstep (float): add it to the double gradient and clear it. */
static void flush_grad(ep *E)
{
    if (!E->single) return;
    for (int r = 0; r < E->net->n_rules; r++) {
        float *g = E->gstep[r];
        for (int k = 0; k < E->net->rules[r].n_meta; k++) { E->grad[r][k] += g[k]; g[k] = 0; }
    }
}

/* adj_next = adj(S_{t+1}) as the sweep enters step t; adj_state becomes
 * adj(S_t): in place for states no later call reads in their next version
 * (the identity is free), cleared for the others (update_adjoint adds it). */
static void enter_step_adjoint(ep *E, void *adj_state)
{
    const plast_schedule *S = E->S;
    for (int b = 0; b < S->n_buf; b++) {
        if (S->buf[b].kind != PLAST_BUF_STATE || (!E->seed_copy[b] && !E->next_read[b])) continue;
        size_t n = buf_elems(&S->buf[b]);
        copy_elems(E, at(E, E->adj_next, E->off[b]), at(E, adj_state, E->off[b]), n);
        if (E->next_read[b]) memset(at(E, adj_state, E->off[b]), 0, n * E->esz);
    }
}

/* Reverse of step t, whose state was STATE (and NEXT, when a call reads the
 * updated state) and signals SIG: adj_state holds adj(S_{t+1}) on entry and
 * adj(S_t) on return. */
static int step_adjoint(ep *E, const void *state, const void *next, void *sig, void *adj_state)
{
    const plast_schedule *S = E->S;
    int batch = E->data->batch;
    memset(E->adj_sig, 0, (size_t)batch * E->sig_cols * E->esz);
    enter_step_adjoint(E, adj_state);
    frame F = { (void *)state, (void *)next, sig, adj_state, E->adj_sig, batch, NULL };
    for (int c = S->n_step - 1; c >= 0; c--) {
        const call_plan *P = &E->step[c];
        int u = P->c->update;
        if (u >= 0 && E->next_read[u])   /* the identity of S_{t+1} = S_t + dw */
            add_elems(E, at(E, adj_state, E->off[u]), at(E, E->adj_next, E->off[u]), buf_elems(&S->buf[u]));
        if (P->c->adj && !E->unread[c] && kcall(E, P->c->adj, P->c, P->adj, P->n_adj, P->adj_map, &F) < 0) return -1;
    }
    flush_grad(E);
    return 0;
}

/* ---- the episode ---- */

static int check_finite(ep *E, const void *v, size_t n, int t, const char *what)
{
    if (all_finite(E, v, n)) return 0;
    E->out->nonfinite = 1;
    if (t >= 0) fail(E, "%s became NaN or Inf at inner step %d", what, t);
    else fail(E, "%s is NaN or Inf", what);
    return -1;
}

/* The largest buffer any argument may need: the junk target of outputs
 * nobody reads. */
static size_t junk_size(const ep *E)
{
    size_t n = E->sig_cols * (size_t)E->data->batch;
    if (E->eval_cols * (size_t)E->data->n_query > n) n = E->eval_cols * (size_t)E->data->n_query;
    for (int b = 0; b < E->S->n_buf; b++)
        if (buf_elems(&E->S->buf[b]) > n) n = buf_elems(&E->S->buf[b]);
    for (int r = 0; r < E->net->n_rules; r++)
        if ((size_t)E->net->rules[r].n_meta > n) n = (size_t)E->net->rules[r].n_meta;
    return n;
}

/* Values of the buffers of KIND from INIT into the vector V, element type. */
static void load_kind(ep *E, void *v, const double *const *init, int kind)
{
    for (int b = 0; b < E->S->n_buf; b++)
        if (E->S->buf[b].kind == kind && init[b]) from_double(E, at(E, v, E->off[b]), init[b], buf_elems(&E->S->buf[b]));
}

/* Layout, plans, and the buffers every step shares: parameters, constants
 * and meta in the element type, the adjoints of one step. */
/* Which calls the update calls' fused kernels run for the next step
 * (fused_away).  Fusion is on for a batch of one, where a fused kernel
 * makes one pass over W (its one-sample pass, lower_fuse.c); for a batch
 * of several it would compute the mean of dw over the samples again for
 * each sample's W y.  Every call so named must be a call of the step that
 * updates nothing and is not itself fused.  PLASTCC_NO_FUSED_DENSE=1 runs
 * every call apart (for testing: the same bits). */
static int plan_fusion(ep *E)
{
    const plast_schedule *S = E->S;
    const char *off = getenv("PLASTCC_NO_FUSED_DENSE");
    E->fused_away = calloc((size_t)S->n_step + 1, 1);
    if (!E->fused_away) { fail(E, "out of memory"); return -1; }
    for (int c = 0; c < S->n_step; c++) {
        const plast_call *C = &S->step[c];
        if (!C->fused) continue;
        if (C->update < 0 || C->fuses < 0 || C->fuses >= S->n_step || S->step[C->fuses].update >= 0 ||
            S->step[C->fuses].fused || E->fused_away[C->fuses]) {
            fail(E, "step call %d (%s) is fused with a call of the next step that it cannot run", c, C->fused->name);
            return -1;
        }
        E->fused_away[C->fuses] = 1;
        E->fusing = 1;
    }
    if ((off && *off && strcmp(off, "0")) || E->data->batch != 1) E->fusing = 0;
    return 0;
}

/* Whether a step may write S_{t+1} over S_t (next == state): every update
 * call's kernels (its step, and its fused step when fusing) may write w_next
 * into w's array (plast_kdesc.next_in_place: each element read before it is
 * written, none after), the call reads its state only as w, and no call
 * after it in the step reads that state's current version.  The inner loop
 * and the sweep's runs to a split's state then update one copy: half the
 * weights' working set, and no line of a second copy fetched before it is
 * written (fa's episode 12% faster).  Leaves keep every state, so they never
 * do.  PLASTCC_NO_NEXT_IN_PLACE=1 steps between two copies (for testing:
 * the same bits). */
static void plan_in_place(ep *E)
{
    const plast_schedule *S = E->S;
    const char *off = getenv("PLASTCC_NO_NEXT_IN_PLACE");
    int ok = !(off && *off && strcmp(off, "0"));
    for (int c = 0; ok && c < S->n_step; c++) {
        const plast_call *C = &S->step[c];
        int u = C->update;
        if (u < 0) continue;
        if (!C->fwd || !C->fwd->next_in_place || (E->fusing && C->fused && !C->fused->next_in_place)) ok = 0;
        for (int k = 0; ok && k < C->n_bind; k++)
            if (C->bind[k].buf == u && !C->bind[k].next && strcmp(C->bind[k].arg, "w")) ok = 0;
        for (int d = c + 1; ok && d < S->n_step; d++) {
            if (E->unread[d]) continue;
            for (int k = 0; k < S->step[d].n_bind; k++)
                if (S->step[d].bind[k].buf == u && !S->step[d].bind[k].next) ok = 0;
        }
    }
    E->in_place = ok;
}

static int setup(ep *E, const double *const *init, const double *const *meta, double **grad)
{
    const plast_net *N = E->net;
    const plast_episode_data *D = E->data;
    E->S = &N->sched;
    E->single = N->precision == PLAST_SINGLE;
    E->esz = E->single ? sizeof(float) : sizeof(double);
    E->grad = grad;
    const plast_schedule *S = E->S;
    if (S->n_buf < 1 || S->x < 0 || S->x >= S->n_buf || S->loss < 0 || S->loss >= S->n_buf) {
        fail(E, "the network has no schedule to run");
        return -1;
    }
    if (layout(E) < 0) return -1;
    if (!(E->step = plan_calls(E, S->step, S->n_step)) || !(E->eval = plan_calls(E, S->eval, S->n_eval))) return -1;
    if (prune_step(E) < 0 || seed_in_place(E) < 0) { fail(E, "out of memory"); return -1; }
    if (plan_fusion(E) < 0) return -1;
    plan_in_place(E);
    E->max_batch = D->batch > D->n_query ? D->batch : D->n_query;
    E->junk_elems = junk_size(E);
    E->junk = alloc_lazy(E, E->junk_elems);
    E->param = alloc(E, E->param_total);
    E->cnst = alloc(E, E->const_total);
    E->adj_param = alloc(E, E->param_total);
    /* adj(S_{t+1}) apart only for the states whose seed is copied or whose
     * next version a call reads (the pool and feedback alignment: none) */
    int apart = 0;
    for (int b = 0; b < S->n_buf; b++) apart |= E->seed_copy[b] || E->next_read[b];
    E->adj_next = apart ? alloc(E, E->state_total) : NULL;
    size_t adj_cols = E->sig_cols * (size_t)D->batch;
    if (E->eval_cols * (size_t)D->n_query > adj_cols) adj_cols = E->eval_cols * (size_t)D->n_query;
    E->adj_sig = alloc(E, adj_cols);
    E->rule_meta = calloc((size_t)N->n_rules + 1, sizeof *E->rule_meta);
    E->gstep = calloc((size_t)N->n_rules + 1, sizeof *E->gstep);
    int ok = E->junk && E->param && E->cnst && E->adj_param && (E->adj_next || !apart) && E->adj_sig && E->rule_meta &&
             E->gstep;
    if (ok) { load_kind(E, E->param, init, PLAST_BUF_PARAM); load_kind(E, E->cnst, init, PLAST_BUF_CONST); }
    for (int r = 0; ok && r < N->n_rules; r++) {
        E->rule_meta[r] = meta[r];
        if (!E->single) continue;
        int nm = N->rules[r].n_meta;
        void *m = alloc(E, (size_t)nm);
        E->gstep[r] = alloc(E, (size_t)nm);
        if (m) from_double(E, m, meta[r], (size_t)nm);
        E->rule_meta[r] = m;
        ok = m && E->gstep[r];
    }
    if (!ok) fail(E, "out of memory");
    return ok ? 0 : -1;
}

static void teardown(ep *E)
{
    E->ending = E->opts && E->opts->keep_buffers;   /* what is released from here on is kept */
    spare_peak = E->peak;
    release(E, E->junk); release(E, E->param); release(E, E->cnst); release(E, E->adj_param);
    release(E, E->adj_next); release(E, E->adj_sig);
    free(E->scratch.mem);
    for (int r = 0; E->single && E->rule_meta && r < E->net->n_rules; r++) {
        release(E, (void *)E->rule_meta[r]);
        release(E, E->gstep[r]);
    }
    free(E->rule_meta); free(E->gstep);
    if (E->S) { free_plans(E->step, E->S->n_step); free_plans(E->eval, E->S->n_eval); }
    free(E->off); free(E->next_read); free(E->unread); free(E->seed_copy); free(E->fused_away);
    release_cache(E);
    for (int c = 0; !E->ending && c < N_SPARE; c++)   /* not kept: nothing stays mapped */
        if (spare[c]) { munmap(spare[c], mapping_bytes(spare[c])); spare[c] = NULL; }
    if (!E->ending) spare_bytes = 0;
}

/* The rows the eval calls run on: the query samples, or the training ones
 * (PREDICT: where the output's argmax goes, plast_episode_out.predict). */
typedef struct rows { const double *x; const int32_t *y; int n; int32_t *predict; } rows;

/* The SIGNAL and DATA buffers the caller asked for (out->signals), from the
 * eval's block SIG of NQ samples, in double: [sample][cols]. */
static void export_signals(ep *E, const void *sig, int nq)
{
    for (int b = 0; b < E->S->n_buf; b++) {
        int kind = E->S->buf[b].kind;
        if ((kind != PLAST_BUF_SIGNAL && kind != PLAST_BUF_DATA) || !E->signals_out[b] || E->off[b] >= E->eval_cols) continue;
        to_double(E, E->signals_out[b], at(E, sig, E->off[b] * (size_t)nq), (size_t)nq * (size_t)E->S->buf[b].cols);
    }
}

/* The eval calls on the batch R with state STATE: *LOSS, the mean of the
 * loss over the samples that count, and *ACC, the accuracy over the
 * labelled ones (NaN without an output); with ADJ_STATE, adds adj(state) of
 * the meta-loss into it (and adj of the parameters). */
static int eval(ep *E, const void *state, void *adj_state, rows R, double *loss_out, double *acc_out)
{
    const plast_schedule *S = E->S;
    int nq = R.n;
    void *sig = alloc(E, (size_t)nq * E->eval_cols);
    if (!sig) { fail(E, "out of memory for the eval batch"); return -1; }
    load_batch(E, sig, R.x, R.y, nq, 0, nq);
    frame F = { (void *)state, NULL, sig, adj_state, E->adj_sig, nq, NULL };
    int rc = 0;
    for (int c = 0; rc == 0 && c < S->n_eval; c++) rc = kcall(E, E->eval[c].c->fwd, E->eval[c].c, E->eval[c].fwd,
                                                             E->eval[c].n_fwd, E->eval[c].fwd_map, &F);
    if (rc == 0 && E->signals_out) export_signals(E, sig, nq);
    const void *loss = at(E, sig, E->off[S->loss] * (size_t)nq);
    const void *mask = S->mask >= 0 ? at(E, sig, E->off[S->mask] * (size_t)nq) : NULL;
    const void *z = S->output >= 0 ? at(E, sig, E->off[S->output] * (size_t)nq) : NULL;
    size_t nz = z ? (size_t)S->buf[S->output].cols : 0;
    double sum = 0;
    int count = 0, labelled = 0, correct = 0;
    for (int k = 0; !z && R.predict && k < nq; k++) R.predict[k] = -1;
    for (int k = 0; rc == 0 && k < nq; k++) {
        sum += get(E, loss, (size_t)k);
        count += !mask || get(E, mask, (size_t)k) != 0;
        if (!z || (R.y[k] < 0 && !R.predict)) continue;
        size_t base = (size_t)k * nz, best = 0;
        for (size_t c = 1; c < nz; c++) if (get(E, z, base + c) > get(E, z, base + best)) best = c;
        if (R.predict) R.predict[k] = (int32_t)best;
        if (R.y[k] < 0) continue;
        labelled++;
        correct += (int)best == R.y[k];
    }
    *loss_out = count ? sum / count : 0;
    *acc_out = labelled ? (double)correct / labelled : NAN;
    if (rc == 0 && !isfinite(*loss_out)) {
        E->out->nonfinite = 1;
        fail(E, "the eval loss is NaN or Inf");
        rc = -1;
    }
    if (rc == 0 && adj_state) {
        memset(E->adj_sig, 0, (size_t)nq * E->eval_cols * E->esz);
        void *adj_loss = at(E, E->adj_sig, E->off[S->loss] * (size_t)nq);
        for (int k = 0; k < nq; k++) set(E, adj_loss, (size_t)k, count ? 1.0 / count : 0);
        for (int c = S->n_eval - 1; rc == 0 && c >= 0; c--)
            if (E->eval[c].c->adj) rc = kcall(E, E->eval[c].c->adj, E->eval[c].c, E->eval[c].adj, E->eval[c].n_adj,
                                               E->eval[c].adj_map, &F);
    }
    release(E, sig);
    return rc;
}

static rows query_rows(const ep *E)
{
    return (rows){ E->data->x_query, E->data->y_query, E->data->n_query, E->out->predict };
}
static rows train_rows(const ep *E) { return (rows){ E->data->x_train, E->data->y_train, E->data->n_train, NULL }; }

/* The caller's measure at curve point K (opts.at_point): the state W in
 * double in out->final's arrays, then the call. */
static int point_measure(ep *E, const void *W, const plast_episode_opts *o, int k)
{
    double **st = E->out->final;
    if (!o->at_point || !st) return 0;
    for (int b = 0; b < E->S->n_buf; b++)
        if (E->S->buf[b].kind == PLAST_BUF_STATE && st[b]) to_double(E, st[b], at(E, W, E->off[b]), buf_elems(&E->S->buf[b]));
    char what[sizeof E->out->what] = "";
    if (o->at_point(o->point_ctx, k, (const double *const *)st, what, sizeof what) == 0) return 0;
    fail(E, "%s", what[0] ? what : "the measure at a curve point failed");
    return -1;
}

/* Point K of the learning curves at the state W: the eval on the query
 * samples and, when asked, on the training samples and the caller's measure. */
static int curve_point(ep *E, const void *W, const plast_episode_opts *o, int k)
{
    if (eval(E, W, NULL, query_rows(E), &o->curve_loss[k], &o->curve_acc[k]) < 0) return -1;
    if (o->curve_train_loss && o->curve_train_acc &&
        eval(E, W, NULL, train_rows(E), &o->curve_train_loss[k], &o->curve_train_acc[k]) < 0) return -1;
    return point_measure(E, W, o, k);
}

/* The inner loop's checks after step t: its loss and the updated state
 * NEXT are finite. */
static int step_checks(ep *E, int t, const void *sig, const void *next)
{
    size_t batch = (size_t)E->data->batch;
    if (check_finite(E, at(E, sig, E->off[E->S->loss] * batch), batch, t, "the inner loss") < 0) return -1;
    if (all_finite(E, next, E->state_total)) return 0;
    E->out->nonfinite = 1;
    fail(E, "the weight update became NaN or Inf at inner step %d", t);
    return -1;
}

/* The inner loop's cheap check after step t: its loss is finite and, every
 * CHECK_EVERY steps and where WHOLE, so is the updated state NEXT.  Reading
 * the whole state after every step was 5-10% of an episode; a NaN or Inf in
 * a state stays one (an update writes w + dw), so a check now and then finds
 * it, and diverged() names the step. */
enum { CHECK_EVERY = 16 };

static int light_checks(ep *E, int t, const void *sig, const void *next, int whole)
{
    size_t batch = (size_t)E->data->batch;
    if (!all_finite(E, at(E, sig, E->off[E->S->loss] * batch), batch)) return -1;
    return (whole || (t + 1) % CHECK_EVERY == 0) && !all_finite(E, next, E->state_total) ? -1 : 0;
}

/* A check found a NaN or Inf by step T1 - 1: steps [0, T1) again from the
 * initial state, each checked whole, so that the error names the step and
 * the value where it appeared, as checking every step did (the same
 * arithmetic, so the same values). */
static int diverged(ep *E, int t1)
{
    E->out->nonfinite = 1;
    fail(E, "the inner loop became NaN or Inf by inner step %d", t1 - 1);
    void *a = alloc(E, E->state_total), *b = alloc(E, E->state_total);
    void *sig = alloc(E, 2 * E->sig_cols * (size_t)E->data->batch);
    if (a && b && sig) {
        load_kind(E, a, E->init, PLAST_BUF_STATE);
        for (int t = 0, ran = 0; t < t1; t++) {
            void *now = sig_block(E, sig, t), *then = t + 1 < t1 ? sig_block(E, sig, t + 1) : NULL;
            if (step_forward(E, t, a, now, b, then, &ran) < 0 || step_checks(E, t, now, b) < 0) break;
            void *w = a; a = b; b = w;
        }
    }
    release(E, a); release(E, b); release(E, sig);
    return -1;
}

/* ---- the state slots of the sweep ---- */

/* The longest leaf the plan may use: its states at most LEAF_BYTES, so
 * that the adjoint finds them in the cache.  In the 003 pool episode
 * (1.43 MB of state in double) leaves of up to 9 states came back from
 * memory: capped at 5 (8 MB), 10 slots ran 0.176-0.178 s against
 * 0.181-0.183 uncapped, and the 11 the default then takes 0.171-0.172;
 * single precision (0.7 MB) was as fast either way. */
enum { LEAF_BYTES = 8 << 20 };

static int leaf_max(const ep *E)
{
    size_t bytes = E->state_total * E->esz;
    size_t n = bytes ? LEAF_BYTES / bytes : 0;
    return n >= (size_t)E->data->steps ? 0 : n < 2 ? 2 : (int)n;
}

/* Every copy of the state the inner loop and the sweep hold (the loop's two
 * buffers, the checkpoints, a leaf's states) is a slot of one mapping: as
 * many as the plan allows, so the peak is the plan's and no buffer of its
 * own is rounded up to whole huge pages.  Slots are E->slot_stride
 * elements apart, a multiple of 64 bytes, so every copy of a state has the
 * same alignment (a kernel's vectors start at the same offsets).  A reused
 * mapping is not cleared: every element of a state is written before it is
 * read (each STATE buffer has exactly one update call a step, whose kernel
 * writes all of w_next), and clearing them was 4% of an episode. */
static int slots_open(ep *E, int n)
{
    size_t bytes = (E->state_total * E->esz + 63) & ~(size_t)63;
    E->slot_stride = bytes / E->esz;
    E->slot_pool = alloc_buffer(E, (size_t)n * E->slot_stride, 0);
    E->slot_free = malloc((size_t)n * sizeof *E->slot_free);
    E->leaf_slot = malloc((size_t)n * sizeof *E->leaf_slot);
    if (!E->slot_pool || !E->slot_free || !E->leaf_slot) return -1;
    for (int k = 0; k < n; k++) E->slot_free[k] = n - 1 - k;
    E->n_free = n;
    return 0;
}

static void slots_close(ep *E)
{
    release(E, E->slot_pool);
    free(E->slot_free); free(E->leaf_slot);
    E->slot_pool = NULL; E->slot_free = NULL; E->leaf_slot = NULL;
}

/* A free slot; the plan never asks for more than there are. */
static void *slot_get(ep *E)
{
    if (E->n_free < 1) return NULL;
    return at(E, E->slot_pool, (size_t)E->slot_free[--E->n_free] * E->slot_stride);
}

static void slot_put(ep *E, const void *p)
{
    if (p) E->slot_free[E->n_free++] = (int)(((const char *)p - (const char *)E->slot_pool) / (ptrdiff_t)(E->slot_stride * E->esz));
}

/* ---- the inner loop and the reverse sweep ---- */

/* The inner loop's steps [0, T) from *W, stepping between the buffers *W
 * and *SPARE (on return *W holds S_T), or in *W alone when E->in_place (SPARE
 * unused), and between the two signal blocks at SIG.  After step AT[i] - 1 it copies the
 * state into CP[i], i < K: the sweep's top-level checkpoints, so that it
 * need not run those steps again (the same arithmetic, so the same bits). */
static int inner_loop(ep *E, int T, void **W, void **spare, void *sig, const int *at_step, void *const *cp, int K,
                      const plast_episode_opts *o)
{
    int curve = o->curve_every > 0 && o->curve_loss && o->curve_acc, next_cp = 0, ran = 0;
    if (curve && curve_point(E, *W, o, 0) < 0) return -1;
    for (int t = 0; t < T; t++) {
        /* S_{t+1} into the other buffer, then the two swap */
        int point = curve && (t + 1) % o->curve_every == 0;
        void *now = sig_block(E, sig, t), *then = t + 1 < T ? sig_block(E, sig, t + 1) : NULL;
        void *next = E->in_place ? *W : *spare;
        if (step_forward(E, t, *W, now, next, then, &ran) < 0) return -1;
        if (light_checks(E, t, now, next, point || t == T - 1) < 0) return diverged(E, t + 1);
        if (!E->in_place) { void *w = *W; *W = *spare; *spare = w; }
        if (point && curve_point(E, *W, o, (t + 1) / o->curve_every) < 0) return -1;
        if (next_cp < K && t + 1 == at_step[next_cp]) copy_elems(E, cp[next_cp++], *W, E->state_total);
    }
    return 0;
}

/* A leaf of the reverse sweep: steps [t0, t0 + n) from state W0 run
 * forward keeping every state and the signals of each step, then stepped
 * back.  S_{t0} is W0 itself; S_{t+1} is written by the update calls (the
 * same sums).  S_{t0+n} is kept when a call reads a next version, or when
 * the leaf ends the inner loop (its final state is the eval's). */
typedef struct leaf {
    const void *W0;
    void **slot;             /* S_{t0+1}..S_{t0+kept} */
    void *segS;              /* the signals of each step */
    int t0, n, kept;
} leaf;

static const void *leaf_state(const ep *E, const leaf *L, int k)
{
    (void)E;
    return k == 0 ? L->W0 : L->slot[k - 1];
}

/* CHECK: the inner loop's checks after each step. */
static int leaf_forward(ep *E, int t0, int n, const void *W0, int keep_last, int check, leaf *L)
{
    size_t sd = E->sig_cols * (size_t)E->data->batch;
    *L = (leaf){ W0, E->leaf_slot, NULL, t0, n, E->any_next_read || keep_last ? n : n - 1 };
    int rc = 0;
    for (int k = 0; k < L->kept; k++)
        if (!(L->slot[k] = slot_get(E))) { L->kept = k; rc = -1; }
    L->segS = alloc(E, (size_t)n * sd);
    if (rc || !L->segS) { fail(E, "out of memory for the reverse sweep"); rc = -1; }
    for (int k = 0, ran = 0; rc == 0 && k < n; k++) {
        void *next = k + 1 <= L->kept ? (void *)leaf_state(E, L, k + 1) : NULL, *sig = at(E, L->segS, (size_t)k * sd);
        void *sig_next = k + 1 < n ? at(E, L->segS, (size_t)(k + 1) * sd) : NULL;
        rc = step_forward(E, t0 + k, leaf_state(E, L, k), sig, next, sig_next, &ran);
        if (rc == 0 && check && light_checks(E, t0 + k, sig, next, k == n - 1) < 0) rc = diverged(E, t0 + k + 1);
    }
    return rc;
}

/* The leaf's steps back, from its last; its buffers released. */
static int leaf_backward(ep *E, leaf *L, void *adjW, int rc)
{
    size_t sd = E->sig_cols * (size_t)E->data->batch;
    for (int k = L->n - 1; rc == 0 && k >= 0; k--)
        rc = step_adjoint(E, leaf_state(E, L, k), k + 1 <= L->kept ? leaf_state(E, L, k + 1) : NULL,
                          at(E, L->segS, (size_t)k * sd), adjW);
    for (int k = L->kept - 1; k >= 0; k--) slot_put(E, L->slot[k]);
    release(E, L->segS);
    return rc;
}

/* Reverse sweep of steps [t0, t0 + n) from the state W0 its caller holds,
 * with S slots free, as the plan splits it: a leaf, or S_{t0+m} run forward
 * into a slot (in place after the first step when E->in_place; else a second
 * takes the alternate steps, so that the last lands in the first),
 * [t0 + m, t0 + n) reversed from it with one slot less,
 * then [t0, t0 + m) with the slot back (a loop: the depth is at most S). */
static int reverse_range(ep *E, int t0, int n, const void *W0, int s, void *adjW)
{
    int rc = 0, m;
    while (rc == 0 && (m = plast_sweep_plan_split(E->plan, n, s)) > 0) {
        int two = m > 1 && !E->in_place;
        void *mid = slot_get(E), *scratch = two ? slot_get(E) : NULL;
        if (!mid || (two && !scratch)) { fail(E, "the reverse sweep ran out of state slots"); rc = -1; }
        const void *src = W0;
        for (int q = 0, ran = 0; rc == 0 && q < m; q++) {
            void *dst = !two || (m - 1 - q) % 2 == 0 ? mid : scratch;
            void *then = q + 1 < m ? sig_block(E, E->part_sig, q + 1) : NULL;
            rc = step_forward(E, t0 + q, src, sig_block(E, E->part_sig, q), dst, then, &ran);
            src = dst;
        }
        slot_put(E, scratch);
        if (rc == 0) rc = reverse_range(E, t0 + m, n - m, mid, s - 1, adjW);
        slot_put(E, mid);
        n = m;
    }
    if (rc) return rc;
    leaf L;
    rc = leaf_forward(E, t0, n, W0, 0, 0, &L);
    return leaf_backward(E, &L, adjW, rc);
}

/* The outputs the caller asked for: final values and gradients of the
 * initial state and parameters, in double. */
static void write_outputs(ep *E, const void *final, const void *adj0, const double *const *init)
{
    const plast_schedule *S = E->S;
    plast_episode_out *out = E->out;
    for (int b = 0; b < S->n_buf; b++) {
        const plast_buf *B = &S->buf[b];
        size_t n = buf_elems(B);
        if (B->kind != PLAST_BUF_STATE && B->kind != PLAST_BUF_PARAM) continue;
        if (out->final && out->final[b]) {
            if (B->kind == PLAST_BUF_STATE && final) to_double(E, out->final[b], at(E, final, E->off[b]), n);
            else if (B->kind == PLAST_BUF_PARAM && init[b]) memcpy(out->final[b], init[b], n * sizeof(double));
        }
        if (out->grad_init && out->grad_init[b] && adj0)
            to_double(E, out->grad_init[b], at(E, B->kind == PLAST_BUF_STATE ? adj0 : E->adj_param, E->off[b]), n);
    }
}

/* The eval after the inner loop at the final state W: the meta-loss and
 * accuracy (and their gradient into ADJW when given), and on request the
 * same on the training samples. */
static int final_eval(ep *E, const void *W, void *adjW)
{
    plast_episode_out *out = E->out;
    E->signals_out = out->signals;   /* the final eval on the query samples only */
    int rc = eval(E, W, adjW, query_rows(E), &out->meta_loss, &out->accuracy);
    E->signals_out = NULL;
    if (rc < 0) return -1;
    return E->opts && E->opts->eval_train ? eval(E, W, NULL, train_rows(E), &out->train_loss, &out->train_accuracy) : 0;
}

/* The final state's eval and outputs, then the steps back of the leaf L
 * that ends the inner loop (its last state the final one). */
static int kept_tail(ep *E, leaf *L, void *adjW, const double *const *init, int rc)
{
    const void *final = rc == 0 ? leaf_state(E, L, L->n) : NULL;
    if (rc == 0) rc = final_eval(E, final, adjW);
    if (rc == 0) write_outputs(E, final, NULL, init);
    return leaf_backward(E, L, adjW, rc);
}

/* The inner loop, the eval and, with WANT, the reverse sweep, as the plan
 * has it: the top level's checkpoints stored as the loop passes them; its
 * last n steps kept as a leaf from the last checkpoint (or the initial
 * state W0: then no step runs twice), or reversed from it after the eval;
 * then the segments before, from the last. */
static int loop_then_sweep(ep *E, int T, const void *W0, void *adjW, const double *const *init,
                           const plast_episode_opts *opts)
{
    int want = opts->want_grad, S = E->plan ? E->plan->slots : 2, k = 0, n = T, s = S, tail = 0, rc = 0;
    int *len = malloc(((size_t)S + 1) * sizeof *len), *cp_at = malloc(((size_t)S + 1) * sizeof *cp_at);
    void **cp = malloc(((size_t)S + 1) * sizeof *cp), *W = NULL, *spare = NULL, *sig = NULL;
    if (slots_open(E, S) < 0 || !len || !cp_at || !cp) { fail(E, "out of memory"); rc = -1; }
    while (rc == 0 && E->plan && n > 0 && (tail = plast_sweep_plan_top(E->plan, n, s)) > 0) {
        len[k] = tail;
        cp_at[k] = T - n + tail;
        if (!(cp[k] = slot_get(E))) { fail(E, "the reverse sweep ran out of state slots"); rc = -1; }
        k++; n -= tail; s--;
    }
    int keep = E->plan && n > 0 && tail == -1;   /* the last n steps a leaf */
    const void *start = k > 0 ? cp[k - 1] : W0;   /* of the last n steps */
    if (rc == 0 && (!keep || n < T)) {   /* the loop runs */
        W = slot_get(E); spare = E->in_place ? NULL : slot_get(E);
        sig = alloc(E, 2 * E->sig_cols * (size_t)E->data->batch);   /* two blocks: steps run in a row */
        if (!W || (!spare && !E->in_place) || !sig) { fail(E, "out of memory"); rc = -1; }
        if (rc == 0) load_kind(E, W, init, PLAST_BUF_STATE);
        if (rc == 0) rc = inner_loop(E, keep ? T - n : T, &W, &spare, sig, cp_at, cp, k, opts);
        slot_put(E, spare);
        if (keep) { slot_put(E, W); W = NULL; }
    }
    E->part_sig = sig;   /* kept for the sweep: a block mapped afresh per range faulted in again */
    if (keep) {
        leaf L;
        if (rc == 0) rc = kept_tail(E, &L, adjW, init, leaf_forward(E, T - n, n, start, 1, 1, &L));
    } else {
        if (rc == 0) rc = final_eval(E, W, want ? adjW : NULL);
        if (rc == 0) write_outputs(E, W, NULL, init);
        slot_put(E, W);
        if (want && rc == 0 && n > 0) rc = reverse_range(E, T - n, n, start, s, adjW);
    }
    for (int i = k - 1; i >= 0; i--) {   /* segment i ends at checkpoint i and starts at the one before */
        slot_put(E, cp[i]);
        if (rc == 0) rc = reverse_range(E, cp_at[i] - len[i], len[i], i > 0 ? cp[i - 1] : W0, S - i, adjW);
    }
    release(E, E->part_sig);
    E->part_sig = NULL;
    slots_close(E);
    free(len); free(cp_at); free(cp);
    return rc;
}

int plast_episode(const plast_net *net, const double *const *init, const double *const *meta,
                  const plast_episode_data *data, const plast_episode_opts *opts, plast_episode_out *out)
{
    ep E;
    memset(&E, 0, sizeof E);
    E.net = net; E.data = data; E.out = out; E.opts = opts; E.init = init;
    const char *prof_env = getenv("PLASTCC_PROFILE");
    E.profiling = prof_env && *prof_env && strcmp(prof_env, "0");
    double t_start = E.profiling ? plast_seconds() : 0;
    out->nonfinite = 0;
    out->what[0] = '\0';
    int want = opts->want_grad;
    if (setup(&E, init, meta, out->grad) < 0) { if (!out->what[0]) fail(&E, "out of memory"); teardown(&E); return -1; }
    if (want)
        for (int r = 0; r < net->n_rules; r++) memset(out->grad[r], 0, (size_t)net->rules[r].n_meta * sizeof(double));
    int T = data->steps;
    sweep_plan own;
    memset(&own, 0, sizeof own);
    void *W0 = want ? alloc(&E, E.state_total) : NULL;
    void *adjW = want ? alloc(&E, E.state_total) : NULL;
    int rc = !want || (W0 && adjW) ? 0 : -1;
    if (rc) fail(&E, "out of memory");
    if (rc == 0 && want && T > 0 &&
        !(E.plan = plast_sweep_plan_get(T, opts->sweep_states, opts->checkpoint_every, E.any_next_read,
                                        opts->curve_every <= 0, leaf_max(&E), E.in_place, &own))) {
        if (opts->sweep_states > 0 && opts->checkpoint_every <= 0)
            fail(&E, "%d copies of the state cannot hold the reverse sweep of %d steps", opts->sweep_states, T);
        else fail(&E, "out of memory for the reverse sweep's plan");
        rc = -1;
    }
    if (E.plan) { out->sweep_states = E.plan->slots; out->forward_steps = E.plan->steps; }
    out->in_place = E.in_place;
    if (rc == 0 && want) load_kind(&E, W0, init, PLAST_BUF_STATE);
    if (rc == 0) rc = loop_then_sweep(&E, T, W0, adjW, init, opts);
    for (int r = 0; want && rc == 0 && r < net->n_rules; r++) {
        double s = 0;   /* the gradient is double in either precision */
        for (int k = 0; k < net->rules[r].n_meta; k++) s += out->grad[r][k] * 0;
        if (s != 0) { out->nonfinite = 1; fail(&E, "the meta-gradient is NaN or Inf"); rc = -1; }
    }
    if (want && rc == 0) write_outputs(&E, NULL, adjW, init);
    out->peak_bytes = E.peak;
    release(&E, W0); release(&E, adjW);
    if (E.plan == &own) plast_sweep_plan_free(&own);
    teardown(&E);
    if (E.profiling) print_profile(&E, plast_seconds() - t_start);
    return rc;
}

/* ---- term magnitudes (for the per-term scale of the meta-optimiser) ---- */

/* Runs the dw kernel of update call P with the step's bindings and meta
 * META into dw_out (at the updated state's offset). */
static int call_dw(ep *E, const call_plan *P, const frame *F, const void *meta)
{
    bref refs[2 * 96 + 4];
    int nr = 0;
    for (int q = 0; q < P->n_fwd && nr < 2 * 96; q++) if (P->fwd[q].reg != REG_META) refs[nr++] = P->fwd[q];
    refs[nr++] = (bref){ "dw", REG_DW, E->off[P->c->update] };
    refs[nr++] = (bref){ "meta", REG_META, 0 };
    const void *saved = E->rule_meta[P->c->rule];
    E->rule_meta[P->c->rule] = meta;
    int rc = kcall(E, P->c->dw, P->c, refs, nr, NULL, F);
    E->rule_meta[P->c->rule] = saved;
    return rc;
}

/* At the state W and signals SIG of one step: adds the squares of dw of
 * every update call of RULE with meta = e_k, k = 0..n_meta-1, to SUMSQ[k]
 * (COUNT: the elements of the updated states), and writes every update
 * call's dw with the real meta into DW. */
static int term_sizes(ep *E, const void *W, void *sig, int rule, void *unit, void *unit_dw, void *dW,
                      double *sumsq, long *count)
{
    int n_meta = E->net->rules[rule].n_meta;
    frame F = { (void *)W, NULL, sig, NULL, NULL, E->data->batch, NULL };
    /* in the order of the states (W1 first), whatever the order of the calls */
    for (int bc = 0; bc < E->S->n_buf * E->S->n_step; bc++) {
        const call_plan *P = &E->step[bc % E->S->n_step];
        if (P->c->update != bc / E->S->n_step) continue;
        E->dw_out = dW;
        if (call_dw(E, P, &F, E->rule_meta[P->c->rule]) < 0) return -1;
        if (P->c->rule != rule) continue;
        size_t n = buf_elems(&E->S->buf[P->c->update]);
        const void *dw = at(E, unit_dw, E->off[P->c->update]);
        E->dw_out = unit_dw;
        for (int k = 0; k < n_meta; k++) {
            memset(unit, 0, (size_t)n_meta * E->esz);
            set(E, unit, (size_t)k, 1);
            if (call_dw(E, P, &F, unit) < 0) return -1;
            for (size_t q = 0; q < n; q++) { double v = get(E, dw, q); sumsq[k] += v * v; }
            if (k == 0) *count += (long)n;
        }
    }
    return 0;
}

/* The probe runs the rules' dw kernels and adds dW here (W + dW rounded once,
 * as the step kernels would); a schedule whose calls read the updated state
 * inside the step needs the step kernels themselves. */
int plast_term_magnitudes(const plast_net *net, const double *const *init, const double *const *meta,
                          const plast_episode_data *data, int rule, double *mag, char *err, size_t errlen)
{
    ep E;
    plast_episode_out out;
    memset(&E, 0, sizeof E);
    memset(&out, 0, sizeof out);
    E.net = net; E.data = data; E.out = &out;
    int n_meta = net->rules[rule].n_meta, rc = setup(&E, init, meta, NULL);
    void *W = alloc(&E, E.state_total), *dW = alloc(&E, E.state_total), *unit_dw = alloc(&E, E.state_total);
    void *next = alloc(&E, E.state_total);
    void *sig = alloc(&E, E.sig_cols * (size_t)data->batch), *unit = alloc(&E, (size_t)n_meta);
    double *sumsq = calloc((size_t)n_meta + 1, sizeof(double));
    if (rc == 0 && !(W && dW && unit_dw && next && sig && unit && sumsq)) { fail(&E, "out of memory"); rc = -1; }
    long count = 0;
    if (rc == 0) load_kind(&E, W, init, PLAST_BUF_STATE);
    for (int t = 0; rc == 0 && t < data->steps; t++) {
        int ran = 0;   /* the probe runs each step alone */
        rc = step_forward(&E, t, W, sig, E.any_next_read ? next : NULL, NULL, &ran);
        if (rc == 0) rc = term_sizes(&E, W, sig, rule, unit, unit_dw, dW, sumsq, &count);
        if (rc < 0) break;
        if (E.any_next_read) { void *w = W; W = next; next = w; }
        else add_elems(&E, W, dW, E.state_total);
    }
    for (int k = 0; k < n_meta; k++) mag[k] = count && sumsq ? sqrt(sumsq[k] / count) : 0;
    if (rc < 0) snprintf(err, errlen, "%s", out.what[0] ? out.what : "out of memory");
    release(&E, W); release(&E, dW); release(&E, unit_dw); release(&E, next); release(&E, sig); release(&E, unit);
    free(sumsq);
    teardown(&E);
    return rc;
}
