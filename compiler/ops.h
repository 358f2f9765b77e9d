/* ops — the operators of the expression DAG, as the table ops.def lists
 * them: the enum, and each operator's name, kind, arity, rule-call form, C
 * template and constant folding.  diff.c derives the partials and llgen.c the
 * LLVM IR from the same rows; sema_rule.c takes the rule functions from here.
 */
#ifndef PLAST_OPS_H
#define PLAST_OPS_H

#include "space.h"

typedef enum {
#define OP(id, name, kind, arity, call, c, value, d0, d1) OP_##id,
#include "ops.def"
#undef OP
    OP_COUNT
} dag_op;

typedef enum { OPK_LEAF, OPK_POINT, OPK_REDUCE, OPK_ROW, OPK_MLPCALL } dag_op_kind;

typedef struct dag_opinfo {
    const char *name;
    dag_op_kind kind;
    int reduces;          /* OPK_REDUCE: the index bit it sums over (SP_*) */
    int arity;
    const char *call;     /* a rule function: its usage ("pow(x, p)"); NULL: not one */
    int optional;         /* the last argument may be left out ... */
    double fallback;      /* ... and is then this value */
    const char *c_template;
} dag_opinfo;
extern const dag_opinfo dag_ops[OP_COUNT];

/* The value of OP at arguments A (and B), in double precision: its value
 * formula; NAN for an operator without one (leaves, reductions, rows). */
double dag_op_fold(dag_op op, double a, double b);

static inline int dag_op_is_reduction(dag_op op) { return dag_ops[op].kind == OPK_REDUCE; }

#endif
