/* bind — an experiment's compiled kernels handed to the runtime as a
 * plast_net (plast.h): its schedule (schedule.h) with the kernels resolved in
 * the compiled module, the layered view of a feed-forward model, and each
 * rule's meta-parameter vector (initial values, l1 and fixed flags,
 * ranges, display names). */
#ifndef PLAST_BIND_H
#define PLAST_BIND_H

#include "backend.h"
#include "schedule.h"

typedef struct bound_net {
    plast_net net;
    sched_plan plan;                                   /* the schedule, by kernel names */
    plast_buf *bufs;                                   /* net.sched's arrays */
    plast_call *calls;                                 /* step calls, then eval calls */
    plast_bind *binds;
    plast_rule rules[PLAST_MAX_LAYERS];
    const compiled_rule *compiled[PLAST_MAX_LAYERS];   /* per rule */
    double *init[PLAST_MAX_LAYERS];
    unsigned char *l1[PLAST_MAX_LAYERS], *fixed[PLAST_MAX_LAYERS];
    double *lo[PLAST_MAX_LAYERS], *hi[PLAST_MAX_LAYERS];
} bound_net;

/* Fills B for experiment X of U from the kernels in M; -1 with ERR set when a
 * kernel is missing or the model is not one the runtime drives. */
int bind_net(const compiled_unit *u, backend_module *m, const sema_experiment *x, bound_net *b,
             char *err, size_t errlen);
void bind_free(bound_net *b);

/* After compiling kernels: the compiler's freed heap and libLLVM's code
 * pages go back to the system (bind_load does it; bench/hat_step too). */
void bind_release_compiler_memory(void);

/* Compiles the kernels of U for experiment X with the JIT, or the system C
 * compiler when USE_C, in precision PREC (0 double, 1 single, -1: the
 * experiment's `precision`), then hands the compiler's memory back to the
 * system before the episodes (see bind.c).  NULL with ERR on failure. */
backend_module *bind_load(const compiled_unit *u, const char *source, const sema_experiment *x, int use_c,
                          int prec, char *err, size_t errlen);

/* The initial meta-parameter vector of rule R (r->n_meta values into V):
 * the params' initial values, then each mlp's weights (docs/language.md 5). */
void bind_rule_init(const sema_program *p, const sema_rule *r, double *v);

/* The data set experiment X names: read from its files, or generated from
 * SEED; then projected when X says `project N`.  -1 with ERR. */
struct plast_dataset;
int bind_load_data(const sema_experiment *x, uint64_t seed, struct plast_dataset *d, char *err, size_t errlen);

#endif
