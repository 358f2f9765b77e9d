/* lower_fuse — which loop nests of a kernel run as one pass over the matrix
 * (lower_kernel.runs), and how their threads share the rows: the schedule
 * every back end follows.
 *
 * Two consecutive per-synapse loops of one level over the same samples, one
 * parallel over columns (its sums run over i) and one over rows (sums over
 * j), form a pair that one pass over the matrix computes: on one thread row
 * after row, the column sums adding into their arrays; on several threads,
 * when one meta-MLP call serves both loops (HAT's adjoint: the adjoints of
 * pre.y, of post.y and of the weights from one backward pass), one pass
 * parallel over rows whose column-sum terms go through stage matrices that
 * a second pass adds up per column in increasing i ("staged"); cheaper
 * bodies run apart there, where the stage matrices' traffic would cost what
 * fusing saves.  A per-synapse loop of sums over the samples just after a
 * staged pair, whose meta-MLP call the pair's row loop makes too (HAT's
 * adjoint of w), joins the pair's pass ("absorbed"): its sums' terms are
 * computed in the pass, and the loop runs after it from them.  Each sum keeps its
 * order every way, so the bits are those of the loops one after the other
 * (docs/architecture.md, "Determinism").
 *
 * Per-synapse loops that call a meta-MLP are "balanced": their threads take
 * chunks of rows (or columns) as they free up, which gives the same bits as
 * any other split.
 *
 * A per-synapse loop whose every weight sums over the samples (the mean of
 * dw over a batch, the adjoint of w) has, in the JIT, a second version for a
 * batch of one ("one_sample"), chosen at run time: there the loop over the
 * samples has one trip, and the values per row and sample it reads (the
 * post-synaptic factors) are loaded once per row instead of once per vector
 * of columns: online learning's update pass ran 11-14% faster.  Not for
 * loops calling a meta-MLP, whose bodies are large and whose batches are
 * not one.  The same operations in the same order: the same bits.
 *
 * For a batch of one, consecutive runs of one level whose loops would pass
 * over the same matrices again (kept apart for a batch of several because
 * some loops are per sample and others not) merge into one pass
 * (lower_one_pass) when it reads or writes fewer arrays of weights than
 * the runs: the pool's adjoint read its matrices ten times a step, seven
 * this way (two passes of nests 3-5 and 14-16, as they were numbered then,
 * become one each; six with sink_reductions in lower.c).  Row loops
 * alone merge too: an update fused with the next step's dense layer
 * (RULE_step_M_denseL) writes w_next and sums w_next y per row in one
 * pass, where a batch of several keeps the mean of dw over the samples
 * (per weight) apart from the sums per sample.
 *
 * PLASTCC_NO_FUSE=1 keeps every loop apart, PLASTCC_NO_ABSORB=1 the
 * absorbed loops, PLASTCC_NO_ONE_PASS=1 the one-sample passes (for
 * measuring). */
#include "config.h"
#include "lower.h"

#include <stdlib.h>
#include <string.h>

static int is_syn(int space) { return (space & SP_SYN) == SP_SYN; }

static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0");
}

int lower_is_column_sum(const lower_kernel *lk, int id)
{
    const dag_node *n = &lk->k->d->node[id];
    return dag_op_is_reduction(n->op) && !lower_is_batch_sum(lk, id) && dag_ops[n->op].reduces == SP_POST;
}

int lower_share_mlp_call(const dag *d, const lower_loop *Lc, const lower_loop *Lr)
{
    for (int a = 0; a < Lc->n_nodes; a++) {
        const dag_node *x = &d->node[Lc->nodes[a]];
        if (x->op != OP_MLP_OUT && x->op != OP_MLP_VJP && x->op != OP_MLP_GRAD) continue;
        for (int b = 0; b < Lr->n_nodes; b++) {
            const dag_node *y = &d->node[Lr->nodes[b]];
            if (Lc->nodes[a] == Lr->nodes[b] || y->index != x->index || y->arg[0] != x->arg[0] || y->arg[1] != x->arg[1] ||
                y->space != x->space)
                continue;
            if ((x->op == OP_MLP_OUT) == (y->op == OP_MLP_OUT)) return 1;
        }
    }
    return 0;
}

