/* ops_end — undefines the column and formula macros of ops.def.  Include it
 * after each expansion of the table, so that X, K, ADD, ... mean nothing in
 * the rest of the file. */
#undef LEAF
#undef POINT
#undef REDUCE
#undef ROW
#undef MLPCALL
#undef NOCALL
#undef CALL
#undef CALL_OPT
#undef X
#undef Y
#undef Z
#undef K
#undef ADD
#undef SUB
#undef MUL
#undef DIV
#undef NEG
#undef EXP
#undef LOG1P
#undef LOG
#undef SQRT
#undef FABS
#undef POW
#undef LIBM
#undef SEL
#undef GT
#undef LT
#undef NONE
#undef OP1
#undef OP2
#undef ZERO
#undef ONE
