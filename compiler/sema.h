/* sema — names, signal kinds, index spaces and shapes of a .rule program.
 *
 * Input: parsed units (a file and its imports).  Output: a sema_program whose
 * models, mlps, rules and experiments are checked and resolved; every rule
 * expression node carries its index space and what its name refers to.
 *
 * Index spaces (space.h) are bit sets over the pre, post and sample
 * indices; the later passes compute each value once in its own space
 * (hoisting) from these bits.
 */
#ifndef PLAST_SEMA_H
#define PLAST_SEMA_H

#include "ast.h"
#include "ops.h"
#include "space.h"

/* Which end of the synapse a signal or neuron value is read at. */
enum { SIDE_SELF = 0, SIDE_PRE = 1, SIDE_POST = 2 };

/* The local signals a neuron offers; bit (1 << SIG_x) in signal masks. */
typedef enum { SIG_Y, SIG_Z, SIG_E, SIG_ZTOP, SIG_ZLAT, SIG_COUNT } sema_signal;
extern const char *const sema_signal_names[SIG_COUNT];

typedef enum {
    REF_NONE, REF_NUM, REF_PARAM, REF_PARAM_ELEM, REF_WEIGHT, REF_SIGNAL,
    REF_NEURON, REF_LET, REF_SIZE, REF_FUNC, REF_REDUCE, REF_MLP
} sema_ref_kind;   /* REF_SIZE: ref is a space_size; REF_FUNC: an operator of ops.def (dag_op) */

/* A signal read at an unrolled step of a recurrent layer or at a neighbour
 * of the neuron: pre.y[2], post.z[4], pre[-1].y, pre[2].y[3]; y[2] inside a
 * neuron definition (side SIDE_SELF).  Plain reads (pre.y) are the signal
 * masks of sema_rule; these are listed, once per (side, signal, step, nb). */
typedef struct sema_read {
    int side;              /* SIDE_PRE, SIDE_POST (SIDE_SELF in a neuron value's own list) */
    int signal;            /* SIG_Y, SIG_Z or SIG_E (SIG_* of a neighbour read) */
    int step;              /* s >= 1: x_s of a recurrent layer; 0: the projection's own transmission */
    int nb;                /* d: the neuron d places away (cyclic); 0: the neuron itself */
    src_span at;           /* first use, for diagnostics */
    const char *via;       /* the neuron value it is read through, or NULL */
} sema_read;

/* The kinds of projection a rule may update, each with its own dw:
 * `dw = ...;` (forward W_l), `dw topdown = ...;` (Wtop_l, into layer l from
 * l+1), `dw lateral = ...;` (Wlat_l, within layer l).  A projection of
 * model M is numbered W1..WL, then Wtop0..Wtop(L-1), then Wlat0..WlatL
 * (sema_projection_*). */
typedef enum { DW_FORWARD, DW_TOPDOWN, DW_LATERAL, DW_KINDS } sema_dw_kind;
extern const char *const sema_dw_kind_names[DW_KINDS];   /* "forward", "topdown", "lateral" */

typedef enum { RED_SUM_PRE, RED_SUM_POST, RED_SUM_SYN, RED_MEAN_BATCH, RED_SUM_BATCH } sema_reduce;

typedef enum {
    ACT_IDENTITY, ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_SOFTPLUS, ACT_SOFTMAX, ACT_KCAP
} sema_act;
extern const char *const sema_act_names[];

/* ---- mlp ---- */
typedef struct sema_mlp {
    const char *name;
    src_span span;
    int n_in, n_out;
    int n_layers;
    int *width;            /* width[l] = outputs of layer l; width[-1] is n_in */
    sema_act *act;         /* activation of layer l (identity for a plain 'dense N') */
    double *act_arg;       /* softplus beta */
    int n_weights;         /* sum over layers of out*in + out (weights, then biases) */
    double out_gain;       /* init output G: the last layer's initial weights times G (default 1) */
    double *weights;       /* weights [..]: the initial values of all n_weights (learned.rule), or NULL */
} sema_mlp;

/* ---- model ---- */
typedef enum { LAYER_DENSE, LAYER_RECURRENT, LAYER_READOUT } sema_layer_kind;
typedef enum { LOSS_CROSS_ENTROPY, LOSS_MSE, LOSS_MSE_INPUT } sema_loss;
typedef enum { FB_SYMMETRIC, FB_RANDOM, FB_DIRECT, FB_NONE } sema_feedback;
typedef enum { INIT_XAVIER, INIT_NORMAL, INIT_UNIFORM, INIT_LECUN } sema_init;

typedef struct sema_layer {
    sema_layer_kind kind;
    int size;
    sema_act act;
    double act_arg;        /* softplus beta, kcap k */
    int steps;             /* recurrent: number of time steps */
    int bias;              /* dense/readout: z = W y + b, b a learner parameter (zero at first) */
    src_span span;
} sema_layer;

