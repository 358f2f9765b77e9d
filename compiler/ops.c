/* ops — the operator table and constant folding, from ops.def (see ops.h). */
#include "config.h"
#include "ops.h"

#include <math.h>
#include <stddef.h>

#define LEAF OPK_LEAF, 0
#define POINT OPK_POINT, 0
#define REDUCE(bit) OPK_REDUCE, bit
#define ROW OPK_ROW, 0
#define MLPCALL OPK_MLPCALL, 0
#define NOCALL NULL, 0, 0
#define CALL(usage) usage, 0, 0
#define CALL_OPT(usage, v) usage, 1, v
const dag_opinfo dag_ops[OP_COUNT] = {
#define OP(id, name, kind, arity, call, c, value, d0, d1) { name, kind, arity, call, c },
#include "ops.def"
#undef OP
};
#include "ops_end.h"

/* The value language (ops.def) over doubles. */
#define X a
#define Y b
#define K(c) (c)
#define ADD(p, q) ((p) + (q))
#define SUB(p, q) ((p) - (q))
#define MUL(p, q) ((p) * (q))
#define DIV(p, q) ((p) / (q))
#define NEG(p) (-(p))
#define EXP(p) exp(p)
#define LOG1P(p) log1p(p)
#define LOG(p) log(p)
#define SQRT(p) sqrt(p)
#define FABS(p) fabs(p)
#define POW(p, q) pow(p, q)
#define LIBM(fn, p) fn(p)
#define SEL(c, p, q) ((c) ? (p) : (q))
#define GT(p, q) ((p) > (q))
#define LT(p, q) ((p) < (q))
#define NONE NAN
double dag_op_fold(dag_op op, double a, double b)
{
    (void)b;
    switch (op) {
#define OP(id, name, kind, arity, call, c, value, d0, d1) case OP_##id: return (value);
#include "ops.def"
#undef OP
    default: return NAN;
    }
}
#include "ops_end.h"
