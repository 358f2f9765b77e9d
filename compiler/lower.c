/* lower — loop nests from a kernel's DAG (see lower.h). */
#include "config.h"
#include "lower.h"

#include <stdlib.h>
#include <string.h>

static int is_leaf(dag_op op) { return dag_ops[op].kind == OPK_LEAF; }
static int is_syn(int space) { return (space & SP_SYN) == SP_SYN; }
/* A pack has no value of its own (its calls read its items), and an
 * mlp_grad adds into rows of its own (lower.h): neither is stored. */
static int is_unstored(dag_op op) { return op == OP_PACK || op == OP_MLP_GRAD; }

int lower_is_batch_sum(const lower_kernel *lk, int id)
{
    const dag_node *n = &lk->k->d->node[id];
    return n->op == OP_SUM_BATCH && is_syn(n->space);
}

int lower_grad_row_space(int space) { return is_syn(space) ? SP_POST : SP_SCALAR; }

int lower_mlp_siblings(const lower_kernel *lk, const int *nodes, int n_nodes, int q, int *out)
{
    const dag *d = lk->k->d;
    const dag_node *a = &d->node[nodes[q]];
    int n = 0;
    int backward = a->op != OP_MLP_OUT;
    for (int r = q; r < n_nodes; r++) {
        const dag_node *b = &d->node[nodes[r]];
        int same_kind = backward ? b->op == OP_MLP_VJP || b->op == OP_MLP_GRAD : b->op == OP_MLP_OUT;
        if (same_kind && b->index == a->index && b->arg[0] == a->arg[0] && b->arg[1] == a->arg[1] && b->space == a->space)
            out[n++] = nodes[r];
    }
    return n;
}

int lower_is_inline(const lower_kernel *lk, int id)
{
    const dag_node *n = &lk->k->d->node[id];
    return (!is_leaf(n->op) && !dag_op_is_reduction(n->op) && is_syn(n->space)) || lower_is_batch_sum(lk, id);
}

/* Levels from the places of the reductions (lk->place, or -1: at their
 * argument's level): a node's is the largest of its arguments', one more
 * for a reduction's value (after the loop at its place). */
static void level_nodes(lower_kernel *lk)
{
    const dag *d = lk->k->d;
    for (int id = 0; id < d->n; id++) {
        const dag_node *n = &d->node[id];
        int lv = 0;
        for (int a = 0; a < 2; a++) if (n->arg[a] >= 0 && lk->level[n->arg[a]] > lv) lv = lk->level[n->arg[a]];
        if (lk->place[id] < 0 || lk->place[id] < lv) lk->place[id] = lv;
        /* a per-synapse sum over the batch is pointwise in (i, j): no new level;
         * a row operator (kcap) reads its argument's whole row: one more */
        int next = (dag_op_is_reduction(n->op) && !lower_is_batch_sum(lk, id)) || dag_ops[n->op].kind == OPK_ROW;
        lk->level[id] = next ? lk->place[id] + 1 : lv;
    }
}

/* The direction of per-synapse reduction ID over space SPACE's loops: 1
 * for a column sum (a loop parallel over j), 0 for a row sum. */
static int by_columns(const dag_node *n)
{
    return n->op == OP_SUM_POST || n->op == OP_MAX_POST;
}

/* As late as possible: a reduction over a per-synapse value whose result
 * nothing per-synapse reads (it feeds only per-neuron values and scalars:
 * an adjoint's outputs per neuron, a meta-parameter's gradient) moves to
 * the last level that has a per-synapse loop of its space and direction
 * anyway, so that its own level need not pass over the matrix for it (the
 * pool's adjoint: the row sum of adj_dw weighted by a level-1 column sum
 * joins the level-2 pass; 3 passes instead of 4 for a batch of one).  The
 * sum's terms and their order are the same in any loop: the same bits.
 * Not for kernels calling a meta-MLP. */
