/* dag — the typed, hash-consed expression DAG of the symbolic core.
 *
 * A node is an operator of ops.def applied to earlier nodes, so node ids are a
 * topological order.  Interning the same (op, args, value) twice returns the
 * same id: common subexpressions exist once.  The smart constructors fold
 * constants and apply x*0, x*1, x+0, x-0, x/1, --x.  Every node has an index
 * space (space.h SP_* bits): the union of its arguments' spaces, or its
 * argument's space less the summed index for a reduction.
 *
 * Inputs (signals, weights, feedback matrices, one-hot labels, adjoint seeds)
 * are numbered slots with a name and a space; PARAM nodes index the flat
 * meta-parameter vector.
 */
#ifndef PLAST_DAG_H
#define PLAST_DAG_H

#include <stdint.h>
#include <stdio.h>

#include "ops.h"
#include "space.h"

typedef struct dag_node {
    uint8_t op;
    uint8_t space;
    int16_t aux;          /* INPUT: slot; PARAM: unused; SIZE: which (space_size) */
    int32_t index;        /* PARAM: index in the meta vector; KCAP: k */
    int32_t arg[2];
    double value;         /* CONST */
} dag_node;

typedef struct dag_input {
    char name[48];        /* as in the ABI: "pre_y", "w", "adj_dw", ... */
    int space;
} dag_input;

/* A meta-MLP that nodes of the DAG call (mlp_out, mlp_vjp, mlp_grad): its
 * shape as libplast's routines take it (plast.h: n_in, n_layers, then per
 * layer width, activation, argument) and where its parameters start in the
 * meta-parameter vector. */
typedef struct dag_mlp {
    double *shape;
    int n_shape;
    int offset;           /* its first parameter in the meta vector */
    int n_in, n_out, n_params;
} dag_mlp;

typedef struct dag {
    dag_node *node;
    int n, cap;
    int32_t *table;       /* open-addressing hash table of node ids, -1 empty */
    int table_cap;
    dag_input *input;
    int n_input;
    int n_meta;           /* length of the meta-parameter vector */
    char **meta_name;     /* display names: "theta[3]", "hat_net.W1[2,0]" */
    unsigned char *meta_fixed;   /* per meta-parameter: declared `fixed`, a constant without an adjoint (NULL: none) */
    dag_mlp *mlp;         /* the meta-MLPs its nodes call (node index) */
    int n_mlp;
} dag;

dag *dag_new(void);
void dag_free(dag *d);

/* Leaves. */
int dag_const(dag *d, double v);
int dag_input_slot(dag *d, const char *name, int space);   /* declares (or finds) a slot */
int dag_input_node(dag *d, int slot);
int dag_param(dag *d, int meta_index);
int dag_size(dag *d, int which);
/* Operators, with folding and identities. */
int dag_unary(dag *d, dag_op op, int a);
int dag_binary(dag *d, dag_op op, int a, int b);
int dag_add(dag *d, int a, int b);
int dag_sub(dag *d, int a, int b);
int dag_mul(dag *d, int a, int b);
int dag_div(dag *d, int a, int b);
int dag_neg(dag *d, int a);
/* Reductions; SUM over an index the argument does not vary with is an error
 * upstream (sema), and here multiplies by the size instead. */
int dag_reduce(dag *d, dag_op op, int a);
/* Sums the bits of SPACE out of node A (sum_post, sum_pre, sum_batch as needed). */
int dag_reduce_to(dag *d, int a, int space);
/* kcap(a; k): 1 for the k largest of A's row over post (per sample; ties to
 * the lower index), else 0 (ops.def).  A varies with post, not with pre. */
int dag_kcap(dag *d, int a, int k);

int dag_is_const(const dag *d, int id, double v);

/* Meta-MLP calls.  dag_mlp_declare: the index of the MLP with SHAPE (n_shape
 * values) whose parameters start at OFFSET, added if new.  dag_pack: the
 * pack of XS[0..n) (n >= 1); dag_pack_items: its items into OUT (at most MAX),
 * returning their number.  dag_mlp_out: output K of MLP at the pack's
 * inputs; dag_mlp_vjp: the adjoint of input M for the seeds in pack SEEDS
 * (the outputs' adjoints, one per output); dag_mlp_grad: the adjoints of
 * its parameters for those seeds. */
int dag_mlp_declare(dag *d, const double *shape, int n_shape, int offset);
int dag_pack(dag *d, const int *xs, int n);
int dag_pack_items(const dag *d, int pack, int *out, int max);
int dag_mlp_out(dag *d, int mlp, int pack, int k);
int dag_mlp_vjp(dag *d, int mlp, int seeds, int pack, int m);
int dag_mlp_grad(dag *d, int mlp, int seeds, int pack);

/* Node ID of FROM rebuilt in TO through the constructors above (so it
 * folds and interns there as if built there), its arguments already
 * rebuilt: MAP[arg] is their node in TO.  An input is declared in TO by its
 * name and space. */
int dag_copy_node(dag *to, const dag *from, int id, const int *map);

/* DW (per-synapse) as a sum of a few rank-1 updates: its terms grouped by
 * their presynaptic and per-synapse factors, the rest summed into per-neuron
 * coefficients (factor.c).  The same function; DW itself when nothing is
 * shared. */
int dag_factor_rank1(dag *d, int dw);

/* Prints the nodes reachable from ROOTS in id order, one per line:
 *   %12 = mul %3 %11              : per-synapse per sample */
void dag_dump(FILE *out, const dag *d, const int *roots, const char *const *root_names, int n_roots);
/* Prints node ID as a readable formula (for comments in emitted code). */
void dag_format(const dag *d, int id, char *buf, size_t len);

#endif
