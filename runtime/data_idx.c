/*
 * data_idx.c -- IDX files (MNIST, Fashion-MNIST, EMNIST), gzipped or raw.
 *
 * Layout: magic = 0x00 0x00 type ndim (type 0x08: unsigned byte), then ndim
 * big-endian uint32 sizes, then prod(sizes) bytes.  zlib's gzread reads
 * gzipped and raw files alike; we look at the first bytes ourselves only to
 * say which one a bad file was.  Images stay bytes (x_u8): no second copy of
 * the file is held.
 */
#include "config.h"
#include "data_impl.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u

typedef struct idx_file {
    const char *path;
    const char *kind;  /* "image" or "label", for messages */
    uint32_t magic;    /* the magic this file must have */
    gzFile gz;
    int gzipped;       /* starts with 1f 8b */
    int ndim;
    uint32_t dims[3];
} idx_file;

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           (uint32_t)b[3];
}

/* The first bytes, read through FD without moving it: empty, unreadable or
 * too short for any IDX header are reported here, and gzip is told from raw. */
static int idx_sniff(idx_file *f, int fd, char *err, size_t errlen)
{
    unsigned char first[4];
    ssize_t got = pread(fd, first, sizeof first, 0);

    if (got < 0)
        return plast_fail(err, errlen, "%s: %s", f->path, strerror(errno));
    if (got == 0)
        return plast_fail(err, errlen, "%s: empty file: not a gzip or IDX file", f->path);
    f->gzipped = got >= 2 && first[0] == 0x1f && first[1] == 0x8b;
    if (!f->gzipped && got < 4)
        return plast_fail(err, errlen, "%s: only %zd bytes: not a gzip or IDX file",
                    f->path, got);
    return 0;
}

/* A gzread failure: corrupt gzip data, or an I/O error. */
static int idx_gz_error(const idx_file *f, char *err, size_t errlen)
{
    int errnum = Z_OK;
    const char *msg = gzerror(f->gz, &errnum);

    size_t plen = strlen(f->path);

    if (errnum == Z_ERRNO)
        msg = strerror(errno);
    else if (!strncmp(msg, f->path, plen) && !strncmp(msg + plen, ": ", 2))
        msg += plen + 2; /* zlib prefixes the path; we do that ourselves */
    return plast_fail(err, errlen, "%s: %s%s", f->path,
                f->gzipped ? "corrupt gzip data: " : "", msg);
}

/* Why a read came up short: say so when the gzip stream itself was cut. */
static const char *idx_short_note(const idx_file *f)
{
    int errnum = Z_OK;

    gzerror(f->gz, &errnum);
    return errnum == Z_BUF_ERROR ? " (the gzip stream ends early)" : "";
}

/* Read up to len bytes into buf; *got says how many.  A short count at end of
 * file is for the caller to judge; -1 only for corrupt data or I/O errors. */