static void sink_reductions(lower_kernel *lk)
{
    const dag *d = lk->k->d;
    if (d->n_mlp > 0) return;
    int max_level = 0;
    for (int id = 0; id < d->n; id++) if (lk->live[id] && lk->level[id] > max_level) max_level = lk->level[id];
    /* feeds[x]: a per-synapse value (inline, or a sum over the samples) reads x, directly or not */
    char *feeds = calloc((size_t)d->n + 1, 1);
    for (int id = d->n - 1; id >= 0; id--) {
        const dag_node *n = &d->node[id];
        if (!lk->live[id]) continue;
        int syn = is_syn(n->space) && !dag_op_is_reduction(n->op);
        for (int a = 0; a < 2; a++) if (n->arg[a] >= 0 && (syn || feeds[id])) feeds[n->arg[a]] = 1;
    }
    /* loop[level][sample][columns]: a per-synapse loop there, as placed now */
    char (*loop)[2][2] = calloc((size_t)max_level + 2, sizeof *loop);
    for (int id = 0; id < d->n; id++) {
        const dag_node *n = &d->node[id];
        if (!lk->live[id]) continue;
        if (dag_op_is_reduction(n->op) && !lower_is_batch_sum(lk, id) && is_syn(d->node[n->arg[0]].space))
            loop[lk->level[n->arg[0]]][(d->node[n->arg[0]].space & SP_SAMPLE) != 0][by_columns(n)] = 1;
    }
    for (int o = 0; o < lk->k->n_out; o++) {
        int node = lk->k->out[o].node;
        if (node >= 0 && lower_is_inline(lk, node) && is_syn(d->node[node].space) && lk->k->out[o].space == d->node[node].space)
            loop[lk->level[node]][(d->node[node].space & SP_SAMPLE) != 0][0] = 1;
    }
    int moved = 0;
    for (int id = 0; id < d->n; id++) {
        const dag_node *n = &d->node[id];
        if (!lk->live[id] || feeds[id] || !dag_op_is_reduction(n->op) || lower_is_batch_sum(lk, id)) continue;
        const dag_node *x = &d->node[n->arg[0]];
        if (!is_syn(x->space)) continue;
        int from = lk->level[n->arg[0]], sample = (x->space & SP_SAMPLE) != 0, to = from;
        for (int l = from + 1; l <= max_level; l++) if (loop[l][sample][by_columns(n)]) to = l;
        if (to > from) { lk->place[id] = to; moved = 1; }
    }
    if (moved) level_nodes(lk);
    free(loop);
    free(feeds);
}

static void assign_levels(lower_kernel *lk)
{
    const dag *d = lk->k->d;
    lk->level = calloc((size_t)d->n + 1, sizeof *lk->level);
    lk->place = malloc((size_t)(d->n + 1) * sizeof *lk->place);
    for (int id = 0; id < d->n; id++) lk->place[id] = -1;
    level_nodes(lk);
    const char *no_sink = getenv("PLASTCC_NO_SINK");   /* for measuring: the same bits */
    if (!no_sink || !*no_sink || !strcmp(no_sink, "0")) sink_reductions(lk);
}

/* Stored: every live non-leaf that is not inline (per-neuron values and reductions). */
static void assign_storage(lower_kernel *lk)
{
    const dag *d = lk->k->d;
    lk->store = malloc((size_t)(d->n + 1) * sizeof *lk->store);
    lk->n_store = 0;
    for (int id = 0; id < d->n; id++) {
        lk->store[id] = -1;
        if (lk->live[id] && !is_leaf(d->node[id].op) && !is_unstored(d->node[id].op) && !lower_is_inline(lk, id))
            lk->store[id] = lk->n_store++;
    }
}

static lower_loop *new_loop(lower_kernel *lk, int space, int level, int par)
{
    lk->loops = realloc(lk->loops, (size_t)(lk->n_loops + 1) * sizeof *lk->loops);
    lower_loop *L = &lk->loops[lk->n_loops++];
    memset(L, 0, sizeof *L);
    L->space = space;
    L->level = level;
    L->par = par;
    return L;
}

static void loop_add_node(lower_loop *L, int id)
{
    L->nodes = realloc(L->nodes, (size_t)(L->n_nodes + 1) * sizeof *L->nodes);
    L->nodes[L->n_nodes++] = id;
}

static void loop_add_out(lower_loop *L, int o)
{
    L->outs = realloc(L->outs, (size_t)(L->n_outs + 1) * sizeof *L->outs);
    L->outs[L->n_outs++] = o;
}

