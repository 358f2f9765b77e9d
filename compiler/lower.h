/* lower — scheduling a kernel's DAG into loop nests over its index spaces.
 *
 * Each node gets a level: 0 for leaves, the maximum of its arguments', and one
 * more than its argument's for a reduction (its value exists only after the
 * loop that sums it).  Level by level, and within a level from smaller spaces
 * to larger ones, one loop nest per space computes that space's nodes:
 *  - a node that is not per-synapse is computed once, in the loop of its own
 *    space, and stored (hoisting: per-neuron values never run in the
 *    per-synapse loop);
 *  - per-synapse nodes are computed inside per-synapse loops, recomputed in
 *    each such loop that needs them rather than stored;
 *  - a reduction accumulates inside the loop of its argument, or of a later
 *    level when nothing per-synapse needs its value and that level has a
 *    per-synapse loop of its kind anyway (lower_kernel.place: one pass over
 *    the matrix less);
 *  - a row operator (kcap: a value per post neuron that reads every post
 *    element of its stored argument's row) is one level above its argument,
 *    so the row is complete, and is computed in the serial loop of its space.
 * (Of a level's per-synapse loops, a row loop that is not per sample and
 * writes an output, a rule's adjoint of w, runs last: lower_kernel.
 * seed_in_place.)
 * The samples of a minibatch are the outermost, sequential index; per-synapse
 * loops run in parallel over postsynaptic rows i, or over presynaptic columns
 * j when they sum over i — a reduction is never split across threads, so the
 * results do not depend on the thread count.
 */
#ifndef PLAST_LOWER_H
#define PLAST_LOWER_H

#include "kernel.h"

/* The element type of every array of a kernel (plastcc --precision). */
typedef enum { PREC_DOUBLE, PREC_SINGLE } lower_precision;

/* A sum over the presynaptic index j kept in a register (sum_pre) is added
 * in this many partial sums, element j into partial j mod lanes, then the
 * partials pairwise: 64 bytes of reals, 8 doubles or 16 floats.  Every back
 * end adds in this order (a serial chain of adds ran at one add per FP
 * latency; this order is what a vector unit does at full speed). */
static inline int lower_sum_lanes(lower_precision p) { return p == PREC_SINGLE ? 16 : 8; }

typedef struct lower_loop {
    int space;            /* the iteration space (SP_* bits) */
    int level;
    int par;              /* SP_POST: parallel over i (j inner); SP_PRE: over j (i inner); 0: serial */
    int *nodes;           /* nodes computed here, in id order (stored ones and inline ones) */
    int n_nodes;
    int *outs;            /* kernel outputs written here (indices into kern.out) */
    int n_outs;
    int mlp;              /* per-synapse, calling a meta-MLP (itself or in a sum over the samples) */
    int balanced;         /* per-synapse, calling a meta-MLP: its threads take chunks of rows (columns)
                             as they free up, not a static split (lower_fuse.c) */
    int work_samples;     /* per-synapse: each (i, j) iteration loops over the samples (a sum over them) */
    long par_min;         /* per-synapse: runs on threads when n_post * n_pre (times batch, if work_samples)
                             reaches this; else on the calling thread alone (lower_fuse.c) */
    int one_sample;       /* work_samples, no meta-MLP: the JIT adds a version of the loop for a batch of one,
                             whose per-row values leave the loop over j (lower_fuse.c) */
    int row_block;        /* per-synapse, vectorised, on one thread: rows the JIT runs at once, each in its
                             own order (lower_fuse.c; 1: a row at a time); for a column loop, also its fused
                             pass with the row loop after it */
    int batch_one;        /* a merged loop of a lower_one_pass: runs only for a batch of one, which the JIT
                             makes a constant in it */
} lower_loop;

/* How consecutive loops run (lower_fuse.c): LOOP alone (N_LOOPS 1), or
 * loops LOOP and LOOP + 1 as one pass over the matrix (N_LOOPS 2: a
 * column loop and a row loop of one level), on several threads as one pass
 * parallel over rows with stage matrices for the column sums when STAGED
 * (else the two loops apart), with loop ABSORB (the one after them)'s
 * sums over the samples computed in the same pass (-1: none). */
typedef struct lower_run {
    int loop, n_loops;
    int absorb;
    int staged;
} lower_run;

/* For a batch of one (online learning), consecutive runs of per-synapse
 * loops of one level that pass over the same matrices (apart for other
 * batches: some loops are per sample, some not): on one thread, the JIT
 * runs them as one pass, COL (their column loops merged, nodes in id
 * order) fused with ROW (their row loops merged, outputs last), or ROW
 * alone when the runs have no column loop (COL then has no nodes), when
 * batch == 1; else the runs as scheduled.
 * Loops of one level never read each other's results, so merging them
 * changes no value and no order of a sum: the same bits (lower_fuse.c). */
typedef struct lower_one_pass {
    int first_run, n_runs;   /* lower_kernel.runs it replaces */
    int streams, streams_apart;   /* per-synapse arrays read or written: by the pass, by the runs */
    lower_loop col, row;
} lower_one_pass;

/* A per-synapse loop runs on threads when its work reaches this many
 * synapse-samples (lower_loop.par_min): the weights, times the samples when
 * each weight's iteration loops over them, times LOWER_MLP_CELL_COST when
 * it calls a meta-MLP.  Below it (about a quarter of a millisecond on one
 * core) waking a sleeping thread, or waiting for one another process has
 * descheduled, costs more than the split saves: one parallel loop per
 * layer and sample of a batch-1 step made a default run 2.7 times slower
 * than one thread on an idle machine and 4-47 times on a busy one. */
