/* vmath — exp and log1p as straight-line arithmetic, for both back ends.
 *
 * libm's exp and log1p are scalar calls.  These are the same functions as
 * plain IEEE double operations, integer bit operations and selects, written
 * once as C (emit_c's prelude: plast_exp, plast_log1p) and once as LLVM IR
 * on vectors of any width (llgen_ops.c: vexp, vlog1p), operation for
 * operation, so that the emitted C and the JIT give the same bits (neither
 * contracts a multiply and an add: the C is compiled as ISO C99, the IR has
 * no fast-math flags) and the JIT runs them on whole vectors.  Single
 * precision runs them in double and rounds the result.
 *
 * exp(x): x clamped to [-745.2, 709.8] (beyond, the result is 0 or inf
 * anyway; NaN passes), k = round(x / ln 2) by the 1.5 * 2^52 shift (k read
 * from the shifted value's low bits: no float-to-int conversion), r = x -
 * k ln2_hi - k ln2_lo (ln2_hi has 32 trailing zero bits: k ln2_hi is exact),
 * e^r by its Taylor polynomial of degree 13 in Horner form (|r| <= 0.347:
 * the first term left out is below 5e-18), times 2^(k/2) and 2^(k - k/2),
 * two normal powers of two, so that a subnormal result is rounded once.
 * Within 1 ulp of glibc (tests/backends/vmath.sh).
 *
 * log1p(x): u = 1 + x, log(u) as fdlibm's __ieee754_log (u = 2^e m with m
 * in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f), its polynomial
 * Lg1..Lg7 in s^2), then Kahan's correction log1p(x) = log(u) x / (u - 1)
 * (x itself where u == 1); -1 gives -inf, below -1 NaN, inf inf, NaN NaN.
 * Within 2 ulp of glibc. */
#ifndef PLASTCC_VMATH_H
#define PLASTCC_VMATH_H

enum { VMATH_EXP_TERMS = 14, VMATH_LOG_TERMS = 7 };

/* 1/13!, 1/12!, ..., 1/1!, 1/0!: Horner's order */
static const double vmath_exp_coef[VMATH_EXP_TERMS] = {
    0x1.6124613a86d09p-33, 0x1.1eed8eff8d898p-29, 0x1.ae64567f544e4p-26, 0x1.27e4fb7789f5cp-22,
    0x1.71de3a556c734p-19, 0x1.a01a01a01a01ap-16, 0x1.a01a01a01a01ap-13, 0x1.6c16c16c16c17p-10,
    0x1.1111111111111p-7,  0x1.5555555555555p-5,  0x1.5555555555555p-3,  0x1p-1,
    0x1p+0,                0x1p+0,
};

/* fdlibm's Lg1..Lg7 */
static const double vmath_log_coef[VMATH_LOG_TERMS] = {
    0x1.5555555555593p-1, 0x1.999999997fa04p-2, 0x1.2492494229359p-2, 0x1.c71c51d8e78afp-3,
    0x1.7466496cb03dep-3, 0x1.39a09d078c69fp-3, 0x1.2f112df3e5244p-3,
};

#define VMATH_LN2_HI 0x1.62e42fee00000p-1
#define VMATH_LN2_LO 0x1.a39ef35793c76p-33
#define VMATH_INV_LN2 0x1.71547652b82fep+0
#define VMATH_SHIFT 0x1.8p+52                       /* 1.5 * 2^52 */
#define VMATH_SHIFT_BITS 0x4338000000000000ULL      /* its bits */
#define VMATH_EXP_LO (-745.2)
#define VMATH_EXP_HI 709.8
#define VMATH_SQRT2_HALF_HI 0x3fe6a09eULL           /* high word of sqrt(2)/2 */

#endif
