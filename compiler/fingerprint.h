/* fingerprint — an experiment's identity as text, kept in the meta-state of
 * its run: a resume compares it with the experiment as it is now, and takes
 * the options the run was given on its command line (fingerprint.c). */
#ifndef PLAST_FINGERPRINT_H
#define PLAST_FINGERPRINT_H

#include <stddef.h>
#include "plast.h"
#include "sema.h"

/* "key value" lines of experiment X of P trained with options O (the
 * effective ones, after the command line's), SINGLE the precision, and CLI
 * the options given on the command line ("--seed 7 --episodes 30"), kept so
 * that a resume without them continues with them.  Malloc'ed. */
char *fingerprint_experiment(const sema_program *p, const sema_experiment *x, const plast_train_opts *o, int single,
                             const char *cli);

/* What differs between the STORED fingerprint and NOW, one "  key: ..."
 * line each (malloc'ed), or NULL when they agree. */
char *fingerprint_compare(const char *stored, const char *now);

/* The value of OPTION ("--seed") on the run's command line, in BUF, or NULL. */
const char *fingerprint_cli(const char *text, const char *option, char *buf, size_t len);
/* The experiment's name, in BUF, or NULL. */
const char *fingerprint_experiment_name(const char *text, char *buf, size_t len);

#endif
