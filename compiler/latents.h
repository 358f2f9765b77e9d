/* latents — plastcc latents: a trained network's representation of its data
 * and how good it is (cmd_latents.c: the command and the forward pass;
 * latents_measure.c: the probe, the EMD and the outputs of one run;
 * latents_combine.c: several runs side by side). */
#ifndef PLAST_LATENTS_H
#define PLAST_LATENTS_H

#include "plast.h"

enum { LATENTS_MAX_LABELS = 64 };

typedef struct latents_args {
    const char *file, *exp, *state, *out, *signal, *title;
    const char *rules;              /* a learned.rule's meta-parameters, or NULL */
    int train, curve_every;         /* inner steps of training before the measures (0: none) */
    int samples, repeats, points, use_c, force;
    long long seed;                 /* -1: the experiment's */
    int labels[LATENTS_MAX_LABELS], n_labels;
} latents_args;

/* One run's representation: LAT [n][dim] of the samples (labels LABEL,
 * N_CLASSES classes), their 2-D original ORIG2D [n][2] (NULL: none), the
 * network's input INPUT [n][input_dim], its mean loss on them, and the name
 * of the signal. */
typedef struct latents_rep {
    const double *lat;
    const int32_t *label;
    size_t n, dim;
    int n_classes;
    const double *orig2d, *input;
    size_t input_dim;
    double loss;
    const char *signal;
} latents_rep;

/* The learning curve of --train: the loss on the measured samples every
 * A->curve_every inner steps (N points), written to A->out as curve.csv and
 * loss.svg.  0, or -1 after a message. */
int latents_curve(const latents_args *a, const double *loss, int n, int batch);

/* The probe curve and the EMDs of R, written to A->out (see the usage of
 * plastcc latents).  0, or -1 with ERR. */
int latents_measure(const latents_args *a, const latents_rep *r, uint64_t seed, char *err, size_t errlen);

/* plastcc latents --combine OUT --group LABEL DIR... : the exit status. */
int latents_combine(int argc, char **argv, const char *usage);

#endif
