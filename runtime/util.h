/* util — small helpers shared inside libplast (not part of plast.h). */
#ifndef PLAST_UTIL_H
#define PLAST_UTIL_H

#include <stddef.h>

/* Writes one formatted message to ERR (when given); always returns -1, so
 * error paths read `return plast_fail(err, errlen, "...", ...);`. */
int plast_fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Seconds on the monotonic clock (for durations). */
double plast_seconds(void);

#endif
