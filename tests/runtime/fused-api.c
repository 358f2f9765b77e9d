/*
 * fused-api.c -- plast_call.fused through the public API: docs/embed/embed.c's
 * network (included, its main renamed) meta-trained three ways,
 *   apart:  the schedule as embed.c wires it (no fused kernel);
 *   fused:  each update call also naming RULE_step_M_denseL, the kernel that
 *           writes w_next and the next step's dense layer over it
 *           (`plastcc compile --experiment embed` builds them), the dense
 *           call it does for the next step, and the next step's signals it
 *           reads and writes (pre_y_next, post_z_next, post_y_next);
 *   bad:    a fused call naming a call it cannot run (an update);
 * apart and fused must give the same bits, bad a clear error.  Built and run
 * by tests/runtime/embed.sh against the staged install.
 */
#define main embed_main
#include "embed.c"
#undef main

extern const plast_kdesc bio_step_moons_dense1_desc, bio_step_moons_dense2_desc;

enum { N_STEP = sizeof step / sizeof step[0] };

/* Three episodes of embed's experiment with the step calls CALLS; 0 and the
 * meta-parameters in THETA, or -1 and the error in WHAT. */
static int train(const plast_call *calls, double *theta, char *what, size_t len)
{
    plast_train_opts opts = {
        .ways = 2, .k_train = 20, .q_query = 10, .batch = 1, .steps = 0, .episodes = 3, .meta_batch = 1,
        .lr = 1e-3, .seed = 5, .threads = 1, .quiet = 1,
    };
    double *meta[1] = { theta };
    plast_train_result result = { .meta = meta };
    plast_dataset moons;
    plast_net net;
    if (plast_gen_moons(400, 0.1, opts.seed, &moons) < 0) return -1;
    wire_moons(&net);
    net.sched.step = calls;
    int rc = plast_train(&net, &moons, &opts, &result);
    plast_dataset_free(&moons);
    snprintf(what, len, "%s", rc < 0 ? result.what : "");
    return rc < 0 ? -1 : 0;
}

/* BINDS (N of them) and the next step's signals the fused kernel of layer L
 * reads and writes (bound in their next version), into OUT. */
static int with_next(const plast_bind *binds, int n, int pre_y, int post_z, int post_y, plast_bind *out)
{
    memcpy(out, binds, (size_t)n * sizeof *binds);
    out[n++] = (plast_bind){ "pre_y_next", pre_y, 1 };
    out[n++] = (plast_bind){ "post_z_next", post_z, 1 };
    out[n++] = (plast_bind){ "post_y_next", post_y, 1 };
    return n;
}

/* The update call of state W in CALLS. */
static plast_call *update_of(plast_call *calls, int w)
{
    for (int c = 0; c < N_STEP; c++) if (calls[c].update == w) return &calls[c];
    return NULL;
}

int main(void)
{
    plast_call calls[N_STEP];
    double apart[N_META], fused[N_META], unused[N_META];
    char what[512];
    int fail = 0;

    memcpy(calls, step, sizeof calls);
    if (train(calls, apart, what, sizeof what) < 0) { printf("FAIL: apart: %s\n", what); return 1; }

    /* dense1 and dense2 are step calls 0 and 1 */
    plast_bind b1[sizeof update1 / sizeof update1[0] + 3], b2[sizeof update2 / sizeof update2[0] + 3];
    plast_call *u1 = update_of(calls, W1), *u2 = update_of(calls, W2);
    u1->n_bind = with_next(update1, u1->n_bind, X, Z1, Y1, b1), u1->bind = b1;
    u2->n_bind = with_next(update2, u2->n_bind, Y1, Z2, Y2, b2), u2->bind = b2;
    u1->fused = &bio_step_moons_dense1_desc, u1->fuses = 0;
    u2->fused = &bio_step_moons_dense2_desc, u2->fuses = 1;
    if (train(calls, fused, what, sizeof what) < 0) { printf("FAIL: fused: %s\n", what); return 1; }
    if (memcmp(apart, fused, sizeof apart)) {
        printf("FAIL: the fused updates change the meta-parameters:");
        for (int k = 0; k < N_META; k++) printf(" %.17g/%.17g", apart[k], fused[k]);
        printf("\n");
        fail = 1;
    }

    u2->fuses = (int)(u1 - calls);   /* an update call: not one it can run for the next step */
    if (train(calls, unused, what, sizeof what) == 0) {
        printf("FAIL: a fused call naming an update call was accepted\n");
        fail = 1;
    } else if (!strstr(what, "fused with a call of the next step that it cannot run")) {
        printf("FAIL: unclear error for a bad fused call: %s\n", what);
        fail = 1;
    } else {
        printf("bad fused call: %s\n", what);
    }
    if (!fail) printf("plast_call.fused: the same bits as the calls apart; a bad one refused\n");
    return fail;
}
