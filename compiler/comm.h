/* comm — the ranks a plastcc command runs on: MPI ranks when plastcc is
 * built with MPI (configure --with-mpi) and started by mpirun or srun, else
 * this process alone.  The runtime sees them as a plast_comm (plast.h); the
 * commands use the decisions below before and after plast_train, so that a
 * rank that cannot go on stops the job with a message naming it, and no
 * rank waits for one that left. */
#ifndef PLAST_COMM_H
#define PLAST_COMM_H

#include "plast.h"

/* Joins the job's ranks when started by an MPI launcher (MPI_Init once);
 * the communicator, or NULL for a process alone. */
const plast_comm *comm_start(int *argc, char ***argv);
/* Leaves the job: MPI_Finalize, or, when this rank failed (RC != 0) and
 * others may still wait for it, MPI_Abort, which stops every rank. */
void comm_finish(int rc);
/* The failure this rank returns was reached by every rank together (a
 * collective decision): comm_finish leaves normally. */
void comm_agreed(void);
/* This process's rank (0 alone) and the number of ranks (1 alone). */
int comm_rank(void);
int comm_size(void);
/* Independent work on each rank (the runs of `run --seeds`): while ON,
 * comm_rank() is 0 and comm_size() 1, so that each rank's runs decide alone
 * and write their own folders; comm_world_rank/size are the job's ranks. */
void comm_alone(int on);
int comm_world_rank(void);
int comm_world_size(void);
/* "Open MPI v4.1.4, ..." for --version, or NULL without MPI. */
const char *comm_library(void);

/* Every rank reports OK and, when not, WHY; returns 1 when all are ok, else
 * prints "plastcc: rank R: WHY" (rank 0, for the first failed rank) and
 * returns 0 on every rank (a failure they agree on).  Alone: OK (WHY
 * printed when not). */
int comm_all_ok(int ok, const char *why);
/* 1 when TEXT is the same on every rank; else rank 0 prints which ranks
 * differ (WHAT names it: "the experiment and its options"). */
int comm_same_text(const char *text, const char *what);

#endif
