/* kernel — what a generated kernel computes, before it is scheduled.
 *
 * A kernel is a DAG plus named outputs.  Its arguments (the C ABI shared by
 * the emitted C, the JIT and object files) are, in this order: the DAG inputs
 * it reads (slot order), then "meta" when it reads a meta-parameter, then its
 * outputs, then "adj_meta" (n_meta values, accumulated) for adjoint kernels.  Every array is laid out [sample][post][pre] over the bits of its
 * index space (a scalar is one element).  Outputs marked accumulate are added
 * to (adjoints); the others are overwritten.
 *
 * The ABI (plast_kargs, plast_kdesc, the argument roles PLAST_ROLE_*) is
 * written once, in runtime/plast.h; the emitted C's prelude is that block
 * (emit_c.c) and llgen's types are derived from it (llgen.c).
 */
#ifndef PLAST_KERNEL_H
#define PLAST_KERNEL_H

#include "dag.h"
#include "plast.h"

enum { KERN_MAX_OUT = 64, KERN_MAX_ARG = 96 };

typedef struct kern_arg {
    char name[48];
    int space;
    int role;             /* PLAST_ROLE_*: OUTPUT is written (=), ACCUMULATE and ADJ_META added to (+=) */
    int slot;             /* INPUT: dag slot; OUTPUT, ACCUMULATE: index in out[] */
} kern_arg;

typedef struct kern_out {
    char name[48];
    int node;             /* -1: identically zero */
    int space;            /* the output array's space (the node's space or larger: broadcast) */
    int accumulate;
} kern_out;

typedef struct kern {
    char name[64];        /* C symbol: pool_fwd, pool_adj, mlp5_dense_fwd, ... */
    char comment[1024];   /* the formula, for the opening comment */
    dag *d;               /* shared with the kernel's sibling (fwd/adj); not owned */
    kern_out out[KERN_MAX_OUT];
    int n_out;
    kern_arg arg[KERN_MAX_ARG];
    int n_arg;
    int n_meta;
    int *meta_adj;        /* [n_meta] node of d(out)/d(meta[k]), or NULL: no adj_meta output */
    int *mlp_grads;       /* mlp_grad nodes: the adjoints of a meta-MLP's parameters, added over their */
    int n_mlp_grads;      /*   space into adj_meta from the MLP's offset on (dag.h, lower.h) */
} kern;

/* Fills k->arg from the outputs: inputs reached from them, meta, outputs. */
void kern_finish_args(kern *k);
/* The nodes K computes: live[id] = 1 for its outputs, its meta-parameter
 * adjoints and everything they read.  Malloc'ed, k->d->n + 1 bytes. */
char *kern_live(const kern *k);

/* A forward kernel NAME_fwd with the given outputs, and its adjoint NAME_adj:
 * seeded with an input adj_<output> per output (same space), it accumulates
 * adj_<input> for every input slot the DAG had before the call that the
 * outputs depend on, except the inputs named in NO_ADJ (NULL-terminated, or
 * NULL: none; constants of the caller, such as the data and fixed feedback,
 * whose adjoint would cost a pass over a matrix for nobody), and adj_meta
 * when the DAG has meta-parameters.  Both kernels share D. */
typedef struct kern_output_spec { const char *name; int node; int space; } kern_output_spec;
void kern_pair_build(dag *d, const char *name, const kern_output_spec *outs, int n_out,
                     const char *comment, const char *const *no_adj, kern *fwd, kern *adj);
void kern_pair_free(kern *fwd, kern *adj);

/* OUT: a copy of the adjoint ADJ named NAME without its outputs named in DROP
 * (NULL-terminated): the arguments are those the remaining outputs read, so
 * the lowering computes nothing for the dropped ones.  The adjoint of a rule
 * at a projection from the model's input, whose signals are data: adj_pre_y
 * was a column sum over W for nobody.  Free with kern_copy_free. */
void kern_adj_without(const kern *adj, const char *name, const char *const *drop, kern *out);
void kern_copy_free(kern *k);

/* ADJ (of the pair FWD, ADJ) reads each forward output named in NAMES
 * (NULL-terminated) from its array, an input of that name, where it would
 * compute it again: a layer's adjoint needs act'(z), and z = W y cost it a
 * pass over W.  The caller's schedule keeps the array as FWD wrote it until
 * ADJ runs (each call writes its own signals; plastcc gradcheck runs FWD
 * first).  Only outputs written whole (not accumulated) over the node's own
 * space; DAGs with a meta-MLP are left as they are.  The values read are
 * the ones computed again, so the results keep their bits. */
void kern_adj_reads_outputs(const kern *fwd, kern *adj, const char *const *names);

/* A forward-only kernel NAME_SUFFIX with the given outputs, on D. */
void kern_single_build(dag *d, const char *name, const char *suffix, const kern_output_spec *outs, int n_out,
                       const char *comment, kern *k);

#endif
