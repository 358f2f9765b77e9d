/* run_joint — `plastcc run` for experiments with `train joint` (paper 001):
 * the test split, plast_train_joint and the run's output files. */
#ifndef PLAST_RUN_JOINT_H
#define PLAST_RUN_JOINT_H

#include "bind.h"

/* Trains experiment X (bound as BN) jointly on DATA (its training split;
 * replaced by what remains when the test split is held out of it), with the
 * command line's options O (seed, threads, output folder, resume, quiet,
 * and stop: a signal stops it after the minibatch in flight, everything
 * written).  Returns 0, 1 with the error printed, or RUN_JOINT_STOPPED. */
enum { RUN_JOINT_STOPPED = -2 };
int run_joint(const compiled_unit *u, const bound_net *bn, const sema_experiment *x, const char *file,
              const plast_train_opts *o, struct plast_dataset *data);

#endif
