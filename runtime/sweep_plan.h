/* sweep_plan — where the reverse sweep of an episode keeps copies of the
 * state, and which forward steps it runs again (internal to libplast).
 *
 * The cost model.  The reverse of steps [t0, t0 + n) starts from a state
 * its caller holds and may use s more state buffers ("slots"):
 *   - a leaf runs the n steps forward once more, keeping every state
 *     (n - 1 slots, n with `extra`: when a call reads the updated state)
 *     and the signals, then steps back through them: n forward steps;
 *   - a split at m runs m steps forward into a slot (a second slot takes
 *     the alternate steps when m > 1, unless the steps update the state in
 *     place: `in_place`), reverses [t0 + m, t0 + n) from it
 *     with s - 1 slots, frees it, and reverses [t0, t0 + m) with s:
 *     m + F(n - m, s - 1) + F(m, s) forward steps.
 * The inner loop's own forward pass is free to keep copies: at its top
 * level a split stores S_m as the loop passes it (F(m, s) + G(n - m, s - 1)),
 * the loop's two buffers (one in place) count among the slots, and its last n steps may
 * be a leaf kept as the loop runs them (from the last checkpoint, or the
 * initial state: n slots, no forward step run again).
 *
 * F and G are computed by dynamic programming over (n, s): every split
 * point while n <= 512, 512 evenly spaced ones beyond (the schedule stays
 * valid, only perhaps not the best); beyond 4096 steps, two levels with
 * parts of sqrt(T) steps.  This is Griewank's binomial
 * checkpointing (revolve) for a sweep whose last forward pass over a leaf
 * is also its taping pass: with s slots and no step run more than twice,
 * about s^2 / 2 steps; three times, about s^3 / 6. */
#ifndef PLAST_SWEEP_PLAN_H
#define PLAST_SWEEP_PLAN_H

typedef struct sweep_plan {
    int T;            /* inner steps */
    int slots;        /* state buffers the sweep may hold (the inner loop's two included) */
    int extra;        /* 1: a leaf keeps its last state too */
    int free_leaf;    /* 1: the inner loop may keep its last steps as a leaf */
    int leaf_max;     /* > 0: no leaf of more steps (their states stay in the cache) */
    int in_place;     /* 1: a step may write the next state over its own (the loop and a split's run hold one) */
    int every;        /* > 0: checkpoints every this many steps, leaves of that many (two levels) */
    long long steps;  /* forward steps of the whole episode, the inner loop's included */
    int n_cols;       /* columns 0..n_cols-1 of the choices, one per slot count */
    short **fm, **gm; /* [s][n] the choice: F: 0 leaf, m split; G: 0 reverse from the start, -1 leaf, m split */
    long long *fc[2], *gc[2];   /* while planning: the costs of two columns */
} sweep_plan;

/* The plan for T steps with at most SLOTS state buffers (0: the fewest
 * with which the episode runs at most 3 T forward steps: the loop's, one
 * more, and the leaves'), and leaves of at most LEAF_MAX steps (0: any), or with
 * checkpoints every EVERY steps when EVERY > 0 (SLOTS then ignored: the
 * plan says how many it needs), and steps IN_PLACE or between two buffers.
 * Returns 0, or -1 when SLOTS cannot reverse T steps (fewer than 2 for
 * T > 1, out of place) or memory ran out. */
int plast_sweep_plan_make(sweep_plan *p, int T, int slots, int every, int extra, int free_leaf, int leaf_max,
                          int in_place);
void plast_sweep_plan_free(sweep_plan *p);

/* The same plan, made once and kept for the process (for up to 8 shapes;
 * beyond, made into OWN, which the caller frees when the result is OWN);
 * NULL when it cannot be made. */
const sweep_plan *plast_sweep_plan_get(int T, int slots, int every, int extra, int free_leaf, int leaf_max,
                                       int in_place, sweep_plan *own);

/* The choices: the split of [t0, t0 + n) with s slots (0: a leaf), and at
 * the top level (-1: the loop keeps the last n steps as a leaf; 0: reverse
 * them from their start after the loop). */
int plast_sweep_plan_split(const sweep_plan *p, int n, int s);
int plast_sweep_plan_top(const sweep_plan *p, int n, int s);

#endif