/* The inline per-synapse nodes a target needs, marked in NEED (recursively
 * through inline nodes only: stored values are read from scratch). */
static void need_inline(const lower_kernel *lk, int id, char *need)
{
    const dag *d = lk->k->d;
    if (need[id]) return;
    need[id] = 1;
    if (lower_is_batch_sum(lk, id)) return;   /* its samples are summed in a block of its own */
    for (int a = 0; a < 2; a++) {
        int x = d->node[id].arg[a];
        if (x >= 0 && lower_is_inline(lk, x)) need_inline(lk, x, need);
    }
}

/* A per-synapse loop at LEVEL over SPACE computing the reductions in REDS
 * (their arguments) and the outputs in OUTS, with parallel index PAR. */
static void syn_loop(lower_kernel *lk, int space, int level, int par, const int *reds, int n_reds,
                     const int *outs, int n_outs)
{
    const dag *d = lk->k->d;
    if (!n_reds && !n_outs) return;
    char *need = calloc((size_t)d->n + 1, 1);
    lower_loop *L = new_loop(lk, space, level, par);
    for (int r = 0; r < n_reds; r++) {
        int arg = d->node[reds[r]].arg[0];
        if (d->node[reds[r]].op == OP_MLP_GRAD) need_inline(lk, reds[r], need);
        else if (lower_is_inline(lk, arg)) need_inline(lk, arg, need);
    }
    for (int o = 0; o < n_outs; o++) {
        int node = lk->k->out[outs[o]].node;
        if (lower_is_inline(lk, node)) need_inline(lk, node, need);
        loop_add_out(L, outs[o]);
    }
    for (int r = 0; r < n_reds; r++) need[reds[r]] = 1;
    for (int id = 0; id < d->n; id++) if (need[id]) loop_add_node(L, id);
    free(need);
}

/* Level LEVEL, per-synapse space SPACE: reductions over i go to a loop
 * parallel over j, everything else to a loop parallel over i.  PART: both
 * (SYN_ALL); the column loop, and the row loop if it writes no output
 * (SYN_FIRST); the row loop if it writes an output (SYN_LAST). */
enum { SYN_ALL, SYN_FIRST, SYN_LAST };
static void schedule_syn(lower_kernel *lk, int level, int space, int part)
{
    const kern *k = lk->k;
    const dag *d = k->d;
    int *by_j = malloc((size_t)d->n * sizeof *by_j), *by_i = malloc((size_t)d->n * sizeof *by_i);
    int *outs = malloc((size_t)(k->n_out + 1) * sizeof *outs);
    int nj = 0, ni = 0, no = 0;
    for (int id = 0; id < d->n; id++) {
        const dag_node *n = &d->node[id];
        if (lk->live[id] && n->op == OP_MLP_GRAD && n->space == space && lk->level[id] == level) {
            by_i[ni++] = id;   /* adds into row i of its accumulator: parallel over i */
            continue;
        }
        if (!lk->live[id] || !dag_op_is_reduction(n->op) || lower_is_batch_sum(lk, id)) continue;
        int arg = n->arg[0];
        if (d->node[arg].space != space || lk->place[id] != level) continue;
        if (n->op == OP_SUM_POST || n->op == OP_MAX_POST) by_j[nj++] = id; else by_i[ni++] = id;
    }
    for (int o = 0; o < k->n_out; o++) {
        int node = k->out[o].node;
        if (node >= 0 && lower_is_inline(lk, node) && d->node[node].space == space && lk->level[node] == level &&
            k->out[o].space == space)
            outs[no++] = o;
    }
    if (part != SYN_LAST) syn_loop(lk, space, level, SP_PRE, by_j, nj, NULL, 0);
    if (part == SYN_ALL || (part == SYN_FIRST && !no) || (part == SYN_LAST && no))
        syn_loop(lk, space, level, SP_POST, by_i, ni, outs, no);
    free(by_j); free(by_i); free(outs);
}

/* Level LEVEL, a space that is not per-synapse: its stored nodes, and the
 * reductions of its values.  A long list is cut into loops of at most
 * SMALL_LOOP_MAX nodes, in id order (a node only reads stored values of
 * earlier loops): a C compiler analyses the dependences of every pair of
 * arrays a loop touches, which for the hundreds of per-neuron values of a
 * wide meta-MLP took minutes in one loop and takes seconds in short ones. */