int lower_sums_over(const lower_kernel *lk, const lower_loop *L, int local_bit)
{
    for (int q = 0; q < L->n_nodes; q++) {
        const dag_node *n = &lk->k->d->node[L->nodes[q]];
        if (dag_op_is_reduction(n->op) && !lower_is_batch_sum(lk, L->nodes[q]) && dag_ops[n->op].reduces != local_bit)
            return 0;
    }
    return 1;
}

/* Loops A and B (consecutive) as one pass: per-synapse loops of one level
 * over the same samples, one parallel over columns and one over rows.
 * (Loops of one level never read each other's results; per-synapse loops
 * store nothing.) */
static int fusable(const lower_kernel *lk, const lower_loop *A, const lower_loop *B)
{
    if (!is_syn(A->space) || !is_syn(B->space) || A->level != B->level) return 0;
    if ((A->space & SP_SAMPLE) != (B->space & SP_SAMPLE) || A->par == B->par) return 0;
    const lower_loop *C = A->par == SP_PRE ? A : B, *R = A->par == SP_PRE ? B : A;
    return lower_sums_over(lk, C, SP_POST) && lower_sums_over(lk, R, SP_PRE);
}

static int staged(const lower_kernel *lk, const lower_loop *A, const lower_loop *B)
{
    const lower_loop *C = A->par == SP_PRE ? A : B, *R = A->par == SP_PRE ? B : A;
    for (int q = 0; q < C->n_nodes; q++)
        if (lower_is_column_sum(lk, C->nodes[q])) return lower_share_mlp_call(lk->k->d, C, R);
    return 0;
}

/* Whether loop X, just after staged pair A, B, joins their pass: a
 * per-synapse loop of their level over every sample (parallel over rows)
 * whose nodes are all sums over the samples, one of whose blocks calls a
 * meta-MLP that the pair's row loop calls too, so that the pass computes
 * its terms from the pair's call. */
static int absorbs(const lower_kernel *lk, const lower_loop *X, const lower_loop *A, const lower_loop *B)
{
    if (!is_syn(X->space) || (X->space & SP_SAMPLE) || X->par != SP_POST || X->level != A->level || !X->n_nodes) return 0;
    const lower_loop *R = A->par == SP_PRE ? B : A;
    const dag *d = lk->k->d;
    int shares = 0;
    for (int q = 0; q < X->n_nodes; q++) {
        if (!lower_is_batch_sum(lk, X->nodes[q])) return 0;
        int *blk, nb = lower_batch_block(lk, X->nodes[q], &blk), nested = 0;
        for (int r = 0; r < nb; r++) {
            const dag_node *x = &d->node[blk[r]];
            nested |= lower_is_batch_sum(lk, blk[r]);
            if (x->op != OP_MLP_VJP && x->op != OP_MLP_GRAD) continue;
            for (int t = 0; t < R->n_nodes; t++) {
                const dag_node *y = &d->node[R->nodes[t]];
                shares |= (y->op == OP_MLP_VJP || y->op == OP_MLP_GRAD) && y->index == x->index && y->arg[0] == x->arg[0] &&
                          y->arg[1] == x->arg[1] && y->space == x->space;
            }
        }
        free(blk);
        if (nested) return 0;
    }
    return shares;
}

/* Whether loop L calls a meta-MLP (itself or in the inner loop of a sum
 * over the samples): hundreds of flops per element, where balancing the
 * threads pays; cheap bodies keep the static split, whose rows stay with
 * their thread and which needs no shared counter. */
static int calls_mlp(const lower_kernel *lk, const lower_loop *L)
{
    const dag *d = lk->k->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q], op = d->node[id].op, found = 0;
        if (op == OP_MLP_OUT || op == OP_MLP_VJP || op == OP_MLP_GRAD) return 1;
        if (!lower_is_batch_sum(lk, id)) continue;
        int *blk, nb = lower_batch_block(lk, id, &blk);
        for (int r = 0; r < nb; r++) {
            int o = d->node[blk[r]].op;
            found |= o == OP_MLP_OUT || o == OP_MLP_VJP || o == OP_MLP_GRAD;
        }
        free(blk);
        if (found) return 1;
    }
    return 0;
}

