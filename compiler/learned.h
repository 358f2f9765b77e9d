/* learned — a rule written back as plastcc input with learned values:
 * the params' initialisers replaced by the learned meta-parameters, terms of
 * dw whose coefficient is exactly zero dropped (kept as comments), and
 * coefficients below a tolerance marked as pruned.  The result passes
 * `plastcc check` on its own (the mlps the rule calls are copied along). */
#ifndef PLAST_LEARNED_H
#define PLAST_LEARNED_H

#include <stdio.h>
#include "bind.h"
#include "sema.h"

void learned_write_rule(FILE *out, const sema_program *p, const sema_rule *r, const double *meta, double tol);

struct bound_net;
/* DIR/learned.rule (every rule of BN, after the comment line HEADER) and
 * DIR/meta.csv (rule, name, value, scale of every meta-parameter), each
 * written whole or not at all; -1 with ERR naming the file. */
int learned_write_files(const char *dir, const sema_program *p, const struct bound_net *bn, double *const *meta,
                        double *const *scale, const char *header, char *err, size_t errlen);

#endif
