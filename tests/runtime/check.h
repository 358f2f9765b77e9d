/* check.h — the checks of the runtime's unit tests: each failed check prints
 * where and what and counts in `failures`, which main returns. */
#ifndef PLAST_TEST_CHECK_H
#define PLAST_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

/* ERR must contain NEEDLE */
#define CHECK_MSG(err, needle)                                                   \
    do {                                                                         \
        if (!strstr((err), (needle))) {                                          \
            fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__,     \
                    __LINE__, (err), (needle));                                  \
            failures++;                                                          \
        }                                                                        \
    } while (0)

#endif