typedef struct sema_model {
    const char *name;
    src_span span;
    int n_input;
    sema_layer *layers;    /* projection W_l feeds layer l (1-based in docs, 0-based here) */
    int n_layers;
    sema_loss loss;
    sema_feedback feedback;
    sema_init init;
    double init_arg;
    int topdown, lateral;  /* Gu et al.: top-down projections Wtop_l (into layer l from l+1,
                              l = 0..L-1) and lateral ones Wlat_l (within layer l, l = 0..L) */
    const char *carried;   /* what Wtop_l carries from layer l+1: a neuron value of the rule on
                              W_{l+1} ("delta" by default), or a signal (y, z, e) */
    int carried_signal;    /* its sema_signal, or -1 for a neuron value */
    src_span carried_span; /* the topdown statement */
} sema_model;

/* The plastic projections of M: L forward ones, then L top-down (with
 * topdown;), then L + 1 lateral (with lateral;). */
int sema_projection_count(const sema_model *m);
/* Projection P of M: its kind (DW_*), the layer l of its name (W_l, Wtop_l,
 * Wlat_l), and its postsynaptic and presynaptic layers (0 = the input). */
void sema_projection(const sema_model *m, int p, int *kind, int *layer, int *post, int *pre);
/* "W2", "Wtop0", "Wlat1" into BUF. */
void sema_projection_name(const sema_model *m, int p, char *buf, size_t len);

/* ---- rule ---- */
typedef struct sema_param {
    const char *name;
    src_span span;
    int size;              /* 0 for a scalar */
    double *init;          /* max(size, 1) values */
    int l1, fixed;
    double lo, hi;         /* range(lo, hi): the value is clamped there (default +-inf) */
    int offset;            /* position in the rule's flat meta-parameter vector */
    int invalid;           /* its declaration had an error: uses are not reported again */
} sema_param;

typedef struct sema_neuron {
    ast_stmt *stmt;        /* neuron g = e;  or  neuron (a, b) = net(...); */
    int n_outputs;
    int first_value;       /* index of its first output in the rule's value list */
} sema_neuron;

typedef struct sema_value {  /* one neuron-level value name */
    const char *name;
    int neuron;            /* defining sema_neuron */
    int output;            /* which output of a multi-output mlp call */
    int space;             /* space at the neuron itself (SP_PRE stands for "this neuron");
                              -1 when its definition had an error */
    unsigned signals;      /* signals it reads (bit per sema_signal) */
    sema_read *reads;      /* signals it reads at unrolled steps (y[2]), side SIDE_SELF */
    int n_reads;
} sema_value;

typedef struct sema_let {
    const char *name;
    ast_expr *value;
    src_span span;
} sema_let;

typedef struct sema_rule {
    const char *name;
    src_span span;
    const ast_decl *decl;  /* the rule block, for writing it back */
    sema_param *params;
    int n_params;
    int n_meta;            /* flat meta-parameter count, mlp weights included */
    sema_neuron *neurons;
    int n_neurons;
    sema_value *values;
    int n_values;
    sema_let *lets;
    int n_lets;
    ast_expr *dw_of[DW_KINDS];      /* dw = ...; dw topdown = ...; dw lateral = ...; NULL when absent */
    src_span dw_span_of[DW_KINDS];
    int *mlps;             /* program mlp indices called by the rule, in first-use order */
    int *mlp_offset;       /* where each mlp's weights start in the meta vector */
    int n_mlps;
    unsigned pre_signals, post_signals;   /* signals read at each end */
    src_span signal_use[2][SIG_COUNT];   /* first use, for diagnostics */
    const char *signal_via[2][SIG_COUNT]; /* the neuron value that use reads it through, or NULL */
    sema_read *reads;      /* reads at unrolled steps or neighbours, at either end */
    int n_reads;
} sema_rule;

/* ---- experiment ---- */
typedef enum { DATA_FASHION_MNIST, DATA_IDX, DATA_NPY, DATA_MOONS, DATA_CIRCLES, DATA_BLOBS } sema_data_kind;

typedef struct sema_data {
    sema_data_kind kind;
    const char *path[2];   /* images/labels or x/y, resolved against the rule file */
    int test_split;        /* fashion_mnist test */
    int n;                 /* generated: samples */
    double noise, factor;  /* moons/circles noise, circles factor */
    int centers;           /* blobs */
    double std;
    int project;           /* fixed random projection to this dimension (0: none) */
    int random;            /* moons/gaussians random: every task its own problem (plast_task_family) */
    int standardise;       /* gaussians (not blobs): each feature mean 0, variance 1 over the set */
    src_span span;         /* the data statement */
} sema_data;

typedef struct sema_proj_ref {  /* a projection named in 'rule R on ...' */
    int kind;              /* DW_* */
    int layer;             /* l of W_l, Wtop_l, Wlat_l */
    src_span at;
} sema_proj_ref;

