/* llgen_impl — what the files of the LLVM back end share (see llgen.h).
 *
 * Each kernel NAME becomes, besides NAME_scratch and its descriptor:
 *   NAME(a)         fills a frame (NAME.frame), zeroes the outputs that are
 *                   identically zero, runs the loop nests in order — each
 *                   serial one by calling NAME.nestK(frame), each parallel
 *                   one by GOMP_parallel(NAME.parK, frame) — then the final
 *                   outputs (more NAME.nestK) and adds adj_meta;
 *   NAME.frame      the sizes and every array (the arguments from a->arg, the
 *                   stored values carved out of a->scratch) into the frame;
 *   NAME.nestK      a serial loop nest (per-neuron values, their sums);
 *   NAME.parK       run on every thread: its static chunk of the rows or
 *                   columns, then NAME.parK.impl on it;
 *   NAME.parK.impl  the per-synapse loop nest, its arrays noalias parameters
 *                   (C's restrict), vectorised over j: the hot code;
 *                   for two loops of one level, one over columns and one
 *                   over rows, also a fused impl that runs both in one pass
 *                   over the matrix, called directly when one thread runs
 *                   the kernel (gen_fused_pair; the same bits).
 * Everything but the .impl functions is cold: it becomes optnone (see
 * mark_cold), and one loop nest per function keeps the code generator's
 * analyses linear in the size of the kernel.
 *
 * Invariants mirrored from emit_c.c: a node's value is the node's template
 * applied to its arguments' values, in the order of the lowered loop; a
 * value is a vector exactly when the code runs with several lanes (over j)
 * and the node's space contains SP_PRE; sums and maxima update their
 * accumulator once per iteration in iteration order (across lanes: lane 0
 * first), except a sum over j in a register, whose accumulator holds the
 * partial sums of lower_sum_lanes() (lower.h).  Loop variables are phis;
 * accumulators are allocas (SROA makes them registers).
 *
 * The back end is split along these lines: llgen_ir.c (types, functions,
 * blocks and values), llgen_ops.c (operators, nodes and reductions),
 * llgen_loop.c (loops, strips, masks and parallel outlining), llgen_fuse.c
 * (how a fused pair of loops runs: one thread, staged, absorbing, apart), llgen_kernel.c
 * (the kernel ABI functions of one kernel), llgen.c (targets, modules, IR
 * passes and objects).
 */
#ifndef PLAST_LLGEN_IMPL_H
#define PLAST_LLGEN_IMPL_H

#include "llgen.h"

#include <stddef.h>

/* ---- module and function state ---- */

typedef struct lmod {
    LLVMContextRef ctx;
    LLVMModuleRef m;
    lower_precision prec;
    int lanes;                      /* vector width of per-synapse loops (1: scalar) */
    int masked;                     /* their last, partial vector runs under a lane mask
                                       (cheap with AVX-512) rather than as a scalar loop */
    int real_bytes;
    LLVMTypeRef t_void, t_i8, t_i32, t_i64, t_real, t_realp, t_i8p, t_i8pp;
    LLVMTypeRef t_kargs, t_kargsp;  /* plast_kargs */
    LLVMTypeRef t_run, t_scratch;   /* void(kargs*), int64_t(kargs*) */
    LLVMTypeRef t_argdesc, t_kdesc; /* plast_karg_desc, plast_kdesc */
    LLVMTypeRef t_body;             /* void(i8*): a GOMP_parallel body */
    LLVMTypeRef t_gomp;             /* GOMP_parallel */
    LLVMTypeRef t_omp_int;          /* int omp_get_*(void) */
    int n_str;
    char *err;
    size_t errlen;
    int failed;
} lmod;

typedef struct lkern {              /* one kernel being generated */
    lmod *g;
    const lower_kernel *lk;
    const kern *k;
    const dag *d;
    int n_ptr;                      /* k->n_arg arrays, lk->n_store stored values, the rows
                                       of each of k->n_mlp_grads meta-MLP parameter adjoints,
                                       then the stage matrices (stage_slot) */
    int *stage_slot;                /* per node: a fused pair's column sum, the array (in the
                                       frame) of its terms per row; a sum over the samples of a
                                       loop the pass absorbs, its array of partial sums; else -1
                                       (gen_fused_pair) */
    int *input_arg;                 /* per dag input slot: its argument (-1: not read) */
    int *out_arg;                   /* per output: its argument */
    int meta_arg, adj_meta_arg;
    LLVMTypeRef t_frame;            /* { i64 n_pre, n_post, batch, steps, b; real *p[n_ptr] } */
    int n_par, n_nest;              /* functions outlined so far */
} lkern;

