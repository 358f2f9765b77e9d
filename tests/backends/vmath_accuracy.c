/* vmath_accuracy — the emitted C's plast_exp and plast_log1p (compiler/vmath.h)
 * against glibc's exp and log1p: 4 million points over exp's whole range
 * and past it, and over log1p's (-1, 2^60] and small negative arguments,
 * within 1 ulp (exp) and 2 ulp (log1p); and the special values (0, -0,
 * subnormals, the overflow and underflow edges, +-inf, NaN, -1, below -1)
 * with their signs.  The JIT's vector code gives the same bits as this C
 * (tests/backends/rules.sh, valid.sh and paths.sh compare every kernel).
 * Built by vmath.sh with the emitted C of a rule file as k.c. */
#include "k.c"
#include <stdio.h>
#include <stdlib.h>

/* |a - b| in units of b's last place; 0 for equal values or two NaNs */
static double ulps(double a, double b)
{
    if (a == b || (a != a && b != b)) return 0;
    if (a != a || b != b || isinf(a) || isinf(b)) return 1e30;
    double u = fabs(nextafter(b, INFINITY) - b);
    return fabs(a - b) / u;
}

int main(void)
{
    double worst_e = 0, worst_l = 0, at_e = 0, at_l = 0;
    unsigned long long s = 12345;
    for (long n = 0; n < 4000000; n++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u01 = (double)(s >> 11) / 9007199254740992.0;
        double x = -760 + 1480 * u01;                  /* exp over its range and past it */
        double d = ulps(plast_exp(x), exp(x));
        if (d > worst_e) worst_e = d, at_e = x;
        double y = n % 2 ? pow(2, -60 + 120 * u01) : -1 + pow(2, -60 * u01);   /* log1p, (-1, 2^60] */
        if (n % 3 == 0) y = -y * 1e-3;
        d = ulps(plast_log1p(y), log1p(y));
        if (d > worst_l) worst_l = d, at_l = y;
    }
    const double sp[] = { 0.0, -0.0, 1e-300, -1e-300, 5e-324, 1.0, -1.0, -0.5, 709.78, 709.79, -745.1, -745.2,
                          -744.5, -708.4, 1e308, INFINITY, -INFINITY, NAN, -2.0, 0x1p-53, -0x1p-54 };
    int bad = 0;
    for (unsigned k = 0; k < sizeof sp / sizeof *sp; k++) {
        double x = sp[k];
        if (ulps(plast_exp(x), exp(x)) > 1 || signbit(plast_exp(x)) != signbit(exp(x))) {
            printf("exp(%a) = %a, libm %a\n", x, plast_exp(x), exp(x));
            bad = 1;
        }
        double a = plast_log1p(x), b = log1p(x);
        if (ulps(a, b) > 2 || (a == a && signbit(a) != signbit(b))) {
            printf("log1p(%a) = %a, libm %a\n", x, a, b);
            bad = 1;
        }
    }
    printf("exp: worst %.2f ulp at %a; log1p: worst %.2f ulp at %a\n", worst_e, at_e, worst_l, at_l);
    return bad || worst_e > 1 || worst_l > 2;
}