enum { SMALL_LOOP_MAX = 32 };
static void schedule_small(lower_kernel *lk, int level, int space)
{
    const dag *d = lk->k->d;
    lower_loop *L = NULL;
    for (int id = 0; id < d->n; id++) {
        const dag_node *n = &d->node[id];
        if (!lk->live[id] || is_leaf(n->op) || n->op == OP_PACK || lower_is_inline(lk, id)) continue;
        int here = !dag_op_is_reduction(n->op) && n->space == space && lk->level[id] == level;
        int red = dag_op_is_reduction(n->op) && d->node[n->arg[0]].space == space && lk->place[id] == level;
        if (!here && !red) continue;
        if (!L || L->n_nodes == SMALL_LOOP_MAX) L = new_loop(lk, space, level, 0);
        loop_add_node(L, id);
    }
}

int lower_batch_block(const lower_kernel *lk, int sum, int **out)
{
    const dag *d = lk->k->d;
    char *need = calloc((size_t)d->n + 1, 1);
    int arg = d->node[sum].arg[0], n = 0;
    if (lower_is_inline(lk, arg)) need_inline(lk, arg, need);
    *out = malloc((size_t)(d->n + 1) * sizeof **out);
    for (int id = 0; id < d->n; id++) if (need[id]) (*out)[n++] = id;
    free(need);
    return n;
}

static int block_has_batch_sum(const lower_kernel *lk, const int *blk, int nb)
{
    for (int q = 0; q < nb; q++) if (lower_is_batch_sum(lk, blk[q])) return 1;
    return 0;
}

/* Adds batch sum ID with block BLK[0..nb) to group G: its block merged into
 * G's in id order. */
static void group_add(lower_batch_group *g, int id, const int *blk, int nb)
{
    g->sums = realloc(g->sums, (size_t)(g->n_sums + 1) * sizeof *g->sums);
    g->sums[g->n_sums++] = id;
    int *merged = malloc((size_t)(g->n_block + nb + 1) * sizeof *merged), n = 0, a = 0, b = 0;
    while (a < g->n_block || b < nb) {
        if (b == nb || (a < g->n_block && g->block[a] < blk[b])) merged[n++] = g->block[a++];
        else if (a == g->n_block || blk[b] < g->block[a]) merged[n++] = blk[b++];
        else merged[n++] = g->block[a++], b++;
    }
    free(g->block);
    g->block = merged;
    g->n_block = n;
}

int lower_batch_groups(const lower_kernel *lk, const int *nodes, int n_nodes, lower_batch_group **out)
{
    lower_batch_group *g = NULL;
    int n = 0, open_fusable = 0;
    for (int q = 0; q < n_nodes; q++) {
        int id = nodes[q];
        if (!lower_is_batch_sum(lk, id)) continue;
        int *blk, nb = lower_batch_block(lk, id, &blk);
        int fusable = !block_has_batch_sum(lk, blk, nb);
        if (!(n > 0 && open_fusable && fusable)) {   /* no block reads another sum: independent */
            g = realloc(g, (size_t)(n + 1) * sizeof *g);
            memset(&g[n++], 0, sizeof *g);
            open_fusable = fusable;
        }
        group_add(&g[n - 1], id, blk, nb);
        free(blk);
    }
    *out = g;
    return n;
}

void lower_batch_groups_free(lower_batch_group *g, int n)
{
    for (int k = 0; k < n; k++) { free(g[k].sums); free(g[k].block); }
    free(g);
}

const lower_batch_group *lower_batch_group_of(const lower_batch_group *g, int n, int id)
{
    for (int k = 0; k < n; k++)
        for (int m = 0; m < g[k].n_sums; m++) if (g[k].sums[m] == id) return &g[k];
    return NULL;
}

static int popcount3(int s) { return (s & 1) + (s >> 1 & 1) + (s >> 2 & 1); }

/* Whether node ID is input slot SLOT or reads it directly: as an argument,
 * or an item of a pack it takes (a meta-MLP call's inputs or seeds). */
