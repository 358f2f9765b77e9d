/*
 * test_rng.c -- deterministic random streams (runtime/rng.c).
 *
 * Pins the published xoshiro256** vector and golden outputs of the
 * (seed, episode, purpose) derivation (cross-checked against an independent
 * transcription of the formula in rng.h), then checks determinism, stream
 * separation, and the distribution of uniform, normal, below and shuffle;
 * and the MMIX LCG that the meta-MLPs' initial weights are pinned to.
 */
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"


/* Blackman & Vigna's reference output from the state {1, 2, 3, 4}. */
static void test_reference_vector(void)
{
    static const uint64_t expected[] = {
        UINT64_C(11520), UINT64_C(0), UINT64_C(1509978240),
        UINT64_C(1215971899390074240), UINT64_C(1216172134540287360),
        UINT64_C(607988272756665600), UINT64_C(16172922978634559625),
        UINT64_C(8476171486693032832), UINT64_C(10595114339597558777),
        UINT64_C(2904607092377533576)};
    plast_rng r = {{1, 2, 3, 4}};
    size_t i;

    for (i = 0; i < sizeof expected / sizeof expected[0]; i++)
        CHECK(plast_rng_u64(&r) == expected[i]);
}

/* The derivation is a reproducibility contract: these must never change. */
static void test_golden_streams(void)
{
    plast_rng r = plast_rng_stream(1, 0, PLAST_RNG_TASK);

    CHECK(plast_rng_u64(&r) == UINT64_C(0xb2d5290e6fe21aa7));
    CHECK(plast_rng_u64(&r) == UINT64_C(0x239ffa4a8638a7e6));
    CHECK(plast_rng_u64(&r) == UINT64_C(0x34b9fb571c88607f));
    CHECK(plast_rng_u64(&r) == UINT64_C(0xeac980d4d43bcd44));
    r = plast_rng_stream(UINT64_C(0xdeadbeefcafef00d), 123456789, PLAST_RNG_SHUFFLE);
    CHECK(plast_rng_u64(&r) == UINT64_C(0x6d49739206159968));
    CHECK(plast_rng_u64(&r) == UINT64_C(0x15d6e4dc22ac71d1));
    r = plast_rng_stream(42, 7, PLAST_RNG_TEST);
    CHECK(plast_rng_uniform(&r) == 0.16561887362357763);
    CHECK(fabs(plast_rng_normal(&r) - -0.094740993391537076) < 1e-15);
    CHECK(plast_rng_below(&r, 1000) == 54);
}

/* Same triple -> same stream; a copy forks an identical stream. */
static void test_determinism(void)
{
    plast_rng a = plast_rng_stream(7, 3, PLAST_RNG_INIT_W);
    plast_rng b = plast_rng_stream(7, 3, PLAST_RNG_INIT_W);
    plast_rng c;
    int i, same = 1;

    for (i = 0; i < 1000; i++)
        same &= plast_rng_u64(&a) == plast_rng_u64(&b);
    CHECK(same);
    c = a;
    for (i = 0; i < 100; i++)
        same &= plast_rng_u64(&a) == plast_rng_u64(&c);
    CHECK(same);
}

/* First output of a stream. */
static uint64_t first(uint64_t seed, uint64_t episode, uint32_t purpose)
{
    plast_rng r = plast_rng_stream(seed, episode, purpose);

    return plast_rng_u64(&r);
}

/* Every purpose, and neighbouring seeds and episodes, give different streams. */
static void test_separation(void)
{
    uint64_t seen[8];
    int p, q, all_distinct = 1;

    for (p = PLAST_RNG_TASK; p <= PLAST_RNG_TEST; p++)
        seen[p - 1] = first(5, 9, (uint32_t)p);
    for (p = 0; p < 8; p++)
        for (q = p + 1; q < 8; q++)
            all_distinct &= seen[p] != seen[q];
    CHECK(all_distinct);
    CHECK(first(5, 9, PLAST_RNG_TASK) != first(5, 10, PLAST_RNG_TASK));
    CHECK(first(5, 9, PLAST_RNG_TASK) != first(6, 9, PLAST_RNG_TASK));
    CHECK(first(0, 0, PLAST_RNG_TASK) != first(0, 0, PLAST_RNG_SHUFFLE));
    /* the triple is not symmetric: (seed, episode) != (episode, seed) */
    CHECK(first(1, 2, PLAST_RNG_TASK) != first(2, 1, PLAST_RNG_TASK));
}

/* Uniform: in [0,1), on the 2^-53 grid, mean 1/2, variance 1/12. */
static void test_uniform(void)
{
    plast_rng r = plast_rng_stream(1, 1, PLAST_RNG_TEST);
    const int n = 1000000;
    double sum = 0, sum2 = 0;
    int i, in_range = 1, on_grid = 1;

    for (i = 0; i < n; i++) {
        double u = plast_rng_uniform(&r);

        in_range &= u >= 0.0 && u < 1.0;
        on_grid &= ldexp(u, 53) == floor(ldexp(u, 53));
        sum += u, sum2 += u * u;
    }
    CHECK(in_range);
    CHECK(on_grid);
    CHECK(fabs(sum / n - 0.5) < 0.002);
    CHECK(fabs(sum2 / n - (sum / n) * (sum / n) - 1.0 / 12) < 0.001);
}

