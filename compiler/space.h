/* space — index spaces and sizes: the vocabulary the front end, the DAG and
 * the back ends share.
 *
 * An index space is a bit set: SP_PRE (varies with the presynaptic neuron
 * j), SP_POST (with the postsynaptic neuron i), SP_SAMPLE (with the sample of
 * a minibatch).  Scalar = 0, per-synapse = SP_PRE|SP_POST.  A reduction
 * clears the bit of the index it sums over.  An array over a space is laid
 * out [sample][post][pre] over its bits (the kernel ABI, plast.h, numbers
 * the bits the same way).
 *
 * The sizes are what a kernel is called with, in the order of plast_kargs.
 */
#ifndef PLAST_SPACE_H
#define PLAST_SPACE_H

enum { SP_SCALAR = 0, SP_PRE = 1, SP_POST = 2, SP_SYN = 3, SP_SAMPLE = 4 };

typedef enum { SIZE_N_PRE, SIZE_N_POST, SIZE_BATCH, SIZE_STEPS, SIZE_COUNT } space_size;

/* "per-synapse per sample", ...; "invalid" outside 0..7. */
static inline const char *space_name(int space)
{
    static const char *const names[8] = {
        "scalar", "per-presynaptic-neuron", "per-postsynaptic-neuron", "per-synapse",
        "scalar per sample", "per-presynaptic-neuron per sample",
        "per-postsynaptic-neuron per sample", "per-synapse per sample" };
    return space >= 0 && space < 8 ? names[space] : "invalid";
}

/* "n_pre", "n_post", "batch", "steps": as a rule writes a size, and as the
 * emitted C names it. */
static inline const char *space_size_name(int which)
{
    static const char *const names[SIZE_COUNT] = { "n_pre", "n_post", "batch", "steps" };
    return which >= 0 && which < SIZE_COUNT ? names[which] : "?";
}

#endif