typedef struct lfn {                /* one LLVM function being generated */
    lkern *kc;
    lmod *g;
    LLVMValueRef fn;
    LLVMBuilderRef bb;              /* code */
    LLVMBuilderRef ab;              /* allocas, at the end of the entry block */
    LLVMBasicBlockRef entry, start;
    LLVMValueRef size[SIZE_COUNT];  /* n_pre, n_post, batch, steps (space_size order) */
    LLVMValueRef *ptr;              /* [n_ptr]: the arrays available here, else NULL */
    LLVMValueRef b, i, j;           /* loop indices (i64), NULL outside their loop */
    int w;                          /* lanes of the code being built */
    int vec_post;                   /* the lanes run along i (a per-neuron nest: vector_nest), not j */
    LLVMValueRef mask;              /* <w x i1>: the lanes within the loop's range; NULL: all */
    LLVMValueRef *val;              /* per node: an inline node's value in this iteration */
    LLVMValueRef *acc;              /* per node: a reduction's register accumulator */
    int mem_acc;                    /* sums over i add into their arrays (rows-outer column loops) */
    LLVMValueRef *held;             /* per node, in a block of rows: a sum over i's value at this
                                       strip so far, stored after the block's last row; NULL:
                                       each row adds into the array */
    LLVMValueRef row_valid;         /* i1, in a block of rows: false for a row repeated past the
                                       last, whose terms the sums over i leave out; NULL: true */
    int staged;                     /* ... or, in a fused pair's pass, store their terms into the
                                       stage matrices (kc->stage_slot) */
    const struct lower_loop *absorb;  /* a fused pass's third loop: its sums over the samples
                                       computed with the pair's nodes (pair_body) */
    int batch_stage;                /* sums over the samples with a stage_slot: 1 add this
                                       sample's term into their arrays, 2 read them from there */
    LLVMValueRef *memo;             /* per node: a leaf or stored value already loaded in this
                                       iteration (cleared whenever a loop index changes) */
    LLVMValueRef index_memo[8];     /* per space: its element index in this iteration */
    LLVMValueRef *frame_memo;       /* per array, its pointer loaded from the frame in this iteration */
    LLVMValueRef frame;             /* NAME, .nestK: the frame (sizes, b, every array) */
} lfn;

typedef struct lloop { LLVMBasicBlockRef head, body, exit; LLVMValueRef idx; int step; } lloop;

static inline int lg_is_syn(int space) { return (space & SP_SYN) == SP_SYN; }

/* Where llgen reads plast_kargs: the sizes (space_size order), the argument
 * array, the scratch memory. */
enum { KARGS_ARG = SIZE_COUNT, KARGS_SCRATCH, KARGS_FIELDS };

/* The string attribute of cold functions (llgen_optimize makes them optnone). */
#define LG_COLD_ATTR "plastcc-cold"

/* ---- llgen_ir.c: types, constants, functions, blocks, loops and values ---- */

void lg_fail(lmod *g, const char *fmt, ...);
void lg_make_types(lmod *g, LLVMTargetDataRef td);
void lg_add_attr(lmod *g, LLVMValueRef fn, unsigned idx, const char *name);
void lg_mark_cold(lmod *g, LLVMValueRef fn);
LLVMValueRef lg_declare(lmod *g, const char *name, LLVMTypeRef ty);
LLVMValueRef lg_i64c(lmod *g, long long v);
LLVMValueRef lg_i32c(lmod *g, int v);
LLVMTypeRef lg_real_type(lmod *g, int lanes);
int lg_lanes_of(LLVMValueRef v);
LLVMValueRef lg_real_const(lmod *g, LLVMTypeRef ty, double x);
LLVMValueRef lg_cstring(lmod *g, const char *s);
void lg_fn_open(lfn *f, lkern *kc, LLVMValueRef fn);
void lg_forget(lfn *f);
void lg_fn_end(lfn *f);
void lg_fn_close(lfn *f);
LLVMValueRef lg_helper_fn(lmod *g, const char *name, LLVMTypeRef ty);
LLVMValueRef lg_loop_open(lfn *f, lloop *L, LLVMValueRef start, LLVMValueRef limit, int step, const char *name);
void lg_loop_close(lfn *f, lloop *L);
LLVMValueRef lg_new_alloca(lfn *f, LLVMTypeRef ty, const char *name);
LLVMValueRef lg_size_of(lfn *f, int space);
LLVMValueRef lg_array(lfn *f, int p);
int lg_stored_array(const lkern *kc, int id);
/* The rows of mlp_grad node ID (after the stored values in the frame). */
int lg_grad_array(const lkern *kc, int id);
int lg_varies(const lfn *f, int space);
LLVMValueRef lg_load_at(lfn *f, LLVMValueRef p, int space);
LLVMValueRef lg_widen(lfn *f, LLVMValueRef v, int lanes);
void lg_store_at(lfn *f, LLVMValueRef p, int space, LLVMValueRef v, int accumulate);
LLVMValueRef lg_value_of(lfn *f, int id);
/* F->w reals at P[IDX] (masked lanes: 0), and their store (masked lanes: none). */
LLVMValueRef lg_load_index(lfn *f, LLVMValueRef p, LLVMValueRef idx);
void lg_store_index(lfn *f, LLVMValueRef p, LLVMValueRef idx, LLVMValueRef v);