static int reads_slot(const dag *d, int id, int slot)
{
    const dag_node *n = &d->node[id];
    if (n->op == OP_INPUT) return n->aux == slot;
    for (int a = 0; a < 2; a++) {
        int x = n->arg[a];
        if (x >= 0 && (d->node[x].op == OP_INPUT || d->node[x].op == OP_PACK) && reads_slot(d, x, slot)) return 1;
    }
    return 0;
}

/* Whether loop L reads input slot SLOT: its nodes, the inner loops of its
 * sums over the samples, its outputs. */
static int loop_reads_slot(const lower_kernel *lk, const lower_loop *L, int slot)
{
    const dag *d = lk->k->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q], found = reads_slot(d, id, slot);
        if (!found && lower_is_batch_sum(lk, id)) {
            int *blk, nb = lower_batch_block(lk, id, &blk);
            for (int r = 0; r < nb && !found; r++) found = reads_slot(d, blk[r], slot);
            free(blk);
        }
        if (found) return 1;
    }
    for (int q = 0; q < L->n_outs; q++)
        if (reads_slot(d, lk->k->out[L->outs[q]].node, slot)) return 1;
    return 0;
}

/* Whether output OUT_NAME (per-synapse; accumulated when ACCUMULATE) may be
 * the array of per-synapse input IN_NAME: the loop that writes it reads
 * each element of the input before it writes that element (a loop of the
 * kernel's own loops reads and writes element (i, j) in the same
 * iteration), and no later loop nor final output reads the input. */
static int may_share_array(const lower_kernel *lk, const char *in_name, const char *out_name, int accumulate)
{
    const kern *k = lk->k;
    const dag *d = k->d;
    int in = -1, out = -1, writer = -1;
    for (int s = 0; s < d->n_input; s++) if (!strcmp(d->input[s].name, in_name)) in = s;
    for (int o = 0; o < k->n_out; o++)
        if (!strcmp(k->out[o].name, out_name) && k->out[o].accumulate == accumulate) out = o;
    if (in < 0 || out < 0 || d->input[in].space != SP_SYN || k->out[out].space != SP_SYN) return 0;
    for (int l = 0; l < lk->n_loops; l++)
        for (int q = 0; q < lk->loops[l].n_outs; q++) if (lk->loops[l].outs[q] == out) writer = l;
    if (writer < 0) return 0;   /* (written by a final loop) */
    for (int l = writer + 1; l < lk->n_loops; l++)
        if (loop_reads_slot(lk, &lk->loops[l], in)) return 0;
    for (int q = 0; q < lk->n_final; q++)
        if (reads_slot(d, k->out[lk->final_outs[q]].node, in)) return 0;
    return 1;
}

/* A rule's adjoint accumulates adj_w, the adjoint of its weights, and reads
 * adj_dw, that of their update; the episode's adjoint of the state holds
 * adj(S_{t+1}) = adj_dw and becomes adj(S_t) = adj_dw + adj_w.  When adj_w
 * may share adj_dw's array, the episode need not copy the seed apart first
 * (runtime/episode.c, seed_in_place). */
static int seed_in_place(const lower_kernel *lk)
{
    return may_share_array(lk, "adj_dw", "adj_w", 1);
}

/* A rule's step (and its step fused with the next dense call) reads the
 * weights w and writes w_next = w + dw.  When w_next may share w's array,
 * a run of the inner loop that keeps no earlier state updates the weights
 * in place (runtime/episode.c, next_in_place): half the matrices' working
 * set, and no line of a second copy to fetch before it is written. */
static int next_in_place(const lower_kernel *lk)
{
    return may_share_array(lk, "w", "w_next", 0);
}

int lower_may_alias(const lower_kernel *lk, const char *name)
{
    return (lk->seed_in_place && (!strcmp(name, "adj_dw") || !strcmp(name, "adj_w"))) ||
           (lk->next_in_place && (!strcmp(name, "w") || !strcmp(name, "w_next")));
}