enum { LOWER_PARALLEL_MIN_WORK = 1 << 18, LOWER_MLP_CELL_COST = 64 };
/* Rows a row loop of one sum over j, and a plain column loop's pass, run at
 * once in the JIT (lower_loop.row_block). */
enum { LOWER_ROW_BLOCK = 4, LOWER_PASS_BLOCK = 2 };

typedef struct lower_kernel {
    const kern *k;
    int *level;           /* per node */
    int *place;           /* per node: the level of the loop that computes a reduction (its argument's,
                             or a later one: sink_reductions in lower.c); that of its argument otherwise */
    char *live;           /* per node: needed by an output */
    int *store;           /* per node: scratch slot of a stored value, -1 inline/leaf */
    int n_store;
    lower_loop *loops;
    int n_loops;
    int *final_outs;      /* outputs written by a final broadcast loop */
    int n_final;
    lower_run *runs;      /* the loops in order, each alone or fused (lower_fuse.c) */
    int n_runs;
    lower_one_pass *one_pass;   /* for a batch of one: runs merged into one pass (lower_fuse.c) */
    int n_one_pass;
    int seed_in_place;    /* a rule's adjoint whose output adj_w may be the array of its input adj_dw: no
                             loop reads adj_dw after the loop that writes adj_w, which reads each element
                             before it writes it (lower.c; plast_kdesc.seed_in_place) */
    int next_in_place;    /* a rule's step whose output w_next may be the array of its input w, likewise
                             (plast_kdesc.next_in_place) */
} lower_kernel;

void lower_kernel_build(const kern *k, lower_kernel *lk);
void lower_kernel_free(lower_kernel *lk);

/* Whether node ID is computed inline (per-synapse, not a reduction, not a leaf). */
int lower_is_inline(const lower_kernel *lk, int id);
/* Whether node ID is a per-synapse sum over the samples: computed inline in
 * its (i, j) iteration by an inner loop over the samples (a "batch block"). */
int lower_is_batch_sum(const lower_kernel *lk, int id);
/* The inline nodes of the batch block of SUM, in id order; *OUT is malloc'ed. */
int lower_batch_block(const lower_kernel *lk, int sum, int **out);

/* Sums over the samples that share one inner loop over the samples: the
 * union of their batch blocks is computed once per sample, and each sum adds
 * its own argument to its own accumulator in sample order (so the bits are
 * those of one loop per sum).  Of a list of nodes, the batch sums in id
 * order join the group before them when neither their block nor the
 * group's reads a batch sum (so none depends on another); the group's loop
 * runs where its first sum is in the list.  Without it, each weight of a meta-MLP had a
 * loop of its own that recomputed the whole MLP: code quadratic in the
 * MLP's size. */
typedef struct lower_batch_group {
    int *sums, n_sums;    /* in id order; sums[0] is where the loop runs */
    int *block, n_block;  /* the union of their batch blocks, in id order */
} lower_batch_group;

/* The groups of the batch sums among NODES[0..n); *OUT is malloc'ed
 * (lower_batch_groups_free).  Returns their number. */
int lower_batch_groups(const lower_kernel *lk, const int *nodes, int n_nodes, lower_batch_group **out);
void lower_batch_groups_free(lower_batch_group *g, int n);
/* The group of G[0..n) whose loop computes batch sum ID; NULL if none. */
const lower_batch_group *lower_batch_group_of(const lower_batch_group *g, int n, int id);
/* An mlp_grad node (kern.mlp_grads) adds its parameters' adjoints into rows
 * of n_params values, one row per value of the index this returns for its
 * SPACE (SP_POST: per-synapse ones run parallel over post rows i; SP_SCALAR:
 * one row, the others run serially); after the loops the rows are added in
 * order into adj_meta: the same bits on any thread count. */
int lower_grad_row_space(int space);

/* The nodes among NODES[Q..n) computed with NODES[Q] by one routine call:
 * for an mlp_out, the mlp_out nodes of its call (same meta-MLP, pack and
 * space; plast_mlp_outs); for an mlp_vjp or mlp_grad, the mlp_vjp and
 * mlp_grad nodes of its call and seeds (one backward pass, plast_mlp_vjp).
 * NODES[Q] first, into OUT (room for n - Q).  Returns their number. */
int lower_mlp_siblings(const lower_kernel *lk, const int *nodes, int n_nodes, int q, int *out);

/* Sets LK's runs from its loops (lower_kernel_build calls it). */
void lower_schedule_runs(lower_kernel *lk);
/* Whether every sum of per-synapse loop L (other than the sums over the
 * samples) runs over LOCAL_BIT, the index its thread does not split: the
 * loop can then run several columns at once, each sum in a register (or,
 * for sums over i, its array at those columns). */
int lower_sums_over(const lower_kernel *lk, const lower_loop *L, int local_bit);
/* Whether node ID is one of the sums over i of a per-synapse loop (kept in an array across rows). */
int lower_is_column_sum(const lower_kernel *lk, int id);
/* Whether column loop LC and row loop LR share a meta-MLP call (one routine call when fused). */
int lower_share_mlp_call(const dag *d, const lower_loop *Lc, const lower_loop *Lr);

/* Whether kernel argument NAME is adj_dw or adj_w of a kernel whose adj_w
 * may be the array adj_dw (seed_in_place), or w or w_next of one whose
 * w_next may be the array w (next_in_place): no back end declares it
 * restrict or noalias. */
int lower_may_alias(const lower_kernel *lk, const char *name);

/* Prints the loop nests (--dump=loops). */
void lower_dump(FILE *out, const lower_kernel *lk);

#endif
