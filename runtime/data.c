/*
 * data.c -- what every source of data sets shares: opening files (regular
 * files only), small helpers, reading a row, freeing.
 *
 * The sources have a file each: data_idx.c (IDX), data_npy_read.c (.npy and
 * data sets from .npy pairs), data_npy_write.c, data_gen.c (moons, circles,
 * blobs, random projection), data_fashion.c (where Fashion-MNIST is installed).
 * Invariants for all of them: every failing call leaves its output zeroed,
 * frees what it allocated and writes one "FILE: problem" line to err; nothing
 * aborts.  Files are decoded byte by byte (big-endian IDX, little-endian
 * .npy), so the host's byte order never matters.
 */
#include "config.h"
#include "data_impl.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ======================================================================== */
/* Opening files                                                            */
/* ======================================================================== */

/* What a file that is not a regular one is, for the message. */
static const char *file_kind(mode_t mode)
{
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "a special file";
}

static int refuse_special(const char *path, mode_t mode, char *err, size_t errlen)
{
    return plast_fail(err, errlen, "%s: %s, not a regular file (data files are read whole, "
                      "not streamed: copy the data to a file)", path, file_kind(mode));
}

/* close(fd), then the message of errno E about PATH: -1. */
static int close_fail(int fd, const char *path, int e, char *err, size_t errlen)
{
    close(fd);
    return plast_fail(err, errlen, "%s: %s", path, strerror(e));
}

/* O_NONBLOCK makes the open of a FIFO return at once (reading) or fail with
 * ENXIO (writing, no reader) instead of waiting for the other end; fstat
 * then tells what was opened.  Regular files ignore O_NONBLOCK; it is
 * cleared before the descriptor is handed out all the same. */
int data_open(const char *path, int flags, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, 0666);

    if (fd < 0) {
        int e = errno;

        if (e == ENXIO && stat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return refuse_special(path, st.st_mode, err, errlen);
        return plast_fail(err, errlen, "%s: %s", path, strerror(e));
    }
    if (fstat(fd, &st) != 0)
        return close_fail(fd, path, errno, err, errlen);
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return refuse_special(path, st.st_mode, err, errlen);
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        return close_fail(fd, path, errno, err, errlen);
    return fd;
}

FILE *data_fopen_read(const char *path, char *err, size_t errlen)
{
    int fd = data_open(path, O_RDONLY, err, errlen);
    FILE *fp;

    if (fd < 0)
        return NULL;
    if (!(fp = fdopen(fd, "rb")))
        close_fail(fd, path, errno, err, errlen);
    return fp;
}

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

int data_mul_overflows(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a)
        return 1;
    *out = a * b;
    return 0;
}

char *data_copy_string(const char *s)
{
    size_t len = strlen(s) + 1;
    char *c = malloc(len);

    if (c)
        memcpy(c, s, len);
    return c;
}

const char *data_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

int data_max_label_plus_one(const int32_t *label, size_t n)
{
    int32_t max = 0;
    size_t i;

    for (i = 0; i < n; i++)
        if (label[i] > max)
            max = label[i];
    return (int)max + 1;
}

/* ======================================================================== */
/* Rows and freeing                                                         */
/* ======================================================================== */

void plast_dataset_row(const plast_dataset *d, size_t i, double *out)
{
    if (d->x_u8) {
        const unsigned char *b = d->x_u8 + i * d->dim;
        for (size_t k = 0; k < d->dim; k++)
            out[k] = b[k] / 255.0;
    } else {
        memcpy(out, d->x + i * d->dim, d->dim * sizeof *out);
    }
}

void plast_dataset_free(plast_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->x_u8);
    free(d->label);
    free(d->name);
    memset(d, 0, sizeof *d);
}

void plast_array_free(plast_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