void lower_kernel_build(const kern *k, lower_kernel *lk)
{
    memset(lk, 0, sizeof *lk);
    lk->k = k;
    lk->live = kern_live(lk->k);
    assign_levels(lk);
    assign_storage(lk);
    int max_level = 0;
    for (int id = 0; id < k->d->n; id++) if (lk->live[id] && lk->level[id] > max_level) max_level = lk->level[id];
    /* Per-neuron spaces first (subsets before supersets), then the
     * per-synapse ones: a per-synapse value is always computed inline, so
     * per-synapse loops only read stored values, never produce them for
     * their own level.  The per-synapse loops not per sample first (a
     * light pass such as the pool's sum of w adj_dw streams the matrices
     * in from memory for the heavier per-sample passes: 20% faster out of
     * the cache), but a row loop of them that writes an output last: a
     * rule's adjoint of w then comes after the loops that read the seed
     * adj_dw (seed_in_place below). */
    int order[8], n = 0;
    for (int pc = 0; pc <= 3; pc++)
        for (int s = 0; s < 8; s++) if (popcount3(s) == pc && !is_syn(s)) order[n++] = s;
    for (int level = 0; level <= max_level; level++) {
        for (int o = 0; o < n; o++) schedule_small(lk, level, order[o]);
        schedule_syn(lk, level, SP_SYN, SYN_FIRST);
        schedule_syn(lk, level, SP_SYN | SP_SAMPLE, SYN_ALL);
        schedule_syn(lk, level, SP_SYN, SYN_LAST);
    }
    /* Outputs not written inside a per-synapse loop: a final loop each. */
    lk->final_outs = malloc((size_t)(k->n_out + 1) * sizeof *lk->final_outs);
    for (int o = 0; o < k->n_out; o++) {
        int written = 0;
        for (int l = 0; l < lk->n_loops; l++)
            for (int q = 0; q < lk->loops[l].n_outs; q++) written |= lk->loops[l].outs[q] == o;
        if (!written && k->out[o].node >= 0) lk->final_outs[lk->n_final++] = o;
    }
    lk->seed_in_place = seed_in_place(lk);   /* from the loops; the runs count adj_w as adj_dw's array then */
    lk->next_in_place = next_in_place(lk);
    lower_schedule_runs(lk);
}

void lower_kernel_free(lower_kernel *lk)
{
    for (int l = 0; l < lk->n_loops; l++) { free(lk->loops[l].nodes); free(lk->loops[l].outs); }
    free(lk->loops);
    free(lk->level);
    free(lk->place);
    free(lk->live);
    free(lk->store);
    free(lk->final_outs);
    free(lk->runs);
    for (int q = 0; q < lk->n_one_pass; q++) {
        free(lk->one_pass[q].col.nodes); free(lk->one_pass[q].col.outs);
        free(lk->one_pass[q].row.nodes); free(lk->one_pass[q].row.outs);
    }
    free(lk->one_pass);
    memset(lk, 0, sizeof *lk);
}

/* A sum over the samples: the inner loop of its group, printed at the
 * group's first sum. */
static void dump_batch_sum(FILE *out, const lower_batch_group *g, int id)
{
    if (g->sums[0] != id) {
        fprintf(out, "    %%%d sum over the samples (in the inner loop of %%%d)\n", id, g->sums[0]);
        return;
    }
    fprintf(out, "    %%%d sum over the samples (inner loop of %d computed value%s", id, g->n_block,
            g->n_block == 1 ? "" : "s");
    if (g->n_sums > 1) fprintf(out, ", %d sums", g->n_sums);
    fputs(")\n", out);
}

