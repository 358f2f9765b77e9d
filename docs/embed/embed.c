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
 * (layers, feedback, the rule of each projection), makes a data set and
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

/* Model moons: 2 -> 16 -> 2, random feedback, rule bio on both projections. */
static void wire_moons(plast_net *net)
{
    memset(net, 0, sizeof *net);
    net->n_layers = 2;
    net->size[0] = 2, net->size[1] = 16, net->size[2] = 2;
    net->feedback = PLAST_FB_RANDOM;
    net->dense_fwd[0] = &moons_dense1_fwd_desc, net->dense_adj[0] = &moons_dense1_adj_desc;
    net->dense_fwd[1] = &moons_dense2_fwd_desc, net->dense_adj[1] = &moons_dense2_adj_desc;
    net->error_fwd[0] = &moons_error1_fwd_desc, net->error_adj[0] = &moons_error1_adj_desc;
    net->error_fwd[1] = &moons_error2_fwd_desc, net->error_adj[1] = &moons_error2_adj_desc;
    net->loss_fwd = &moons_loss_fwd_desc, net->loss_adj = &moons_loss_adj_desc;
    net->rules = &bio, net->n_rules = 1;
    net->rule_of[0] = net->rule_of[1] = 0;
    net->precision = PLAST_DOUBLE;
}

int main(int argc, char **argv)
{
    /* experiment embed: 2-way tasks of 20 training and 10 query samples per
     * class, online inner loop, Adam lr 1e-3, seed 5 (data and episodes) */
    plast_train_opts opts = {
        .ways = 2, .k_train = 20, .q_query = 10, .batch = 1, .steps = 0,
        .episodes = argc > 1 ? atoi(argv[1]) : 20, .meta_batch = 1,
        .lr = 1e-3, .seed = 5, .init = PLAST_INIT_XAVIER, .threads = 1, .quiet = 1,
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
