/* learned — a rule written back as plastcc input with learned values:
 * the params' initialisers replaced by the learned meta-parameters, terms of
 * dw whose coefficient is exactly zero dropped (kept as comments), and
 * coefficients below a tolerance marked as pruned.  The result passes
 * `plastcc check` on its own (the mlps the rule calls are copied along). */
#ifndef PLAST_LEARNED_H
#define PLAST_LEARNED_H

#include <stdio.h>
#include "sema.h"

void learned_write_rule(FILE *out, const sema_program *p, const sema_rule *r, const double *meta, double tol);

/* DIR/learned.rule (HEADER, a comment line, then every rule of BN with META)
 * and DIR/meta.csv (rule, name, value, scale of every meta-parameter, the
 * names quoted).
 * Returns 0, or -1 with the error printed. */
struct bound_net;
int learned_write_files(const char *dir, const sema_program *p, const struct bound_net *bn, double *const *meta,
                        double *const *scale, const char *header);

#endif