/* Whether each (i, j) iteration of per-synapse loop L runs a loop over the
 * samples: L is not itself per sample and computes a sum over them. */
static int loops_over_samples(const lower_kernel *lk, const lower_loop *L)
{
    if (L->space & SP_SAMPLE) return 0;
    for (int q = 0; q < L->n_nodes; q++)
        if (lower_is_batch_sum(lk, L->nodes[q])) return 1;
    return 0;
}

/* Whether per-synapse loop L is plain arithmetic: no meta-MLP, no k-cap,
 * no sum over the samples (bodies worth a copy per row of a block); with
 * NO_OUTS, also no outputs (a block repeats its last row past the end). */
static int plain_loop(const lower_kernel *lk, const lower_loop *L, int no_outs)
{
    if (L->mlp || (no_outs && L->n_outs)) return 0;
    for (int q = 0; q < L->n_nodes; q++)
        if (lower_is_batch_sum(lk, L->nodes[q]) || lk->k->d->node[L->nodes[q]].op == OP_KCAP) return 0;
    return 1;
}

/* Rows a per-synapse loop runs at once in the JIT (vectorised, on one
 * thread); each row keeps its own sums over j and the sums over i add the
 * rows in increasing i, so any block gives the same bits.
 * - A row loop of plain arithmetic whose only sum over j is in partial
 *   sums (a layer's W y): LOWER_ROW_BLOCK, whose rows' chains of vector
 *   adds interleave (mlp5's 170x784 W y in fp32: 22 -> 15 us).  Bodies
 *   with two or more such sums already have independent chains, and
 *   copying them four times cost compile time for nothing.
 * - A column loop of plain arithmetic without outputs, alone or in a fused
 *   pass with a row loop like it: LOWER_PASS_BLOCK, its column sums held
 *   in registers across the rows, the per-column vectors loaded once for
 *   them (pool.rule's 784x170 pool_step 55 -> 49 us with two rows, 46 with
 *   four, for +20% and +35% JIT latency). */
static void row_blocks(lower_kernel *lk)
{
    for (int l = 0; l < lk->n_loops; l++) {
        lower_loop *L = &lk->loops[l];
        L->row_block = 1;
        if (!is_syn(L->space)) continue;
        int sums_j = 0;
        for (int q = 0; q < L->n_nodes; q++) sums_j += lk->k->d->node[L->nodes[q]].op == OP_SUM_PRE;
        if (L->par == SP_POST && plain_loop(lk, L, 0) && sums_j == 1) L->row_block = LOWER_ROW_BLOCK;
        if (L->par == SP_PRE && plain_loop(lk, L, 1)) L->row_block = LOWER_PASS_BLOCK;
    }
    for (int r = 0; r < lk->n_runs; r++) {   /* a pass blocks its column loop's rows if both loops are plain */
        const lower_run *R = &lk->runs[r];
        if (R->n_loops < 2) continue;
        lower_loop *A = &lk->loops[R->loop], *B = &lk->loops[R->loop + 1], *C = A->par == SP_PRE ? A : B;
        if (R->absorb >= 0 || !plain_loop(lk, A, 1) || !plain_loop(lk, B, 1)) C->row_block = 1;
    }
}

/* Whether per-synapse loop L of level LEVEL can join a one-sample pass: no
 * meta-MLP or k-cap; a column loop writes nothing (its rows run in blocks)
 * and sums only over i, a row loop only over j. */
static int mergeable(const lower_kernel *lk, const lower_loop *L, int level)
{
    if (!is_syn(L->space) || L->level != level || L->mlp || !L->par) return 0;
    for (int q = 0; q < L->n_nodes; q++)
        if (lk->k->d->node[L->nodes[q]].op == OP_KCAP) return 0;
    if (L->par == SP_PRE) return !L->n_outs && lower_sums_over(lk, L, SP_POST);
    return lower_sums_over(lk, L, SP_PRE);
}

