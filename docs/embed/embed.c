/*
 * embed.c -- libplast in a program of one's own: the rule of embed.rule
 * meta-trained on two moons through the public API, plast.h, alone.
 *
 *   plastcc compile embed.rule -o kernels.o
 *   cc embed.c kernels.o $(pkg-config --cflags --libs plast) -fopenmp -lm -o embed
 *   ./embed [EPISODES]
 *
 * plastcc writes the kernels as an object file with a descriptor per kernel
 * (NAME_desc, plast.h's kernel ABI); the program wires them into a plast_net
 * (the inner step's schedule: buffers and kernel calls), makes a data set and
 * calls plast_train, which runs the episodes: inner loop, meta-loss, exact
 * meta-gradient, Adam.  It prints the learned meta-parameters as `plastcc
 * run embed.rule` writes them to meta.csv (rule,name,value): the same
 * numbers, since both run the same seed through the same library.
 */
#include <plast.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernels of embed.rule, from kernels.o. */
extern const plast_kdesc bio_fwd_desc, bio_adj_desc, bio_step_desc;
extern const plast_kdesc moons_dense1_fwd_desc, moons_dense1_adj_desc;
extern const plast_kdesc moons_dense2_fwd_desc, moons_dense2_adj_desc;
extern const plast_kdesc moons_error1_fwd_desc, moons_error1_adj_desc;
extern const plast_kdesc moons_error2_fwd_desc, moons_error2_adj_desc;
extern const plast_kdesc moons_loss_fwd_desc, moons_loss_adj_desc;

/* Rule bio's meta-parameters, as embed.rule declares them: initial values,
 * none in the L1 penalty, none fixed, no range. */
enum { N_META = 3 };
static const double bio_init[N_META] = { 1e-3, 0, 0 };
static const unsigned char bio_none[N_META] = { 0, 0, 0 };
static const char *const bio_names[N_META] = { "theta0", "theta2", "theta9" };

static const plast_rule bio = {
    .name = "bio", .n_meta = N_META, .init = bio_init, .l1 = bio_none, .fixed = bio_none,
    .lo = NULL, .hi = NULL, .meta_name = bio_names,
    .fwd = &bio_fwd_desc, .adj = &bio_adj_desc, .step = &bio_step_desc,
};

/* Model moons: 2 -> 16 -> 2, random feedback, rule bio on both projections,
 * as the schedule `plastcc emit-c embed.rule --dump=schedule` prints:
 *   step:  dense1, dense2, loss, error2, error1, update W1, update W2
 *   eval:  dense1, dense2, loss */
enum { W1, W2, B1, B2, X, TARGET, MASK, Z1, Y1, Z2, Y2, E0, E1, E2, LOSS, N_BUF };
static const plast_buf bufs[N_BUF] = {
    [W1] = { "W1", PLAST_BUF_STATE, 16, 2, PLAST_INIT_XAVIER, 0, 2, 16, PLAST_STREAM_W },
    [W2] = { "W2", PLAST_BUF_STATE, 2, 16, PLAST_INIT_XAVIER, 0, 16, 2, PLAST_STREAM_W },
    [B1] = { "B1", PLAST_BUF_CONST, 16, 2, PLAST_INIT_XAVIER, 0, 2, 16, PLAST_STREAM_B },
    [B2] = { "B2", PLAST_BUF_CONST, 2, 16, PLAST_INIT_XAVIER, 0, 16, 2, PLAST_STREAM_B },
    [X] = { "x", PLAST_BUF_DATA, 1, 2 }, [TARGET] = { "target", PLAST_BUF_DATA, 1, 2 },
    [MASK] = { "mask", PLAST_BUF_DATA, 1, 1 },
    [Z1] = { "z1", PLAST_BUF_SIGNAL, 1, 16 }, [Y1] = { "y1", PLAST_BUF_SIGNAL, 1, 16 },
    [Z2] = { "z2", PLAST_BUF_SIGNAL, 1, 2 }, [Y2] = { "y2", PLAST_BUF_SIGNAL, 1, 2 },
    [E0] = { "e0", PLAST_BUF_SIGNAL, 1, 2 }, [E1] = { "e1", PLAST_BUF_SIGNAL, 1, 16 },
    [E2] = { "e2", PLAST_BUF_SIGNAL, 1, 2 }, [LOSS] = { "loss", PLAST_BUF_SIGNAL, 1, 1 },
};
/* kernel argument -> buffer; next = 1: the state after this step's update */
static const plast_bind dense1[] = { { "w", W1, 0 }, { "pre_y", X, 0 }, { "post_z", Z1, 0 }, { "post_y", Y1, 0 } };
static const plast_bind dense2[] = { { "w", W2, 0 }, { "pre_y", Y1, 0 }, { "post_z", Z2, 0 }, { "post_y", Y2, 0 } };
static const plast_bind loss[] = { { "post_z", Z2, 0 }, { "post_y", Y2, 0 }, { "target", TARGET, 0 },
                                   { "mask", MASK, 0 }, { "post_e", E2, 0 }, { "loss", LOSS, 0 } };
