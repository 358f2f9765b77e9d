/* test_meta_step — each meta-optimiser option moves the meta-parameters
 * exactly as its formula in runtime/meta_state.c says, on small cases computed by
 * hand here.  Adam's first step with bias correction moves phi by
 * lr * g / (|g| + 1e-8), so each case can be written in closed form. */
#include "config.h"
#include "train_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

static int failures;
#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); \
    if (!(fabs(a_ - b_) <= (tol) * (1 + fabs(b_)))) { \
        printf("%s:%d: %s = %.17g, expected %.17g\n", __FILE__, __LINE__, #a, a_, b_); failures++; } } while (0)
#define CHECK(c) do { if (!(c)) { printf("%s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

enum { N = 4 };
static const char *names[N] = { "a", "b", "c", "d" };
static double init[N] = { 0.5, -0.5, 0.05, 1.0 };
static unsigned char l1[N], fixed[N];
static double lo[N] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY }, hi[N] = { INFINITY, INFINITY, INFINITY, INFINITY };

static void setup(plast_net *net, plast_rule *rule, plast_train_opts *o)
{
    memset(net, 0, sizeof *net);
    memset(rule, 0, sizeof *rule);
    memset(o, 0, sizeof *o);
    memset(l1, 0, sizeof l1);
    memset(fixed, 0, sizeof fixed);
    rule->name = "r"; rule->n_meta = N; rule->init = init; rule->l1 = l1; rule->fixed = fixed;
    rule->lo = lo; rule->hi = hi; rule->meta_name = names;
    net->rules = rule; net->n_rules = 1;
    o->lr = 0.1; o->episodes = 100;
}

/* One step from the initial state with gradient G at episode E. */
static void step(const plast_net *net, const plast_train_opts *o, const double *g, int e, meta_state *S,
                 double *norm, int *clipped)
{
    double grad[N], *G[1] = { grad };
    memcpy(grad, g, sizeof grad);
    meta_state_init(S, net, o);
    plast_meta_step(S, net, o, G, e, norm, clipped);
}

static double adam1(double lr, double g) { return g == 0 ? 0 : lr * g / (fabs(g) + 1e-8); }

int main(void)
{
    plast_net net; plast_rule rule; plast_train_opts o; meta_state S;
    double norm; int clipped;

    /* plain Adam, first step: theta -= lr * g / (|g| + eps) */
    setup(&net, &rule, &o);
    double g1[N] = { 0.5, -2, 0, 1e-3 };
    step(&net, &o, g1, 0, &S, &norm, &clipped);
    for (int k = 0; k < N; k++) CHECK_NEAR(S.theta[0][k], init[k] - adam1(0.1, g1[k]), 1e-15);
    CHECK_NEAR(norm, sqrt(0.25 + 4 + 1e-6), 1e-15);
    CHECK(!clipped);
    /* second step, same gradient: m = 0.19 g, v = 0.001999 g^2, corrected by 0.19 and 0.001999 */
    double grad[N], *G[1] = { grad };
    memcpy(grad, g1, sizeof grad);
    plast_meta_step(&S, &net, &o, G, 1, &norm, &clipped);
    CHECK_NEAR(S.theta[0][0], init[0] - 2 * adam1(0.1, g1[0]), 1e-12);
    CHECK_NEAR(S.m[0][1], 0.19 * -2, 1e-15);
    CHECK_NEAR(S.v[0][1], 0.001999 * 4, 1e-15);
    meta_state_free(&S, &net);

    /* clipping: g = (3, 4, 0, 0) has norm 5; clip 1 scales it to (0.6, 0.8) */
    setup(&net, &rule, &o);
    o.clip = 1;
    double g2[N] = { 3, 4, 0, 0 };
    step(&net, &o, g2, 0, &S, &norm, &clipped);
    CHECK(clipped);
    CHECK_NEAR(norm, 5, 1e-15);
    CHECK_NEAR(S.m[0][0], 0.1 * 0.6, 1e-15);
    CHECK_NEAR(S.m[0][1], 0.1 * 0.8, 1e-15);
    CHECK_NEAR(S.theta[0][1], init[1] - adam1(0.1, 0.8), 1e-15);
    meta_state_free(&S, &net);

    /* L1 subgradient: g += l1 * sign(theta) on l1 entries only */
    setup(&net, &rule, &o);
    o.l1 = 0.2;
    l1[0] = l1[1] = 1;
    double g0[N] = { 0, 0, 0, 0 };
    step(&net, &o, g0, 0, &S, &norm, &clipped);
    CHECK_NEAR(S.theta[0][0], 0.5 - adam1(0.1, 0.2), 1e-15);
    CHECK_NEAR(S.theta[0][1], -0.5 + adam1(0.1, 0.2), 1e-15);
    CHECK_NEAR(S.theta[0][2], 0.05, 0);
    meta_state_free(&S, &net);

    /* proximal L1: soft-threshold by lr * l1 after the step: exact zeros */
    setup(&net, &rule, &o);
    o.l1 = 1; o.l1_prox = 1;
    l1[1] = l1[2] = 1;
    step(&net, &o, g0, 0, &S, &norm, &clipped);
    CHECK_NEAR(S.theta[0][1], -0.4, 1e-15);
    CHECK(S.theta[0][2] == 0 && S.phi[0][2] == 0);
    CHECK_NEAR(S.theta[0][0], 0.5, 0);
    meta_state_free(&S, &net);

    /* per-parameter scale: theta = s phi, g_phi = s g, threshold and step in phi */
    setup(&net, &rule, &o);
    double s_vals[N] = { 0.5, 1, 1, 0.25 }, *scale[1] = { s_vals };
    o.scale = scale;
    double g3[N] = { 1, 0, 0, -1 };
    step(&net, &o, g3, 0, &S, &norm, &clipped);
    CHECK_NEAR(S.phi[0][0], 0.5 / 0.5 - adam1(0.1, 0.5), 1e-15);
    CHECK_NEAR(S.theta[0][0], 0.5 * (1 - adam1(0.1, 0.5)), 1e-15);
    CHECK_NEAR(S.theta[0][3], 0.25 * (4 + adam1(0.1, 0.25)), 1e-15);
    CHECK_NEAR(norm, sqrt(0.25 + 0.0625), 1e-15);
    meta_state_free(&S, &net);

    /* schedules: warmup, step, cosine change the first step's size */
    double g4[N] = { 1, 0, 0, 0 };
    setup(&net, &rule, &o);
    o.warmup = 4;
    step(&net, &o, g4, 1, &S, &norm, &clipped);   /* episode 1 of a 4-episode warm-up: lr * 2/4 */
    CHECK_NEAR(S.theta[0][0], 0.5 - adam1(0.05, 1), 1e-15);
    meta_state_free(&S, &net);
    setup(&net, &rule, &o);
    o.schedule = PLAST_SCHEDULE_STEP; o.sched_every = 10; o.sched_gamma = 0.5;
    step(&net, &o, g4, 25, &S, &norm, &clipped);  /* lr * 0.5^2 */
    CHECK_NEAR(S.theta[0][0], 0.5 - adam1(0.025, 1), 1e-15);
    meta_state_free(&S, &net);
    setup(&net, &rule, &o);
    o.schedule = PLAST_SCHEDULE_COSINE;
    step(&net, &o, g4, 50, &S, &norm, &clipped);  /* lr * (1 + cos(pi/2)) / 2 */
    CHECK_NEAR(S.theta[0][0], 0.5 - adam1(0.05, 1), 1e-12);
    meta_state_free(&S, &net);

    /* fixed entries never move; ranges clamp */
    setup(&net, &rule, &o);
    fixed[0] = 1;
    hi[1] = -0.45;
    double g5[N] = { 1, -1, 0, 0 };
    step(&net, &o, g5, 0, &S, &norm, &clipped);
    CHECK_NEAR(S.theta[0][0], 0.5, 0);
    CHECK_NEAR(S.theta[0][1], -0.45, 1e-15);
    CHECK_NEAR(norm, 1, 1e-15);                   /* a fixed entry's gradient is not in the norm */
    meta_state_free(&S, &net);
    hi[1] = INFINITY;

    /* nonfinite backtrack: remember, step, step again, undo -> exactly the
     * state before the last step; the lr factor scales the next step;
     * the state (with the previous one) survives a save/load round trip */
    setup(&net, &rule, &o);
    double g6[N] = { 0.5, -2, 0, 1e-3 };
    memcpy(grad, g6, sizeof grad);
    meta_state_init(&S, &net, &o);
    meta_state_remember(&S, &net);
    plast_meta_step(&S, &net, &o, G, 0, &norm, &clipped);
    double th1[N], m1[N], v1[N];
    memcpy(th1, S.theta[0], sizeof th1); memcpy(m1, S.m[0], sizeof m1); memcpy(v1, S.v[0], sizeof v1);
    meta_state_remember(&S, &net);
    plast_meta_step(&S, &net, &o, G, 1, &norm, &clipped);
    char dir[] = "/tmp/test_meta_step.XXXXXX", err[256];
    CHECK(mkdtemp(dir) != NULL);
    S.episode = 2;   /* two episodes, two Adam steps: a state a run writes */
    CHECK(meta_state_save(&S, &net, dir, err, sizeof err) == 0);
    meta_state L;
    meta_state_init(&L, &net, &o);
    CHECK(meta_state_load(&L, &net, dir, err, sizeof err) == 0);
    meta_state_undo(&S, &net);
    meta_state_undo(&L, &net);
    for (int k = 0; k < N; k++) {
        CHECK(S.theta[0][k] == th1[k] && S.m[0][k] == m1[k] && S.v[0][k] == v1[k]);
        CHECK(L.theta[0][k] == th1[k] && L.m[0][k] == m1[k] && L.v[0][k] == v1[k] && L.phi[0][k] == S.phi[0][k]);
    }
    CHECK(S.t == 1 && L.t == 1 && !S.has_prev);
    meta_state_undo(&S, &net);                    /* one step back at most */
    CHECK(S.theta[0][0] == th1[0] && S.t == 1);
    S.lr_factor = 0.5;                            /* the step after a backtrack: half the lr */
    meta_state_remember(&S, &net);
    plast_meta_step(&S, &net, &o, G, 1, &norm, &clipped);
    /* t = 2 with the same g: bias-corrected m = g, v = g^2, so the step is adam1(lr * 0.5, g) */
    for (int k = 0; k < N; k++) CHECK_NEAR(S.theta[0][k], th1[k] - adam1(0.05, g6[k]), 1e-12);
    char path[300];
    snprintf(path, sizeof path, "%s/meta-state.txt", dir);
    remove(path);
    rmdir(dir);
    meta_state_free(&S, &net);
    meta_state_free(&L, &net);

    /* a finite gradient too large for Adam (g^2 overflows, or s * g does):
     * the state after the step is not finite, which the check names, and the
     * state before it comes back */
    setup(&net, &rule, &o);
    double huge[N] = { 0, 1e300, 0, 0 };
    char why[256] = "";
    meta_state_init(&S, &net, &o);
    CHECK(meta_state_check_finite(&S, &net, why, sizeof why) == 0);
    meta_state_remember(&S, &net);
    memcpy(grad, huge, sizeof grad);
    plast_meta_step(&S, &net, &o, G, 0, &norm, &clipped);
    CHECK(meta_state_check_finite(&S, &net, why, sizeof why) < 0);
    CHECK(strstr(why, "the meta-step made b (its Adam second moment) inf") != NULL);
    meta_state_undo(&S, &net);
    CHECK(meta_state_check_finite(&S, &net, why, sizeof why) == 0 && S.theta[0][1] == init[1] && S.v[0][1] == 0);
    S.scale[0][2] = 1e10;
    huge[1] = 0, huge[2] = 1e300;
    memcpy(grad, huge, sizeof grad);
    plast_meta_step(&S, &net, &o, G, 0, &norm, &clipped);
    CHECK(meta_state_check_finite(&S, &net, why, sizeof why) < 0 && strstr(why, "the meta-step made c") != NULL);
    meta_state_free(&S, &net);

    printf("%s\n", failures ? "meta-step tests FAILED" : "meta-step: Adam, clipping, L1, prox, scale, schedules, fixed, range, backtrack, overflow: ok");
    return failures ? 1 : 0;
}