/* ---- llgen_ops.c: operators, nodes and reductions ---- */

int lg_lane_split(const dag_node *n, int local_bit);
LLVMValueRef lg_lane_sum(lfn *f, LLVMValueRef v);
/* One step of the reduction OP: ACC + X, or the larger for a maximum. */
LLVMValueRef lg_reduce_step(lfn *f, dag_op op, LLVMValueRef acc, LLVMValueRef x);
void lg_gen_nodes(lfn *f, const int *nodes, int n_nodes, int local_bit);
/* The same for the merged nodes of a fused column and row loop: COL[q] set
 * for the column loop's reductions (sums over i into their arrays). */
void lg_gen_nodes_of_pair(lfn *f, const int *nodes, int n_nodes, int local_bit, const char *col);

/* ---- llgen_mlp.c: meta-MLP calls (runtime/mlp.c) ---- */

void lg_gen_mlp_calls(lfn *f, const int *ids, int n, LLVMValueRef *vals);
LLVMValueRef lg_mlp_grad_size(lfn *f, int id);
void lg_gen_mlp_grad_sums(lfn *f);

/* ---- llgen_loop.c: loop nests; llgen_fuse.c: fused passes ---- */

/* The frame's field of the next chunk a balanced parallel region's threads
 * take (set to 0 before each GOMP_parallel), the field that tells a body the
 * caller runs it alone (lg_call_body), and how many chunks per thread
 * such a region is cut into. */
enum { FRAME_NEXT_CHUNK = 6, FRAME_ALONE = 7, CHUNKS_PER_THREAD = 8 };

typedef struct nest_group {
    lfn f;                      /* the open function */
    LLVMValueRef fn;            /* NULL: none open */
    int n;                      /* nests in it */
} nest_group;

/* Arrays of sums across samples or rows of loop L start at 0 (-inf for a maximum). */
void lg_init_reductions(lfn *f, const lower_loop *L, int local_bit);
/* The GOMP_parallel body of parallel loop L, or of the pass of row loop L
 * and column loop L2 (STAGED: the column sums into their stage matrices; X:
 * a loop the pass absorbs; BATCH_STAGE: lfn's batch_stage). */
LLVMValueRef lg_outline_parallel(lkern *kc, const lower_loop *L, const lower_loop *L2, int staged,
                                 const lower_loop *X, int batch_stage);
/* BODY(frame) on NTHREADS threads (0: OpenMP's choice): through
 * GOMP_parallel, or called directly when the team would be one thread
 * (NTHREADS 1, or no more active levels of parallelism): a team of one still
 * cost libgomp's team set-up, ~1 us a call, thousands of calls an episode. */
void lg_call_body(lfn *f, LLVMValueRef body, LLVMValueRef nthreads);
/* lg_call_body(BODY, NTHREADS), inside a loop over the samples when PER_SAMPLE. */
void lg_run_parallel(lfn *f, LLVMValueRef body, int per_sample, LLVMValueRef nthreads);
/* Whether per-synapse loop L has the work to run on threads (an i1). */
LLVMValueRef lg_parallel_worth(lfn *f, const lower_loop *L);
/* #pragma omp parallel for schedule(static) over loop L. */
void lg_gen_parallel(lfn *f, const lower_loop *L);
/* Fused RUN of loops A, B (and X, a loop it absorbs, or NULL). */
void lg_gen_fused_pair(lfn *f, const lower_run *run, const lower_loop *A, const lower_loop *B, const lower_loop *X);
/* One-sample pass P (lower_one_pass): when batch == 1 and one thread would
 * run its loops, P's merged loops as one pass; else GENERAL(F, CTX), which
 * generates the runs it replaces. */
void lg_gen_one_pass(lfn *f, const lower_one_pass *P, void (*general)(lfn *, void *), void *ctx);
void lg_nest_flush(lfn *outer, nest_group *grp);
void lg_gen_loop(lfn *outer, nest_group *grp, const lower_loop *L);
void lg_gen_final(lfn *outer, nest_group *grp, int o_index);

/* ---- llgen_kernel.c: one kernel ---- */

void lg_gen_kernel(lmod *g, const lower_kernel *lk);

#endif
