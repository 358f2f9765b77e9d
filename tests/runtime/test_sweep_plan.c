/*
 * test_sweep_plan.c -- the reverse sweep's checkpoint plans (runtime/sweep_plan.c).
 *
 * Each plan is played out the way runtime/episode.c plays it (the inner
 * loop storing the top level's checkpoints, splits advancing into a slot
 * with a second one for the alternate steps unless they run in place,
 * leaves keeping their states)
 * counting the state buffers alive and the forward steps run: the buffers
 * never exceed the plan's slots, and the steps are the plan's count.  Then
 * the plans' costs: known values, more slots never cost more steps, the
 * default's slots are the fewest for at most 3 T steps.
 */
#include "sweep_plan.h"

#include <stdio.h>

#include "check.h"

typedef struct sim { const sweep_plan *p; int live, peak; long long steps; } sim;

static void hold(sim *m, int k)
{
    m->live += k;
    if (m->live > m->peak) m->peak = m->live;
}

/* [t0, t0 + n) from a state the caller holds, with s free slots */
static void sim_range(sim *m, int n, int s)
{
    CHECK(m->live + s == m->p->slots);
    int split = plast_sweep_plan_split(m->p, n, s);
    CHECK(split >= 0 && split < n);
    if (split == 0) {   /* a leaf */
        int kept = n - 1 + m->p->extra;
        CHECK(!m->p->leaf_max || m->p->every || n <= m->p->leaf_max);
        hold(m, kept);
        m->steps += n;
        m->live -= kept;
        return;
    }
    int two = split > 1 && !m->p->in_place;
    hold(m, two ? 2 : 1);   /* the split's state and the alternate steps' */
    m->steps += split;
    if (two) m->live -= 1;
    sim_range(m, n - split, s - 1);
    m->live -= 1;
    sim_range(m, split, s);
}

static void sim_episode(sim *m)
{
    const sweep_plan *p = m->p;
    int T = p->T, S = p->slots;
    if (T == 0) return;
    int len[4096], n = T, s = S, k = 0, tail;
    while ((tail = plast_sweep_plan_top(p, n, s)) > 0 && k < 4096) {
        len[k++] = tail;
        n -= tail;
        s -= 1;
    }
    CHECK(tail == 0 || tail == -1);
    if (tail == 0 || k > 0) {   /* the loop's two buffers (one in place), and the checkpoints it stores */
        int bufs = p->in_place ? 1 : 2;
        hold(m, bufs + k);
        m->live -= bufs;
    }
    if (tail == -1) {   /* the last n steps kept as the loop runs them, from the last checkpoint */
        CHECK(!p->leaf_max || p->every || n <= p->leaf_max);
        hold(m, n);
        m->steps += T;
        m->live -= n;
    } else {
        m->steps += T;
        sim_range(m, n, s);
    }
    for (int i = k - 1; i >= 0; i--) {
        m->live -= 1;   /* the checkpoint ending segment i */
        sim_range(m, len[i], S - i);
    }
    CHECK(m->live == 0);
}

/* Plays PLAN; returns its steps (-1 when it broke its bounds). */
static long long play(const sweep_plan *p)
{
    sim m = { p, 0, 0, 0 };
    int before = failures;
    sim_episode(&m);
    if (m.peak > p->slots) {
        fprintf(stderr, "T=%d slots=%d: the sweep held %d states\n", p->T, p->slots, m.peak);
        failures++;
    }
    if (m.steps != p->steps) {
        fprintf(stderr, "T=%d slots=%d every=%d: played %lld steps, the plan says %lld\n", p->T, p->slots, p->every,
                m.steps, p->steps);
        failures++;
    }
    return failures == before ? m.steps : -1;
}

static void test_plans_play_out(void)
{
    static const int Ts[] = { 1, 2, 3, 4, 5, 7, 10, 22, 37, 64, 100, 250, 600 };
    static const int Ss[] = { 2, 3, 4, 5, 7, 10, 12, 21, 40, 0 };
    for (size_t a = 0; a < sizeof Ts / sizeof *Ts; a++)
        for (int extra = 0; extra <= 1; extra++)
            for (int leaf = 0; leaf <= 1; leaf++)
            for (int lmax = 0; lmax <= 3; lmax += 3)
            for (int in_place = 0; in_place <= 1; in_place++) {
                long long prev = -1;
                for (size_t b = 0; b < sizeof Ss / sizeof *Ss; b++) {
                    sweep_plan p, q;
                    if (plast_sweep_plan_make(&p, Ts[a], Ss[b], 0, extra, leaf, lmax, in_place) < 0) {
                        CHECK(Ts[a] > 1 && Ss[b] < 3);   /* only the tightest budgets may fail */
                        continue;
                    }
                    long long steps = play(&p);
                    CHECK(steps >= Ts[a]);
                    if (Ss[b] > 0 && prev >= 0) CHECK(steps <= prev);   /* more slots never cost more */
                    if (Ss[b] > 0) prev = steps;
                    /* stepping in place never costs more steps in the same slots */
                    if (in_place && Ss[b] > 0 && plast_sweep_plan_make(&q, Ts[a], Ss[b], 0, extra, leaf, lmax, 0) == 0)
                        CHECK(steps <= q.steps);
                    if (in_place && Ss[b] > 0) plast_sweep_plan_free(&q);
                    plast_sweep_plan_free(&p);
                }
                for (int K = 1; K <= Ts[a] + 1; K += K < 8 ? 1 : 17) {
                    sweep_plan p;
                    CHECK(plast_sweep_plan_make(&p, Ts[a], 0, K, extra, leaf, lmax, in_place) == 0);
                    play(&p);
                    plast_sweep_plan_free(&p);
                }
            }
}

