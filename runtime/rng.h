/*
 * rng.h -- deterministic random streams for libplast.
 *
 * Every random number the runtime draws comes from a stream named by the triple
 * (seed, episode, purpose), never from a shared generator, so a result does not
 * depend on the thread count, the MPI rank count or the order in which other
 * code draws.  The derivation is part of the reproducibility contract:
 *
 *   mix(z)  = splitmix64 finaliser (z ^= z>>30; z *= 0xbf58476d1ce4e5b9;
 *             z ^= z>>27; z *= 0x94d049bb133111eb; z ^= z>>31)
 *   G       = 0x9e3779b97f4a7c15 (splitmix64's increment)
 *   k       = mix(mix(mix(seed + G) ^ (episode + 2G)) ^ (purpose + 3G))
 *   s[i]    = mix(k + (i+1) G), i = 0..3   (splitmix64 seeded with k)
 *
 * and the stream is xoshiro256** (Blackman & Vigna) from state s.  For a fixed
 * (seed, episode) the map purpose -> k is a bijection, so two purposes never
 * share a stream; likewise episode -> k for a fixed seed and purpose.
 *
 * A plast_rng is a small value: copy it to fork, keep one per thread.
 */
#ifndef PLAST_RNG_H
#define PLAST_RNG_H

#include <stddef.h>
#include <stdint.h>

/* What a stream is for.  The numbers enter the hash: never renumber them. */
enum plast_rng_purpose {
    PLAST_RNG_TASK = 1,       /* which classes and samples an episode's task holds */
    PLAST_RNG_INIT_W = 2,     /* initial forward weights */
    PLAST_RNG_INIT_B = 3,     /* initial feedback weights */
    PLAST_RNG_SHUFFLE = 4,    /* order of the training stream */
    PLAST_RNG_DATA_GEN = 5,   /* generated data sets (moons, circles, blobs) */
    PLAST_RNG_PROJECTION = 6, /* fixed random projection of a data set */
    PLAST_RNG_PROBE = 7,      /* probe tasks (e.g. per-term scale measurement) */
    PLAST_RNG_TEST = 8,       /* unit tests */
    PLAST_RNG_LABELS = 9,     /* which training samples keep their label (joint training) */
    PLAST_RNG_TASK_NORM = 10, /* the reference sample that standardises a generated task */
    PLAST_RNG_UNLABELLED = 11, /* the unlabelled samples of a semi-supervised task */
    PLAST_RNG_METRICS = 12    /* the representation metrics' draws (the probe's labelled samples) */
};

typedef struct plast_rng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} plast_rng;

/* The stream for (seed, episode, purpose), as derived above. */
plast_rng plast_rng_stream(uint64_t seed, uint64_t episode, uint32_t purpose);

/* Next 64 random bits (xoshiro256**). */
uint64_t plast_rng_u64(plast_rng *r);

/* Uniform in [0,1) on the grid k * 2^-53: (u64 >> 11) * 2^-53. */
double plast_rng_uniform(plast_rng *r);

/* Standard normal by Box-Muller, cosine branch only: consumes exactly two u64
 * per call (u1 = ((u64>>11)+1) 2^-53 in (0,1], u2 = uniform) and returns
 * sqrt(-2 ln u1) cos(2 pi u2).  Bit-exact across machines sharing a libm. */
double plast_rng_normal(plast_rng *r);

/* Uniform integer in [0, n), unbiased by rejection (draws below 2^64 mod n are
 * redrawn; at most one redraw expected for any n).  n == 0 returns 0. */
uint64_t plast_rng_below(plast_rng *r, uint64_t n);

/* Fisher-Yates: for i = n-1 down to 1, swap a[i] with a[below(i+1)]. */
void plast_rng_shuffle(plast_rng *r, int *a, size_t n);

/* The 64-bit linear congruential generator of Knuth's MMIX, one draw:
 *   s <- 6364136223846793005 s + 1442695040888963407 (mod 2^64),
 *   u  = (s >> 11) * 2^-53, in [0, 1).
 * Not a stream of the contract above: one sequential state, for values that
 * are pinned to it -- the initial weights of a rule's meta-MLPs (compiler
 * bind.c) and the test points of gradcheck and the back-end tests. */
double plast_lcg_uniform(uint64_t *state);

#endif /* PLAST_RNG_H */
