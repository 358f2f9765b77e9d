/* util — small helpers shared inside libplast and with the plastcc driver
 * (not part of plast.h). */
#ifndef PLAST_UTIL_H
#define PLAST_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* Writes one formatted message to ERR (when given); always returns -1, so
 * error paths read `return plast_fail(err, errlen, "...", ...);`. */
int plast_fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Seconds on the monotonic clock (for durations). */
double plast_seconds(void);

/* mkdir -p: creates DIR and its missing parents; 0, or -1 with errno set. */
int plast_mkdirs(const char *dir);

/* Opens PATH for reading if it is a regular file: a fifo, a device, a socket
 * or a directory is refused before anything waits on it (opening a fifo for
 * reading blocks until a writer comes).  Returns a file descriptor, or -1
 * with errno set: ENODEV for a special file, EISDIR for a directory (say
 * plast_open_strerror(errno) to the user).  plast_fopen_regular: the same as
 * a FILE opened "rb". */
int plast_open_regular(const char *path);
FILE *plast_fopen_regular(const char *path);
/* strerror(ERR), and "not a regular file" for ENODEV. */
const char *plast_open_strerror(int err);

#endif