static int idx_read(idx_file *f, void *buf, size_t len, size_t *got, char *err,
                    size_t errlen)
{
    unsigned char *p = buf;

    *got = 0;
    while (*got < len) {
        size_t want = len - *got < DATA_IO_CHUNK ? len - *got : DATA_IO_CHUNK;
        int r = gzread(f->gz, p + *got, (unsigned)want);

        if (r < 0)
            return idx_gz_error(f, err, errlen);
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* "bad magic 0x.. (expected 0x.. for an IDX image file)" plus the likely cause. */
static int idx_bad_magic(const idx_file *f, uint32_t magic, char *err, size_t errlen)
{
    char why[96];
    int type = (int)(magic >> 8 & 0xff), ndim = (int)(magic & 0xff);

    if (magic >> 16)
        snprintf(why, sizeof why, "%s", f->gzipped ? "the gzip data is not an IDX file"
                                                   : "not a gzip or IDX file");
    else if (magic == IDX_MAGIC_IMAGES || magic == IDX_MAGIC_LABELS)
        snprintf(why, sizeof why, "this is an IDX %s file",
                 magic == IDX_MAGIC_IMAGES ? "image" : "label");
    else if (type != 0x08)
        snprintf(why, sizeof why, "data type 0x%02x is not unsigned byte (0x08)", type);
    else
        snprintf(why, sizeof why, "%d dimensions, expected %d", ndim,
                 (int)(f->magic & 0xff));
    return plast_fail(err, errlen, "%s: bad magic 0x%08lx (expected 0x%08lx for an IDX %s file): %s",
                f->path, (unsigned long)magic, (unsigned long)f->magic, f->kind, why);
}

/* magic, then ndim nonzero big-endian sizes. */
static int idx_read_header(idx_file *f, char *err, size_t errlen)
{
    unsigned char b[4 * 3];
    size_t got, want;
    uint32_t magic;
    int i;

    if (idx_read(f, b, 4, &got, err, errlen))
        return -1;
    if (got < 4)
        return plast_fail(err, errlen, "%s: truncated header: expected 4 bytes of magic, found %zu%s",
                    f->path, got, idx_short_note(f));
    magic = be32(b);
    if (magic != f->magic)
        return idx_bad_magic(f, magic, err, errlen);
    f->ndim = (int)(magic & 0xff);
    want = 4 * (size_t)f->ndim;
    if (idx_read(f, b, want, &got, err, errlen))
        return -1;
    if (got < want)
        return plast_fail(err, errlen, "%s: truncated header: expected %zu bytes of sizes, found %zu%s",
                    f->path, want, got, idx_short_note(f));
    for (i = 0; i < f->ndim; i++) {
        f->dims[i] = be32(b + 4 * i);
        if (f->dims[i] == 0)
            return plast_fail(err, errlen, "%s: size %d of %d in the header is 0", f->path,
                        i + 1, f->ndim);
    }
    return 0;
}

static void idx_close(idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* Open (a regular file only), sniff, hand the descriptor to zlib and read the
 * header; closed again on failure. */
static int idx_open(idx_file *f, char *err, size_t errlen)
{
    int fd = data_open(f->path, O_RDONLY, err, errlen);

    if (fd < 0)
        return -1;
    if (idx_sniff(f, fd, err, errlen)) {
        close(fd);
        return -1;
    }
    errno = 0;
    if (!(f->gz = gzdopen(fd, "rb"))) {
        close(fd);
        return plast_fail(err, errlen, "%s: %s", f->path,
                    errno ? strerror(errno) : "out of memory");
    }
    gzbuffer(f->gz, 1u << 17);
    if (idx_read_header(f, err, errlen)) {
        idx_close(f);
        return -1;
    }
    return 0;
}

/* Bytes of data the header declares, prod(dims), checked against overflow
 * (of size_t, and of the n*dim doubles the caller will hold). */
static int idx_data_size(const idx_file *f, size_t *bytes, char *err, size_t errlen)
{
    char text[64] = "";
    size_t total = 1, len = 0, as_doubles;
    int i, overflow = 0;

    for (i = 0; i < f->ndim; i++) {
        overflow |= data_mul_overflows(total, f->dims[i], &total);
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%lu", i ? " x " : "",
                                (unsigned long)f->dims[i]);
    }
    if (overflow || data_mul_overflows(total, sizeof(double), &as_doubles))
        return plast_fail(err, errlen, "%s: header sizes %s overflow the address space",
                    f->path, text);
    *bytes = total;
    return 0;
}

/* After the declared data the file must end. */
static int idx_expect_end(idx_file *f, size_t declared, char *err, size_t errlen)
{
    unsigned char buf[4096];
    size_t extra = 0;
    int r;

    while ((r = gzread(f->gz, buf, sizeof buf)) > 0)
        extra += (size_t)r;
    if (r < 0)
        return idx_gz_error(f, err, errlen);
    if (extra)
        return plast_fail(err, errlen,
                    "%s: trailing garbage: %zu bytes after the %zu bytes of data the header declares",
                    f->path, extra, declared);
    return 0;
}

/* Exactly count data bytes, each handed to store(dst, i, byte), then EOF. */
static int idx_read_data(idx_file *f, size_t count, void *dst,
                         void (*store)(void *, size_t, unsigned char),
                         char *err, size_t errlen)
{
    unsigned char buf[DATA_IO_CHUNK];
    size_t done = 0;

    while (done < count) {
        size_t want = count - done < DATA_IO_CHUNK ? count - done : DATA_IO_CHUNK, got, i;

        if (idx_read(f, buf, want, &got, err, errlen))
            return -1;
        for (i = 0; i < got; i++)
            store(dst, done + i, buf[i]);
        done += got;
        if (got < want)
            return plast_fail(err, errlen, "%s: truncated: expected %zu bytes of data, found %zu%s",
                        f->path, count, done, idx_short_note(f));
    }
    return idx_expect_end(f, count, err, errlen);
}

/* x_u8[i] = byte (its value is byte / 255: plast_dataset_row) */
static void store_pixel(void *dst, size_t i, unsigned char byte)
{
    ((unsigned char *)dst)[i] = byte;
}

static void store_label(void *dst, size_t i, unsigned char byte)
{
    ((int32_t *)dst)[i] = byte;
}

/* Image file -> d->x_u8, d->n, d->dim (rows*cols). */
static int idx_load_images(const char *path, plast_dataset *d, char *err, size_t errlen)
{
    idx_file f = {0};
    size_t count = 0;
    int rc = -1;

    f.path = path, f.kind = "image", f.magic = IDX_MAGIC_IMAGES;
    if (idx_open(&f, err, errlen))
        return -1;
    if (idx_data_size(&f, &count, err, errlen) == 0) {
        if (!(d->x_u8 = malloc(count ? count : 1)))
            plast_fail(err, errlen, "%s: out of memory for %zu pixels", path, count);
        else
            rc = idx_read_data(&f, count, d->x_u8, store_pixel, err, errlen);
    }
    idx_close(&f);
    d->n = f.dims[0];
    d->dim = (size_t)f.dims[1] * f.dims[2];
    return rc;
}

/* Label file -> d->label, *count. */
static int idx_load_labels(const char *path, plast_dataset *d, size_t *count,
                           char *err, size_t errlen)
{
    idx_file f = {0};
    int rc = -1;

    f.path = path, f.kind = "label", f.magic = IDX_MAGIC_LABELS;
    if (idx_open(&f, err, errlen))
        return -1;
    *count = f.dims[0];
    if (!(d->label = malloc(*count * sizeof *d->label)))
        plast_fail(err, errlen, "%s: out of memory for %zu labels", path, *count);
    else
        rc = idx_read_data(&f, *count, d->label, store_label, err, errlen);
    idx_close(&f);
    return rc;
}

int plast_load_idx(const char *images, const char *labels, plast_dataset *out,
                   char *err, size_t errlen)
{
    plast_dataset d = {0};
    size_t n_labels = 0;

    memset(out, 0, sizeof *out);
    if (idx_load_images(images, &d, err, errlen) ||
        idx_load_labels(labels, &d, &n_labels, err, errlen))
        goto fail;
    if (n_labels != d.n) {
        plast_fail(err, errlen, "%s: %zu labels, but %s holds %zu images", labels, n_labels,
             images, d.n);
        goto fail;
    }
    d.n_classes = data_max_label_plus_one(d.label, d.n);
    if (!(d.name = data_copy_string(data_base_name(images)))) {
        plast_fail(err, errlen, "%s: out of memory", images);
        goto fail;
    }
    *out = d;
    return 0;
fail:
    plast_dataset_free(&d);
    return -1;
}

