/* sema_impl — what the three parts of sema (loading, rules, configs) share.
 * Not a public header: only sema*.c include it. */
#ifndef PLAST_SEMA_IMPL_H
#define PLAST_SEMA_IMPL_H

#include "sema.h"

/* Growable arrays: PUSH(arr, n, value) appends and returns a pointer to it. */
void *sema_grow(void *arr, int n, size_t elem);
#define SEMA_PUSH(arr, n) ((arr) = sema_grow((arr), (n), sizeof *(arr)), &(arr)[(n)++])

/* The declarations of a program, checked in this order: mlps, models, rules,
 * experiments (each kind may refer only to kinds before it). */
sema_mlp *sema_check_mlp(sema_program *p, ast_decl *d);
sema_model *sema_check_model(sema_program *p, ast_decl *d);
sema_rule *sema_check_rule(sema_program *p, ast_decl *d);
sema_experiment *sema_check_experiment(sema_program *p, ast_decl *d);

/* "did you mean 'theta'?" — the closest of N candidates within edit distance 2. */
const char *sema_closest(const char *name, const char *const *candidates, int n);

/* The most meta-parameters one rule may have (its params and mlp weights);
 * the same bound keeps every count in an int. */
enum { SEMA_MAX_META = 100000000 };
/* The most parameter elements (param x[N]) of a whole program. */
enum { SEMA_MAX_PARAM_ELEMENTS = 10000000 };

/* Recurrent layers (sema_unroll.c): 'Wrec<l>' in 'rule R on ...' (1 with
 * the bit of layer l set in *BITS and its span in AT[l-1]; 0 for another
 * name; -1 after an error); a model's checks (no feedback pathway through a
 * recurrent layer); the rules of the Wrec projections of experiment X, whose
 * assignments named them at REC_AT[assign * 64 + l]; the 'rule' statement
 * that gave rule R, for notes. */
int sema_recurrent_name(const ast_item *it, unsigned long long *bits, src_span *at);
void sema_check_recurrent_model(const sema_model *m);
void sema_assign_recurrent(sema_program *p, sema_experiment *x, const sema_model *m, const src_span *rec_at);
src_span rule_statement_of(const sema_experiment *x, int rule);

/* sema_joint.c: the experiment statements of paper 001 (updates, train,
 * learner); 0 when S is one of them (checked), -1 when it is not.  And the
 * checks they add once the experiment is complete. */
int sema_exp_joint_statement(sema_experiment *x, const ast_stmt *s);
void sema_exp_joint_defaults(sema_experiment *x);
void sema_exp_joint_finish(const sema_program *p, const sema_experiment *x, const ast_stmt *tasks);

/* sema_joint.c: an mlp's `init output G;` and `weights [...];` statements,
 * checked once its layers (and so its weight count) are known. */
void sema_mlp_init(sema_mlp *m, const ast_decl *d);

/* Items of config statements. */
int sema_item_int(const ast_item *it, const char *what, int lo, int hi, int *out);
int sema_item_num(const ast_item *it, const char *what, double *out);

#endif