/* Marks in SEEN the per-synapse arrays loop L reads or writes: its inputs
 * (by input slot) through its nodes and the blocks of its sums over the
 * samples, and its outputs (slot n_input + output; adj_w as adj_dw's
 * array when the kernel runs in place). */
static void mark_matrices(const lower_kernel *lk, const lower_loop *L, char *seen)
{
    const dag *d = lk->k->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int *blk = NULL, nb = lower_is_batch_sum(lk, L->nodes[q]) ? lower_batch_block(lk, L->nodes[q], &blk) : 0;
        for (int r = -1; r < nb; r++) {
            const dag_node *n = &d->node[r < 0 ? L->nodes[q] : blk[r]];
            for (int a = 0; a < dag_ops[n->op].arity; a++) {
                if (n->arg[a] < 0) continue;
                const dag_node *x = &d->node[n->arg[a]];
                if (x->op == OP_INPUT && is_syn(x->space)) seen[x->aux] = 1;
            }
        }
        free(blk);
    }
    for (int q = 0; q < L->n_outs; q++) {
        int o = L->outs[q], slot = d->n_input + o;
        if (lk->seed_in_place && !strcmp(lk->k->out[o].name, "adj_w"))
            for (int s = 0; s < d->n_input; s++) if (!strcmp(d->input[s].name, "adj_dw")) slot = s;
        seen[slot] = 1;
    }
}

static int count_marks(const char *seen, int n)
{
    int c = 0;
    for (int k = 0; k < n; k++) c += seen[k];
    return c;
}

/* OUT: the loops SRC[0..n) (one level, one par) as one loop for a batch of
 * one: their nodes in id order, their outputs in loop order. */
static void merge_loops(const lower_kernel *lk, const lower_loop *const *src, int n, lower_loop *out)
{
    int n_ids = lk->k->d->n;
    char *in = calloc((size_t)n_ids + 1, 1);
    memset(out, 0, sizeof *out);
    out->space = SP_SYN;
    out->level = src[0]->level;
    out->par = src[0]->par;
    int n_outs = 0;
    for (int k = 0; k < n; k++) {
        for (int q = 0; q < src[k]->n_nodes; q++) in[src[k]->nodes[q]] = 1;
        out->space |= src[k]->space & SP_SAMPLE;
        out->work_samples |= src[k]->work_samples;
        n_outs += src[k]->n_outs;
    }
    out->nodes = malloc((size_t)n_ids * sizeof *out->nodes + 1);
    for (int id = 0; id < n_ids; id++) if (in[id]) out->nodes[out->n_nodes++] = id;
    out->outs = malloc((size_t)n_outs * sizeof *out->outs + 1);
    for (int k = 0; k < n; k++)
        for (int q = 0; q < src[k]->n_outs; q++) out->outs[out->n_outs++] = src[k]->outs[q];
    out->par_min = LOWER_PARALLEL_MIN_WORK;
    out->row_block = 1;
    out->batch_one = 1;
    free(in);
}

/* Whether run R's loops can all join a one-sample pass of level LEVEL. */
static int run_mergeable(const lower_kernel *lk, const lower_run *R, int level)
{
    if (R->absorb >= 0 || R->staged) return 0;
    for (int q = 0; q < R->n_loops; q++)
        if (!mergeable(lk, &lk->loops[R->loop + q], level)) return 0;
    return 1;
}

/* Whether row loop L (merged for a batch of one) has one sum over j, its
 * chain of vector adds the pass's latency unless rows interleave (an
 * update with the next step's W y: 16% slower than the update alone in
 * rows of one), and no meta-MLP or k-cap; its sums over the samples have
 * one term there. */
static int one_sum_over_j(const lower_kernel *lk, const lower_loop *L)
{
    int sums_j = 0;
    for (int q = 0; q < L->n_nodes; q++) {
        int op = lk->k->d->node[L->nodes[q]].op;
        if (op == OP_KCAP) return 0;
        sums_j += op == OP_SUM_PRE;
    }
    return sums_j == 1 && !L->mlp;
}