/* A strided plan (n > 512): valid, and no worse than two levels. */
static void test_long(void)
{
    sweep_plan p;
    CHECK(plast_sweep_plan_make(&p, 2000, 30, 0, 0, 1, 6, 0) == 0);
    CHECK(play(&p) > 0);
    CHECK(p.steps <= 3 * 2000);
    plast_sweep_plan_free(&p);
}

static long long steps_of_in(int T, int S, int extra, int leaf, int in_place)
{
    sweep_plan p;
    long long s = plast_sweep_plan_make(&p, T, S, 0, extra, leaf, 0, in_place) == 0 ? p.steps : -1;
    plast_sweep_plan_free(&p);
    return s;
}

static long long steps_of(int T, int S, int extra, int leaf)
{
    sweep_plan p;
    long long s = plast_sweep_plan_make(&p, T, S, 0, extra, leaf, 0, 0) == 0 ? p.steps : -1;
    plast_sweep_plan_free(&p);
    return s;
}

static void test_costs(void)
{
    /* enough slots: the loop is the leaf (T steps); one short of it, the
     * loop stores S_2 and keeps its last 8 steps from it, and the sweep
     * runs the first 2 again */
    CHECK(steps_of(250, 250, 0, 1) == 250);
    CHECK(steps_of(250, 250, 0, 0) == 500);   /* without the loop's leaf: once more each */
    CHECK(steps_of(10, 9, 0, 1) == 12);
    /* two slots: the loop's buffers; then S_3 into one (the other takes
     * step 1's state), steps 3-4 a leaf in the other, steps 0-2 a leaf in both */
    CHECK(steps_of(5, 2, 0, 0) == 5 + 3 + 2 + 3);
    /* the default: the fewest slots for at most 3 T steps */
    sweep_plan p;
    CHECK(plast_sweep_plan_make(&p, 250, 0, 0, 0, 1, 0, 0) == 0);
    CHECK(p.steps <= 750);
    CHECK(steps_of(250, p.slots - 1, 0, 1) > 750);
    printf("250 steps: %d slots by default, %lld forward steps\n", p.slots, p.steps);
    plast_sweep_plan_free(&p);
    /* leaves of at most 6 steps: the same slots, a few more steps */
    CHECK(plast_sweep_plan_make(&p, 250, 10, 0, 0, 1, 6, 0) == 0);
    CHECK(p.steps >= steps_of(250, 10, 0, 1) && p.steps <= 750);
    plast_sweep_plan_free(&p);
    /* two levels every 10 steps: 2 T steps, 24 checkpoints and the loop's two, or 24 and a leaf of 9 */
    CHECK(plast_sweep_plan_make(&p, 250, 0, 10, 0, 1, 0, 0) == 0);
    CHECK(p.steps == 500 && p.slots == 33);
    plast_sweep_plan_free(&p);
    /* too few */
    CHECK(plast_sweep_plan_make(&p, 250, 1, 0, 0, 1, 0, 0) < 0);
    plast_sweep_plan_free(&p);
    /* in place: two slots hold the loop's one buffer and a checkpoint
     * (steps_of(5, 2, 0, 0) - 2: S_3 stored as the loop passes it, then steps
     * 3-4 a leaf from it and steps 0-2 a leaf) */
    CHECK(steps_of_in(5, 2, 0, 0, 1) == 5 + 2 + 3);
    /* and one slot, which cannot reverse out of place: after the loop, S_2
     * run into it, step 2 a leaf, then steps 0-1 a leaf keeping S_1 */
    CHECK(steps_of(3, 1, 0, 0) < 0);
    CHECK(steps_of_in(3, 1, 0, 0, 1) == 3 + 2 + 1 + 2);
    /* two levels every 2 steps: 124 checkpoints and the loop's one buffer */
    CHECK(plast_sweep_plan_make(&p, 250, 0, 2, 0, 1, 0, 0) == 0 && p.slots == 126);
    plast_sweep_plan_free(&p);
    CHECK(plast_sweep_plan_make(&p, 250, 0, 2, 0, 1, 0, 1) == 0 && p.slots == 125);
    plast_sweep_plan_free(&p);
}

int main(void)
{
    test_plans_play_out();
    test_long();
    test_costs();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures != 0;
}