static const plast_bind error2[] = { { "b", B2, 0 }, { "post_e", E2, 0 }, { "pre_z", Z1, 0 }, { "pre_y", Y1, 0 },
                                     { "pre_e", E1, 0 } };
static const plast_bind error1[] = { { "b", B1, 0 }, { "post_e", E1, 0 }, { "pre_z", X, 0 }, { "pre_y", X, 0 },
                                     { "pre_e", E0, 0 } };
static const plast_bind update2[] = { { "w", W2, 0 }, { "pre_y", Y1, 0 }, { "pre_z", Z1, 0 }, { "pre_e", E1, 0 },
                                      { "post_y", Y2, 0 }, { "post_z", Z2, 0 }, { "post_e", E2, 0 },
                                      { "w_next", W2, 1 } };
static const plast_bind update1[] = { { "w", W1, 0 }, { "pre_y", X, 0 }, { "pre_z", X, 0 }, { "pre_e", E0, 0 },
                                      { "post_y", Y1, 0 }, { "post_z", Z1, 0 }, { "post_e", E1, 0 },
                                      { "w_next", W1, 1 } };
/* The updates run W1 then W2, as plastcc's schedule has them; plastcc also
 * fuses each with the next step's dense layer (plast_call.fused: kernels
 * `plastcc compile --experiment` builds), which this program leaves out
 * (NULL): the calls apart give the same bits. */
#define N(a) (int)(sizeof a / sizeof a[0]), a
#define CALL(k, n_pre, n_post, binds) { &k##_fwd_desc, &k##_adj_desc, NULL, n_pre, n_post, -1, -1, N(binds), NULL, -1 }
#define UPDATE(n_pre, n_post, w, binds) { &bio_step_desc, &bio_adj_desc, &bio_fwd_desc, n_pre, n_post, 0, w, N(binds), NULL, -1 }
static const plast_call step[] = {
    CALL(moons_dense1, 2, 16, dense1), CALL(moons_dense2, 16, 2, dense2), CALL(moons_loss, 16, 2, loss),
    CALL(moons_error2, 16, 2, error2), CALL(moons_error1, 2, 16, error1),
    UPDATE(2, 16, W1, update1), UPDATE(16, 2, W2, update2),
};
static const plast_call eval[] = {
    CALL(moons_dense1, 2, 16, dense1), CALL(moons_dense2, 16, 2, dense2), CALL(moons_loss, 16, 2, loss),
};

static void wire_moons(plast_net *net)
{
    memset(net, 0, sizeof *net);
    net->sched = (plast_schedule){ N_BUF, bufs, N(step), N(eval), X, TARGET, MASK, LOSS, Z2 };
    net->rules = &bio, net->n_rules = 1;
    net->precision = PLAST_DOUBLE;
}

int main(int argc, char **argv)
{
    /* experiment embed: 2-way tasks of 20 training and 10 query samples per
     * class, online inner loop, Adam lr 1e-3, seed 5 (data and episodes) */
    plast_train_opts opts = {
        .ways = 2, .k_train = 20, .q_query = 10, .batch = 1, .steps = 0,
        .episodes = argc > 1 ? atoi(argv[1]) : 20, .meta_batch = 1,
        .lr = 1e-3, .seed = 5, .threads = 1, .quiet = 1,
    };
    double theta[N_META], *meta[1] = { theta };
    plast_train_result result = { .meta = meta };
    plast_dataset moons;
    plast_net net;

    if (opts.episodes < 1) {
        fprintf(stderr, "usage: embed [EPISODES >= 1]\n");
        return 2;
    }
    if (plast_gen_moons(400, 0.1, opts.seed, &moons) < 0) {
        fprintf(stderr, "embed: cannot make the moons data set\n");
        return 1;
    }
    wire_moons(&net);
    int rc = plast_train(&net, &moons, &opts, &result);
    plast_dataset_free(&moons);
    if (rc < 0) {
        fprintf(stderr, "embed: %s\n", result.what);
        return 1;
    }
    printf("# libplast %s: %d episodes, meta-accuracy of the last %.3f\n", plast_version(),
           result.episodes_done, result.last_accuracy);
    for (int k = 0; k < N_META; k++)
        printf("%s,%s,%.17g\n", bio.name, bio_names[k], theta[k]);
    return 0;
}
