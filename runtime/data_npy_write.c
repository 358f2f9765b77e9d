/*
 * data_npy_write.c -- NumPy .npy files, written atomically ('<f8' or '<i8').
 *
 * The file is written as numpy writes format 1.0 (the data at a multiple of
 * 64 bytes) to "path.tmp", and renamed over path only once complete: a
 * reader never sees half a file.
 */
#include "config.h"
#include "data_impl.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Item encoder: value -> 8 little-endian bytes. */
typedef void (*npy_encoder)(double v, unsigned char *b);

static void put_le64(uint64_t u, unsigned char *b)
{
    int i;

    for (i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
}

static void encode_f8(double v, unsigned char *b)
{
    uint64_t u;

    memcpy(&u, &v, sizeof u);
    put_le64(u, b);
}

static void encode_i8(double v, unsigned char *b)
{
    put_le64((uint64_t)(int64_t)v, b);
}

/* Values an '<i8' file can hold exactly: integers in [-2^63, 2^63). */
static int fits_i64(double v)
{
    return v == floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0;
}

/* Number of values in a, after checking ndim and data. */
static int npy_count(const char *path, const plast_array *a, size_t *count, char *err,
                     size_t errlen)
{
    size_t bytes;
    int i, overflow = 0;

    *count = 1;
    if (a->ndim < 0 || a->ndim > PLAST_NPY_MAXDIM)
        return plast_fail(err, errlen, "%s: cannot write an array of %d dimensions", path, a->ndim);
    for (i = 0; i < a->ndim; i++)
        overflow |= data_mul_overflows(*count, a->shape[i], count);
    if (overflow || data_mul_overflows(*count, 8, &bytes))
        return plast_fail(err, errlen, "%s: array shape overflows the address space", path);
    if (*count && !a->data)
        return plast_fail(err, errlen, "%s: array has no data", path);
    return 0;
}

/* Version 1.0 preamble + dict, space-padded and '\n'-ended so that the data
 * starts at a multiple of 64 bytes, as numpy writes it.  Returns its length. */
static size_t npy_format_header(const plast_array *a, const char *descr, char *buf)
{
    char shape[PLAST_NPY_MAXDIM * 24 + 4];
    size_t len = 0, total;
    int i;

    len += (size_t)sprintf(shape + len, "(");
    for (i = 0; i < a->ndim; i++)
        len += (size_t)sprintf(shape + len, "%s%lu", i ? ", " : "",
                               (unsigned long)a->shape[i]);
    sprintf(shape + len, "%s)", a->ndim == 1 ? "," : "");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    len = 10 + (size_t)sprintf(buf + 10, "{'descr': '%s', 'fortran_order': False, "
                               "'shape': %s, }", descr, shape);
    total = (len + 1 + 63) / 64 * 64;
    memset(buf + len, ' ', total - 1 - len);
    buf[total - 1] = '\n';
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    return total;
}

/* Header then data to fp; 0 on success. */
static int npy_write_stream(FILE *fp, const plast_array *a, size_t count, const char *descr,
                            npy_encoder encode)
{
    char header[512];
    unsigned char buf[DATA_IO_CHUNK];
    size_t len = npy_format_header(a, descr, header), done = 0;

    if (fwrite(header, 1, len, fp) != len)
        return -1;
    while (done < count) {
        size_t n = count - done < DATA_IO_CHUNK / 8 ? count - done : DATA_IO_CHUNK / 8, i;

        for (i = 0; i < n; i++)
            encode(a->data[done + i], buf + 8 * i);
        if (fwrite(buf, 8, n, fp) != n)
            return -1;
        done += n;
    }
    return 0;
}

/* Write to "path.tmp", then rename over path: readers never see half a file. */
static int npy_write_atomic(const char *path, const plast_array *a, size_t count,
                            const char *descr, npy_encoder encode, char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    FILE *fp;
    int fd, rc = -1;

    if (!tmp)
        return plast_fail(err, errlen, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    if ((fd = data_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, err, errlen)) < 0 ||
        !(fp = fdopen(fd, "wb"))) {
        if (fd >= 0) {
            plast_fail(err, errlen, "%s: %s", tmp, strerror(errno));
            close(fd);
        }
        free(tmp);
        return -1;
    }
    errno = 0;
    rc = npy_write_stream(fp, a, count, descr, encode);
    if (fclose(fp) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc) {
        plast_fail(err, errlen, "%s: write failed: %s", path, errno ? strerror(errno) : "I/O error");
        remove(tmp);
    }
    free(tmp);
    return rc;
}

int plast_npy_write(const char *path, const plast_array *a, char *err, size_t errlen)
{
    size_t count;

    if (npy_count(path, a, &count, err, errlen))
        return -1;
    return npy_write_atomic(path, a, count, "<f8", encode_f8, err, errlen);
}

int plast_npy_write_i64(const char *path, const plast_array *a, char *err, size_t errlen)
{
    size_t count, i;

    if (npy_count(path, a, &count, err, errlen))
        return -1;
    for (i = 0; i < count; i++)
        if (!fits_i64(a->data[i]))
            return plast_fail(err, errlen, "%s: value %g at index %zu is not a 64-bit integer",
                        path, a->data[i], i);
    return npy_write_atomic(path, a, count, "<i8", encode_i8, err, errlen);
}