/* Normal: mean 0, variance 1, kurtosis 3, finite. */
static void test_normal(void)
{
    plast_rng r = plast_rng_stream(1, 2, PLAST_RNG_TEST);
    const int n = 1000000;
    double m1 = 0, m2 = 0, m4 = 0;
    int i, finite = 1;

    for (i = 0; i < n; i++) {
        double z = plast_rng_normal(&r);

        finite &= isfinite(z);
        m1 += z, m2 += z * z, m4 += z * z * z * z;
    }
    CHECK(finite);
    CHECK(fabs(m1 / n) < 0.006);
    CHECK(fabs(m2 / n - 1) < 0.01);
    CHECK(fabs(m4 / n - 3) < 0.06);
}

/* below(n) < n for small, odd and huge n; 0 for n <= 1. */
static void test_below_bounds(void)
{
    static const uint64_t ns[] = {2, 3, 7, 1000, UINT64_C(0x8000000000000001),
                                  UINT64_C(0xffffffffffffffff)};
    plast_rng r = plast_rng_stream(1, 3, PLAST_RNG_TEST);
    size_t k;
    int i, ok = 1;

    CHECK(plast_rng_below(&r, 0) == 0);
    CHECK(plast_rng_below(&r, 1) == 0);
    for (k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (i = 0; i < 10000; i++)
            ok &= plast_rng_below(&r, ns[k]) < ns[k];
    CHECK(ok);
}

/* below(7) hits every value equally: chi-square, 6 dof, < 30 (p ~ 4e-5). */
static void test_below_uniform(void)
{
    plast_rng r = plast_rng_stream(1, 4, PLAST_RNG_TEST);
    long count[7] = {0};
    const long n = 70000;
    double chi2 = 0;
    long i;
    int v;

    for (i = 0; i < n; i++)
        count[plast_rng_below(&r, 7)]++;
    for (v = 0; v < 7; v++)
        chi2 += (count[v] - n / 7.0) * (count[v] - n / 7.0) / (n / 7.0);
    CHECK(chi2 < 30);
}

/* Rejection matters for n = 3 * 2^62: plain u64 % n would give values below
 * 2^62 half the time instead of a third. */
static void test_below_unbiased_large(void)
{
    const uint64_t n = UINT64_C(0xc000000000000000), quarter = UINT64_C(1) << 62;
    plast_rng r = plast_rng_stream(1, 6, PLAST_RNG_TEST);
    const int draws = 30000;
    int i, low = 0;

    for (i = 0; i < draws; i++)
        low += plast_rng_below(&r, n) < quarter;
    CHECK(fabs((double)low / draws - 1.0 / 3) < 0.015);
}

/* Index of a permutation of 0..3 among the 24 (Lehmer code). */
static int perm_rank4(const int *a)
{
    int rank = 0, i, j;

    for (i = 0; i < 4; i++) {
        int smaller = 0;

        for (j = i + 1; j < 4; j++)
            smaller += a[j] < a[i];
        rank = rank * (4 - i) + smaller;
    }
    return rank;
}

/* Shuffle is a permutation; all 24 orders of 4 equally likely (chi-square,
 * 23 dof, < 60); n = 0 and 1 are no-ops. */
static void test_shuffle(void)
{
    plast_rng r = plast_rng_stream(1, 5, PLAST_RNG_TEST);
    int a[100], seen[100] = {0}, b[4], one = 42;
    long count[24] = {0};
    double chi2 = 0;
    int i, t, is_perm = 1, moved = 0;

    for (i = 0; i < 100; i++)
        a[i] = i;
    plast_rng_shuffle(&r, a, 100);
    for (i = 0; i < 100; i++) {
        is_perm &= a[i] >= 0 && a[i] < 100 && !seen[a[i]];
        seen[a[i] >= 0 && a[i] < 100 ? a[i] : 0] = 1;
        moved += a[i] != i;
    }
    CHECK(is_perm);
    CHECK(moved > 50);
    plast_rng_shuffle(&r, NULL, 0);
    plast_rng_shuffle(&r, &one, 1);
    CHECK(one == 42);
    for (t = 0; t < 24000; t++) {
        for (i = 0; i < 4; i++)
            b[i] = i;
        plast_rng_shuffle(&r, b, 4);
        count[perm_rank4(b)]++;
    }
    for (i = 0; i < 24; i++)
        chi2 += (count[i] - 1000.0) * (count[i] - 1000.0) / 1000.0;
    CHECK(chi2 < 60);
}

/* The LCG from the state the compiler seeds a rule's meta-MLPs with, and from
 * 0 (the first state is the increment): states and values computed apart,
 * with Python's exact integers. */
static void test_lcg(void)
{
    uint64_t s = UINT64_C(0x9e3779b97f4a7c15);

    CHECK(plast_lcg_uniform(&s) == 0.17545975040345752);
    CHECK(s == UINT64_C(0x2ceaee21bf46bc00));
    CHECK(plast_lcg_uniform(&s) == 0.6660226166951394);
    CHECK(plast_lcg_uniform(&s) == 0.7022180730538407);
    CHECK(s == UINT64_C(0xb3c4904a6d278932));
    s = 0;
    CHECK(plast_lcg_uniform(&s) == 704440937934064 * 0x1.0p-53);
    CHECK(s == UINT64_C(1442695040888963407));
}

int main(void)
{
    test_reference_vector();
    test_golden_streams();
    test_determinism();
    test_separation();
    test_uniform();
    test_normal();
    test_below_bounds();
    test_below_uniform();
    test_below_unbiased_large();
    test_shuffle();
    test_lcg();
    if (failures) {
        fprintf(stderr, "test_rng: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_rng: all checks passed\n");
    return 0;
}
