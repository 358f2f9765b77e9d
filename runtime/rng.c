/*
 * rng.c -- splitmix64-keyed xoshiro256** streams (see rng.h for the contract).
 *
 * Invariant: a stream's output depends only on its (seed, episode, purpose)
 * and on how many numbers were drawn from it; there is no global state.
 */
#include "rng.h"

#include <math.h>

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)

/* splitmix64 finaliser: a bijection on 64-bit words with full avalanche. */
static uint64_t splitmix64_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* k = mix(mix(mix(seed + G) ^ (episode + 2G)) ^ (purpose + 3G));
 * s[i] = mix(k + (i+1) G). */
plast_rng plast_rng_stream(uint64_t seed, uint64_t episode, uint32_t purpose)
{
    plast_rng r;
    uint64_t k = splitmix64_mix(seed + GOLDEN);
    int i;

    k = splitmix64_mix(k ^ (episode + 2 * GOLDEN));
    k = splitmix64_mix(k ^ ((uint64_t)purpose + 3 * GOLDEN));
    for (i = 0; i < 4; i++)
        r.s[i] = splitmix64_mix(k + (uint64_t)(i + 1) * GOLDEN);
    /* Four outputs of a bijection on distinct inputs: at most one is zero. */
    return r;
}

/* xoshiro256**: result = rotl(s1 * 5, 7) * 9, then the linear state update. */
uint64_t plast_rng_u64(plast_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* u = (u64 >> 11) * 2^-53, in [0, 1). */
double plast_rng_uniform(plast_rng *r)
{
    return (double)(plast_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* z = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0,1] so the log is finite. */
double plast_rng_normal(plast_rng *r)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = (double)((plast_rng_u64(r) >> 11) + 1) * 0x1.0p-53;
    double u2 = plast_rng_uniform(r);

    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

/* Rejection: accept x >= 2^64 mod n, then x mod n is exactly uniform. */
uint64_t plast_rng_below(plast_rng *r, uint64_t n)
{
    uint64_t threshold, x;

    if (n == 0)
        return 0;
    threshold = (0 - n) % n; /* = 2^64 mod n */
    do
        x = plast_rng_u64(r);
    while (x < threshold);
    return x % n;
}

/* Fisher-Yates, from the top: a[i] <-> a[below(i+1)] for i = n-1 .. 1. */
void plast_rng_shuffle(plast_rng *r, int *a, size_t n)
{
    size_t i;

    for (i = n; i > 1; i--) {
        size_t j = (size_t)plast_rng_below(r, i);
        int t = a[i - 1];

        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* u = (s >> 11) 2^-53 after s <- a s + c: the top 53 bits, the LCG's best. */
double plast_lcg_uniform(uint64_t *state)
{
    *state = *state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (double)(*state >> 11) * 0x1.0p-53;
}