typedef struct sema_assign {   /* rule R on projections */
    int rule;
    int all;               /* rule R; -- every projection of a kind R has a dw for */
    sema_proj_ref *named;  /* rule R on W1, Wtop0, ...; */
    int n_named;
    unsigned long long recurrent;    /* bit l: the recurrent projection Wrec_{l+1} of layer l+1 */
    src_span span;
} sema_assign;

typedef struct sema_scale {
    int param;             /* index in the rule the scale belongs to */
    int rule;
    const struct sema_rule *rule_ptr;
    int is_auto;
    double *values;        /* size of the parameter */
    src_span span;
} sema_scale;

typedef struct sema_experiment {
    const char *name;
    src_span span;
    int model;
    sema_assign *assigns;
    int n_assigns;
    int *rule_of_projection;   /* [sema_projection_count(model)]: a rule, or -1 for a top-down or
                                  lateral projection no rule names (it stays at its initial value) */
    int *rule_of_recurrent;    /* [n_layers]: the rule of Wrec_{l+1}, -1 for a layer that is not recurrent */
    sema_data data;
    int ways, k_train, q_query;
    int batch;             /* inner minibatch (1 = online) */
    int steps;             /* inner steps (0 = one pass over the training stream) */
    int unlabelled;        /* unlabelled samples in each inner batch (0: none; plast_task_spec) */
    /* meta-optimiser */
    double lr, l1, clip;
    int l1_prox;
    int episodes, meta_batch;
    int schedule;          /* 0 constant, 1 step, 2 cosine */
    double sched_gamma;
    int sched_every, warmup;
    int nonfinite_skip;             /* 0 stop, 1 skip, 2 backtrack */
    sema_scale *scales;
    int n_scales;
    unsigned long long seed;
    int single;            /* precision single */
    int diag_alignment, diag_orthonormality;
    int checkpoint_every;
    /* weights from "DIR" on W1, Wrec1, ...; every task's network starts from DIR/NAME.npy for
     * the buffers named (the others drawn as the model's init says) */
    const char *weights_from;      /* DIR, resolved against the experiment's file; NULL: none */
    const char **weights_names;    /* [n_weights_names]: W1, Wrec1, Wtop0, Wlat2, bias1 */
    src_span *weights_at;
    int n_weights_names;
    /* paper 001 (sema_joint.c): rules inside the forward pass, the joint scheme */
    int updates_forward;   /* updates forward: each rule right after its layer's forward pass */
    src_span updates_at;
    int joint;             /* train joint: the learner and the rules trained together, batch by batch */
    src_span joint_at;
    int epochs;            /* passes over the training split */
    long max_batches;      /* stop after this many minibatches (0: all the epochs) */
    double labelled;       /* fraction of the training samples that keep their label */
    int test_every;        /* minibatches between evaluations on the test split (0: once per epoch) */
    double learner_lr;     /* the learner's Adam */
    src_span learner_at;
} sema_experiment;

typedef struct sema_program {
    sema_model **models;   int n_models;
    sema_mlp **mlps;       int n_mlps;
    sema_rule **rules;     int n_rules;
    sema_experiment **experiments; int n_experiments;
    ast_unit **units;      int n_units;
    int main_file;         /* the file given on the command line */
    long long n_param_elements;   /* over all rules, bounded so that a file cannot exhaust memory */
} sema_program;

/* Loads PATH and its imports, parses and checks them.  Always returns a
 * program; check diag_error_count() before using it. */
sema_program *sema_load(const char *path);
/* The same for an in-memory buffer (fuzzing, tests); imports resolve against
 * the current directory. */
sema_program *sema_load_buffer(const char *name, const char *text, size_t len);
void sema_program_free(sema_program *p);

/* Lookups by name, -1 when absent. */
int sema_find_rule(const sema_program *p, const char *name);
int sema_find_model(const sema_program *p, const char *name);
int sema_find_mlp(const sema_program *p, const char *name);
int sema_find_experiment(const sema_program *p, const char *name);

/* Checks that MODEL provides every signal RULE reads (for `plastcc check`
 * with --model, and for experiments); reports at the first use. */
int sema_rule_fits_model(const sema_program *p, const sema_rule *r, const sema_model *m, src_span at);

/* The layers at the two ends of projection W_{l+1} (RECURRENT 0) or
 * Wrec_{l+1} (1) of M: 0 is the input, k the k-th layer (1-based). */
void sema_projection_ends(const sema_model *m, int l, int recurrent, int *pre, int *post);
/* Checks RULE's reads at unrolled steps and neighbours against the ends of
 * that projection of M (named NAME, the rule given at AT). */
int sema_rule_fits_projection(const sema_rule *r, const sema_model *m, int l, int recurrent, const char *name,
                              src_span at);
/* The k-cap RNN's unrolled steps of layer K (0: the input): T + 1 for a
 * recurrent layer of T steps (x_1 .. x_{T+1}), 0 for any other. */
int sema_layer_states(const sema_model *m, int k);

#endif