/* The one-sample passes (lower_one_pass) of LK's runs. */
static void one_sample_passes(lower_kernel *lk)
{
    const dag *d = lk->k->d;
    int n_slots = d->n_input + lk->k->n_out;
    char *seen = malloc((size_t)n_slots + 1);
    const lower_loop **col = malloc((size_t)lk->n_loops * sizeof *col + 1), **row = malloc((size_t)lk->n_loops * sizeof *row + 1);
    lk->one_pass = malloc((size_t)lk->n_runs * sizeof *lk->one_pass + 1);
    lk->n_one_pass = 0;
    for (int r = 0; r < lk->n_runs; r++) {
        int level = lk->loops[lk->runs[r].loop].level, e = r;
        while (e < lk->n_runs && run_mergeable(lk, &lk->runs[e], level)) e++;
        if (e - r < 2) continue;
        int n_col = 0, n_row = 0, apart = 0;
        memset(seen, 0, (size_t)n_slots);
        for (int q = r; q < e; q++) {
            char *own = calloc((size_t)n_slots + 1, 1);
            for (int k = 0; k < lk->runs[q].n_loops; k++) {
                const lower_loop *L = &lk->loops[lk->runs[q].loop + k];
                mark_matrices(lk, L, own);
                mark_matrices(lk, L, seen);
                if (L->par == SP_PRE) col[n_col++] = L;
                else row[n_row++] = L;
            }
            apart += count_marks(own, n_slots);
            free(own);
        }
        int merged = count_marks(seen, n_slots);
        /* a column loop and a row loop, or row loops alone (an update and
         * the next step's W y over the updated weights) */
        if (n_row && (n_col || n_row >= 2) && merged < apart) {
            lower_one_pass *P = &lk->one_pass[lk->n_one_pass++];
            memset(P, 0, sizeof *P);
            P->first_run = r;
            P->n_runs = e - r;
            P->streams = merged;
            P->streams_apart = apart;
            if (n_col) merge_loops(lk, col, n_col, &P->col);
            merge_loops(lk, row, n_row, &P->row);
            if (n_col && plain_loop(lk, &P->col, 1) && plain_loop(lk, &P->row, 1)) P->col.row_block = LOWER_PASS_BLOCK;
            if (!n_col && one_sum_over_j(lk, &P->row)) P->row.row_block = LOWER_ROW_BLOCK;
            r = e - 1;
        }
    }
    free(seen);
    free(col);
    free(row);
}

void lower_schedule_runs(lower_kernel *lk)
{
    for (int l = 0; l < lk->n_loops; l++) {
        lower_loop *L = &lk->loops[l];
        int mlp = is_syn(L->space) && calls_mlp(lk, L);
        L->mlp = mlp;
        L->balanced = mlp && L->par;
        L->work_samples = is_syn(L->space) && loops_over_samples(lk, L);
        L->par_min = LOWER_PARALLEL_MIN_WORK / (mlp ? LOWER_MLP_CELL_COST : 1);
        L->one_sample = L->work_samples && !mlp;
    }
    int no_fuse = env_on("PLASTCC_NO_FUSE"), no_absorb = env_on("PLASTCC_NO_ABSORB");
    const lower_loop *L = lk->loops;
    lk->runs = malloc((size_t)(lk->n_loops + 1) * sizeof *lk->runs);
    lk->n_runs = 0;
    for (int l = 0; l < lk->n_loops; l++) {
        lower_run r = { l, 1, -1, 0 };
        if (!no_fuse && !no_absorb && l + 2 < lk->n_loops && fusable(lk, &L[l], &L[l + 1]) &&
            staged(lk, &L[l], &L[l + 1]) && absorbs(lk, &L[l + 2], &L[l], &L[l + 1])) {
            r = (lower_run){ l, 2, l + 2, 1 };
            l += 2;
        } else if (!no_fuse && l + 1 < lk->n_loops && fusable(lk, &L[l], &L[l + 1])) {
            r = (lower_run){ l, 2, -1, staged(lk, &L[l], &L[l + 1]) };
            l++;
        }
        lk->runs[lk->n_runs++] = r;
    }
    row_blocks(lk);
    lk->one_pass = NULL;
    lk->n_one_pass = 0;
    if (!no_fuse && !env_on("PLASTCC_NO_ONE_PASS")) one_sample_passes(lk);
}
