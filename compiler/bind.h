/* bind — the one place an experiment becomes runtime inputs: its compiled
 * kernels handed to the runtime as a plast_net (plast.h) — its schedule
 * (schedule.h) with the kernels resolved in the compiled module, the layered
 * view of a feed-forward model, and each rule's meta-parameter vector
 * (initial values, l1 and fixed flags, ranges, display names); its data set;
 * its training options and per-parameter scales. */
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
    double **start;                                    /* [n_buf]: net.start, from 'weights from' (NULL: none) */
} bound_net;

/* Fills B for experiment X of U from the kernels in M; -1 with ERR set when a
 * kernel is missing or the model is not one the runtime drives. */
int bind_net(const compiled_unit *u, backend_module *m, const sema_experiment *x, bound_net *b,
             char *err, size_t errlen);
void bind_free(bound_net *b);

/* The initial meta vector of rule R (r->n_meta values): the params' initial
 * values, then each mlp's weights drawn deterministically (uniform
 * +-1/sqrt(fan_in), a fixed LCG, the same for every run) and zero biases. */
void bind_rule_init(const sema_program *p, const sema_rule *r, double *init);

/* META[r] (malloc'ed) for each rule of BN: its initial values, or, with
 * LEARNED (a learned.rule that plastcc run wrote; NULL: none), those of the
 * rule of the same name there, which must declare the same parameters.  0,
 * or -1 after a message on stderr (LEARNED's diagnostics, when it has errors). */
int bind_learned_meta(const char *learned, const bound_net *bn, double **meta);

/* Compiles the kernels of U for experiment X with the JIT, or the system C
 * compiler when USE_C, in precision PREC (0 double, 1 single, -1: the
 * experiment's `precision`), with libLLVM's pages that loading it touched
 * handed back to the system before and the compiler's memory after, before
 * the episodes (jit_release_compiler_memory).  NULL with ERR on failure. */
backend_module *bind_load(const compiled_unit *u, const char *source, const sema_experiment *x, int use_c,
                          int prec, char *err, size_t errlen);

/* The data set experiment X names: read from its files, or generated from
 * SEED; then projected when X says `project N`.  -1 with ERR. */
int bind_load_data(const sema_experiment *x, uint64_t seed, plast_dataset *d, char *err, size_t errlen);

/* The training options of experiment X (tasks, inner loop, meta-optimiser,
 * seed, the model's init, checkpoints, diagnostics); the caller adds what
 * the command line decides (threads, output folder, quiet, resume, and the
 * overrides it allows).  Scales are set by bind_scales. */
void bind_train_opts(const sema_program *p, const sema_experiment *x, plast_train_opts *o);

/* Per-parameter scales of X's `scale PARAM [..]` statements (1 elsewhere),
 * and the entries of `scale PARAM auto`, for each rule of BN. */
typedef struct bound_scales {
    double *scale[PLAST_MAX_LAYERS];            /* [rule][meta] */
    unsigned char *is_auto[PLAST_MAX_LAYERS];   /* [rule][meta]: 1 = measured on a probe task */
    int n_rules;
} bound_scales;
int bind_scales(const sema_experiment *x, const bound_net *bn, bound_scales *s, char *err, size_t errlen);
void bind_scales_free(bound_scales *s);

#endif
