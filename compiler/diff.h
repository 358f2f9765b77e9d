/* diff — symbolic reverse-mode differentiation on the DAG.
 *
 * Halide/Enzyme style: the nodes in reverse id order (a reverse topological
 * order), an adjoint per node accumulated in an array indexed by node id, and
 * for each operator the partials of ops.def.  A contribution whose space is
 * larger than its target's (the target was broadcast) is summed down to the
 * target's space: the adjoint of a broadcast is a reduction, and the adjoint
 * of a reduction is a broadcast (implicit in the index spaces).  MAX_POST and
 * NOGRAD pass no adjoint (straight-through / stop-gradient).
 */
#ifndef PLAST_DIFF_H
#define PLAST_DIFF_H

#include "dag.h"

/* d(node ID)/d(its argument K), as a node. */
int diff_partial(dag *d, int id, int k);

/* Reverse sweep from ROOTS seeded with the nodes SEEDS.  On return adj[i]
 * holds the adjoint node of original node i (-1 when zero); ADJ must have room
 * for the node count before the call.  The parameters of meta-MLP calls
 * have no nodes: their adjoints are mlp_grad nodes, one per call (an MLP at
 * one pack of inputs, all its outputs), returned in *GRADS (malloc'ed, may
 * be NULL when none); returns their number. */
int diff_adjoint(dag *d, const int *roots, const int *seeds, int n_roots, int *adj, int **grads);

#endif
