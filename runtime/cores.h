/* cores — how many threads a default run gives an episode: as many as the
 * cores other processes leave free, looked at again as the run goes.
 *
 * A kernel's parallel loops wait at their end for every thread of the team;
 * when another process keeps a core busy, the thread that shares that core
 * is descheduled for a time slice, and each loop waits for it: a HAT step on
 * two threads took 0.45 s against 0.22 s on one with one core busy.  The
 * results have the same bits on any thread count, so a run that was not
 * given a count (--threads, OMP_NUM_THREADS) may change it between episodes:
 * it measures, over the last half second or more, the time the cores it may
 * run on spent on other processes (/proc/stat, less its own CPU time) and
 * uses the cores left, at least one.  Where /proc/stat cannot be read it
 * keeps OpenMP's count. */
#ifndef PLAST_CORES_H
#define PLAST_CORES_H

typedef struct plast_cores {
    int on;                     /* choosing: no thread count was given */
    int max;                    /* OpenMP's count at the start: never more */
    int threads;                /* the count in use */
    int picks, changes;         /* looks taken, and how many changed the count */
    double wall, own;           /* at the last look: seconds, and this process's CPU seconds */
    double busy;                /* at the last look: the allowed CPUs' busy seconds (/proc/stat) */
} plast_cores;

/* Starts choosing unless GIVEN (a --threads count, > 0) or OMP_NUM_THREADS
 * fixed the count; sets OpenMP's count to GIVEN when given. */
void plast_cores_start(plast_cores *c, int given);

/* Before a unit of work (an episode, a minibatch): when at least half a
 * second has passed since the last look, looks again and sets OpenMP's
 * count (omp_set_num_threads) to the cores left free.  Returns the count. */
int plast_cores_pick(plast_cores *c);

/* The count for N_CORES allowed cores of which OTHERS (in cores, over the
 * last look) went to other processes: the free cores rounded to the
 * nearest, between 1 and MAX. */
int plast_cores_free(double others, int n_cores, int max);

#endif