void lower_dump(FILE *out, const lower_kernel *lk)
{
    const dag *d = lk->k->d;
    fprintf(out, "kernel %s: %d loop nest%s, %d stored value%s\n", lk->k->name, lk->n_loops,
            lk->n_loops == 1 ? "" : "s", lk->n_store, lk->n_store == 1 ? "" : "s");
    for (int l = 0; l < lk->n_loops; l++) {
        const lower_loop *L = &lk->loops[l];
        lower_batch_group *groups;
        int n_groups = lower_batch_groups(lk, L->nodes, L->n_nodes, &groups);
        fprintf(out, "  level %d, %s%s:", L->level, space_name(L->space),
                L->par == SP_POST ? " (parallel over post)" : L->par == SP_PRE ? " (parallel over pre)" : "");
        int n_red = 0, n_inline = 0, n_stored = 0;
        for (int q = 0; q < L->n_nodes; q++) {
            int id = L->nodes[q];
            if (is_unstored(d->node[id].op)) continue;   /* a pack, or a call's parameter adjoints: listed below */
            if (lower_is_batch_sum(lk, id)) n_inline++;
            else if (dag_op_is_reduction(d->node[id].op)) n_red++;
            else if (lower_is_inline(lk, id)) n_inline++;
            else n_stored++;
        }
        fprintf(out, " %d computed, %d stored, %d reduction%s", n_inline, n_stored, n_red, n_red == 1 ? "" : "s");
        for (int q = 0; q < L->n_outs; q++) fprintf(out, ", writes %s", lk->k->out[L->outs[q]].name);
        fputc('\n', out);
        for (int q = 0; q < L->n_nodes; q++) {
            int id = L->nodes[q];
            const dag_node *n = &d->node[id];
            if (lower_is_batch_sum(lk, id)) {
                dump_batch_sum(out, lower_batch_group_of(groups, n_groups, id), id);
                continue;
            }
            if (n->op == OP_PACK) continue;
            if (n->op == OP_MLP_GRAD) {
                fprintf(out, "    %%%d mlp_grad (added into its rows: the parameter adjoints of meta-MLP %d)\n", id, n->index);
                continue;
            }
            fprintf(out, "    %%%d %s%s\n", id, dag_ops[n->op].name,
                    dag_op_is_reduction(n->op) ? " (accumulated)" : lower_is_inline(lk, id) ? "" : " (stored)");
        }
        lower_batch_groups_free(groups, n_groups);
    }
    for (int q = 0; q < lk->n_final; q++) fprintf(out, "  final: writes %s\n", lk->k->out[lk->final_outs[q]].name);
    for (int l = 0; l < lk->n_loops; l++)
        if (lk->loops[l].par && (lk->loops[l].space & SP_SYN) == SP_SYN)
            fprintf(out, "  threads: nest %d when n_post * n_pre%s >= %ld\n", l + 1,
                    lk->loops[l].work_samples ? " * batch" : "", lk->loops[l].par_min);
    for (int l = 0; l < lk->n_loops; l++) {
        if (lk->loops[l].balanced) fprintf(out, "  balanced: nest %d's threads take chunks as they free up\n", l + 1);
        if (lk->loops[l].one_sample) fprintf(out, "  one sample: nest %d has a version for batch 1 (JIT)\n", l + 1);
        if (lk->loops[l].row_block > 1)
            fprintf(out, "  rows: nest %d runs %d rows at a time (JIT, vectorised, one thread)\n", l + 1,
                    lk->loops[l].row_block);
    }
    if (lk->seed_in_place)
        fputs("  in place: adj_w may be the array of adj_dw (read before written, by no later nest)\n", out);
    if (lk->next_in_place)
        fputs("  in place: w_next may be the array of w (read before written, by no later nest)\n", out);
    for (int r = 0; r < lk->n_runs; r++) {   /* nests numbered from 1 in the order above */
        const lower_run *R = &lk->runs[r];
        if (R->n_loops < 2) continue;
        fprintf(out, "  fused: nests %d and %d in one pass over the matrix", R->loop + 1, R->loop + 2);
        fputs(R->staged ? ", on several threads parallel over rows with stage matrices for the sums over i"
                        : " on one thread, apart on several", out);
        if (R->absorb >= 0) fprintf(out, ", nest %d's sums over the samples in the same pass", R->absorb + 1);
        fputc('\n', out);
    }
    for (int q = 0; q < lk->n_one_pass; q++) {
        const lower_one_pass *P = &lk->one_pass[q];
        int first = lk->runs[P->first_run].loop, last = lk->runs[P->first_run + P->n_runs - 1].loop +
                                                          lk->runs[P->first_run + P->n_runs - 1].n_loops - 1;
        fputs("  one pass: nests", out);
        for (int l = first; l <= last; l++) fprintf(out, "%s %d", l == first ? "" : l == last ? " and" : ",", l + 1);
        int rows = P->col.n_nodes ? P->col.row_block : P->row.row_block;
        fprintf(out, " as one pass over the matrix for a batch of one (JIT, one thread, %d row%s at a time): %d"
                     " arrays of weights read or written, against %d\n", rows, rows > 1 ? "s" : "",
                P->streams, P->streams_apart);
    }
}
