/*
 * data.c -- data sets: IDX and .npy loading, .npy writing, generated sets,
 * random projection, and where Fashion-MNIST lives.
 *
 * Invariants: every failing call leaves its output zeroed, frees what it
 * allocated and writes one "FILE: problem" line to err; nothing here aborts.
 * Files are decoded byte by byte (big-endian IDX, little-endian .npy), so the
 * host's byte order never matters.  Large files are read in chunks straight
 * into the double arrays: no second copy of the file is held.
 */
#include "data.h"
#include "util.h"
#include "rng.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IO_CHUNK 65536 /* bytes per read; a multiple of every item size */

/* ======================================================================== */
/* Errors and small helpers                                                 */
/* ======================================================================== */


/* *out = a * b; returns 1 (and leaves *out alone) if that overflows size_t. */
static int mul_overflows(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a)
        return 1;
    *out = a * b;
    return 0;
}

/* malloc'd copy of s, or NULL. */
static char *copy_string(const char *s)
{
    size_t len = strlen(s) + 1;
    char *c = malloc(len);

    if (c)
        memcpy(c, s, len);
    return c;
}

/* The part of path after its last '/'. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* Does path name a file we can open for reading? */
static int file_readable(const char *path)
{
    FILE *fp = fopen(path, "rb");

    if (!fp)
        return 0;
    fclose(fp);
    return 1;
}

/* ======================================================================== */
/* IDX files                                                                */
/* ======================================================================== */
/* Layout: magic = 0x00 0x00 type ndim (type 0x08: unsigned byte), then ndim
 * big-endian uint32 sizes, then prod(sizes) bytes.  zlib's gzread reads
 * gzipped and raw files alike; we look at the first bytes ourselves only to
 * say which one a bad file was. */

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

/* Open the file once with stdio: missing, unreadable, empty or too short for
 * any IDX header are reported here, and gzip is told from raw. */
static int idx_sniff(idx_file *f, char *err, size_t errlen)
{
    unsigned char first[4];
    FILE *fp = fopen(f->path, "rb");
    size_t got;
    int read_errno;

    if (!fp)
        return plast_fail(err, errlen, "%s: %s", f->path, strerror(errno));
    errno = 0;
    got = fread(first, 1, sizeof first, fp);
    read_errno = ferror(fp) ? errno : 0;
    fclose(fp);
    if (read_errno)
        return plast_fail(err, errlen, "%s: %s", f->path, strerror(read_errno));
    if (got == 0)
        return plast_fail(err, errlen, "%s: empty file: not a gzip or IDX file", f->path);
    f->gzipped = got >= 2 && first[0] == 0x1f && first[1] == 0x8b;
    if (!f->gzipped && got < 4)
        return plast_fail(err, errlen, "%s: only %zu bytes: not a gzip or IDX file",
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
        size_t want = len - *got < IO_CHUNK ? len - *got : IO_CHUNK;
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

/* Sniff, open through zlib and read the header; closed again on failure. */
static int idx_open(idx_file *f, char *err, size_t errlen)
{
    if (idx_sniff(f, err, errlen))
        return -1;
    errno = 0;
    f->gz = gzopen(f->path, "rb");
    if (!f->gz)
        return plast_fail(err, errlen, "%s: %s", f->path,
                    errno ? strerror(errno) : "out of memory");
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
        overflow |= mul_overflows(total, f->dims[i], &total);
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%lu", i ? " x " : "",
                                (unsigned long)f->dims[i]);
    }
    if (overflow || mul_overflows(total, sizeof(double), &as_doubles))
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
    unsigned char buf[IO_CHUNK];
    size_t done = 0;

    while (done < count) {
        size_t want = count - done < IO_CHUNK ? count - done : IO_CHUNK, got, i;

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

/* n_classes = max label + 1 */
static int max_label_plus_one(const int32_t *label, size_t n)
{
    int32_t max = 0;
    size_t i;

    for (i = 0; i < n; i++)
        if (label[i] > max)
            max = label[i];
    return (int)max + 1;
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
    d.n_classes = max_label_plus_one(d.label, d.n);
    if (!(d.name = copy_string(base_name(images)))) {
        plast_fail(err, errlen, "%s: out of memory", images);
        goto fail;
    }
    *out = d;
    return 0;
fail:
    plast_dataset_free(&d);
    return -1;
}

/* ======================================================================== */
/* .npy reading                                                             */
/* ======================================================================== */
/* Layout: "\x93NUMPY", major, minor, header length (u16 LE for 1.x, u32 LE for
 * 2.x and 3.x), an ASCII (3.x: UTF-8) Python dict literal
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 * then prod(shape) items in C order. */

#define NPY_MAX_HEADER (1u << 20) /* far above anything numpy writes */

typedef struct npy_type {
    const char *descr;
    size_t size;
    char kind; /* 'f' float, 'u' unsigned int, 'i' signed int */
} npy_type;

static const npy_type npy_types[] = {
    {"<f8", 8, 'f'}, {"<f4", 4, 'f'}, {"|u1", 1, 'u'}, {"<u1", 1, 'u'},
    {"|i1", 1, 'i'}, {"<i1", 1, 'i'}, {"<i8", 8, 'i'}, {"<i4", 4, 'i'},
};

typedef struct npy_header {
    char descr[32];
    int fortran_order;
    int ndim;
    size_t shape[PLAST_NPY_MAXDIM];
} npy_header;

/* Cursor over the header text; errors name the file and quote the header. */
typedef struct npy_parser {
    const char *p, *end, *text;
    const char *path;
    char *err;
    size_t errlen;
} npy_parser;

static int npy_malformed(const npy_parser *ps, const char *what)
{
    int shown = (int)(ps->end - ps->text);

    while (shown > 0 && (ps->text[shown - 1] == '\n' || ps->text[shown - 1] == ' '))
        shown--;
    return plast_fail(ps->err, ps->errlen, "%s: malformed .npy header: %s at offset %d in \"%.*s\"",
                ps->path, what, (int)(ps->p - ps->text), shown > 120 ? 120 : shown,
                ps->text);
}

static void npy_skip_space(npy_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
                               *ps->p == '\r'))
        ps->p++;
}

/* Skip space, then consume c if it is next. */
static int npy_accept(npy_parser *ps, char c)
{
    npy_skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

/* string -> '...' | "..." (no escapes: numpy's keys and descrs have none) */
static int npy_string(npy_parser *ps, char *buf, size_t cap)
{
    char quote;
    size_t len = 0;

    npy_skip_space(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return npy_malformed(ps, "expected a quoted string");
    quote = *ps->p++;
    while (ps->p < ps->end && *ps->p != quote && *ps->p != '\\') {
        if (len + 1 < cap)
            buf[len++] = *ps->p;
        ps->p++;
    }
    if (ps->p >= ps->end || *ps->p != quote)
        return npy_malformed(ps, "unterminated string");
    ps->p++;
    buf[len] = '\0';
    return 0;
}

/* bool -> True | False */
static int npy_bool(npy_parser *ps, int *value)
{
    npy_skip_space(ps);
    if (ps->end - ps->p >= 4 && memcmp(ps->p, "True", 4) == 0) {
        ps->p += 4, *value = 1;
        return 0;
    }
    if (ps->end - ps->p >= 5 && memcmp(ps->p, "False", 5) == 0) {
        ps->p += 5, *value = 0;
        return 0;
    }
    return npy_malformed(ps, "expected True or False");
}

/* integer -> digit+ (L suffix of old Python 2 writers allowed) */
static int npy_size(npy_parser *ps, size_t *value)
{
    size_t v = 0;

    npy_skip_space(ps);
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return npy_malformed(ps, "expected a dimension size");
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        if (mul_overflows(v, 10, &v) || v > (size_t)-1 - (size_t)(*ps->p - '0'))
            return npy_malformed(ps, "dimension size overflows");
        v += (size_t)(*ps->p++ - '0');
    }
    if (ps->p < ps->end && *ps->p == 'L')
        ps->p++;
    *value = v;
    return 0;
}

/* shape -> '(' [ size { ',' size } [','] ] ')' */
static int npy_shape(npy_parser *ps, npy_header *h)
{
    if (!npy_accept(ps, '('))
        return npy_malformed(ps, "expected '(' to open the shape");
    h->ndim = 0;
    while (!npy_accept(ps, ')')) {
        if (h->ndim == PLAST_NPY_MAXDIM)
            return npy_malformed(ps, "more than 8 dimensions");
        if (npy_size(ps, &h->shape[h->ndim++]))
            return -1;
        if (!npy_accept(ps, ',') && !(npy_skip_space(ps), ps->p < ps->end && *ps->p == ')'))
            return npy_malformed(ps, "expected ',' or ')' in the shape");
    }
    return 0;
}

/* entry -> 'descr' ':' string | 'fortran_order' ':' bool | 'shape' ':' shape */
static int npy_entry(npy_parser *ps, npy_header *h, unsigned *seen)
{
    char key[32];
    unsigned bit;

    if (npy_string(ps, key, sizeof key))
        return -1;
    bit = !strcmp(key, "descr") ? 1u : !strcmp(key, "fortran_order") ? 2u
        : !strcmp(key, "shape") ? 4u : 0u;
    if (bit == 0 || (*seen & bit))
        return npy_malformed(ps, bit ? "repeated key" : "unexpected key");
    *seen |= bit;
    if (!npy_accept(ps, ':'))
        return npy_malformed(ps, "expected ':' after a key");
    if (bit == 1) {
        npy_skip_space(ps);
        if (ps->p < ps->end && *ps->p == '[')
            return plast_fail(ps->err, ps->errlen,
                        "%s: structured dtypes are not supported (need a plain numeric array)",
                        ps->path);
        return npy_string(ps, h->descr, sizeof h->descr);
    }
    return bit == 2 ? npy_bool(ps, &h->fortran_order) : npy_shape(ps, h);
}

/* dict -> '{' entry { ',' entry } [','] '}', with exactly the three keys. */
static int npy_parse_header(npy_parser *ps, npy_header *h)
{
    unsigned seen = 0;

    if (!npy_accept(ps, '{'))
        return npy_malformed(ps, "expected '{'");
    while (!npy_accept(ps, '}')) {
        if (npy_entry(ps, h, &seen))
            return -1;
        if (!npy_accept(ps, ',') && !(npy_skip_space(ps), ps->p < ps->end && *ps->p == '}'))
            return npy_malformed(ps, "expected ',' or '}'");
    }
    if (seen != 7)
        return npy_malformed(ps, !(seen & 1) ? "no 'descr' key"
                                 : !(seen & 2) ? "no 'fortran_order' key" : "no 'shape' key");
    npy_skip_space(ps);
    if (ps->p != ps->end)
        return npy_malformed(ps, "text after the closing '}'");
    return 0;
}

/* descr -> one of npy_types, or a message saying why not. */
static const npy_type *npy_lookup_type(const char *path, const char *descr, char *err,
                                       size_t errlen)
{
    size_t i;

    for (i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (!strcmp(descr, npy_types[i].descr))
            return &npy_types[i];
    if (descr[0] == '>')
        plast_fail(err, errlen, "%s: big-endian dtype '%s' is not supported (save it as '<%s')",
             path, descr, descr + 1);
    else if (strchr(descr, 'O'))
        plast_fail(err, errlen, "%s: object dtype '%s' is not supported", path, descr);
    else
        plast_fail(err, errlen, "%s: unsupported dtype '%s' (expected <f8, <f4, |u1, <i8 or <i4)",
             path, descr);
    return NULL;
}

/* "\x93NUMPY" major minor hlen; returns the header text (malloc'd) in *text. */
static int npy_read_preamble(FILE *fp, const char *path, char **text, size_t *len,
                             char *err, size_t errlen)
{
    unsigned char pre[12];
    size_t lenbytes;

    if (fread(pre, 1, 10, fp) < 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return plast_fail(err, errlen, "%s: not a .npy file (no \\x93NUMPY magic)", path);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return plast_fail(err, errlen,
                    "%s: unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)",
                    path, pre[6], pre[7]);
    lenbytes = pre[6] == 1 ? 2 : 4;
    if (lenbytes == 4 && fread(pre + 10, 1, 2, fp) < 2)
        return plast_fail(err, errlen, "%s: truncated .npy header", path);
    *len = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (lenbytes == 4)
        *len |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    if (*len > NPY_MAX_HEADER)
        return plast_fail(err, errlen, "%s: .npy header length %zu is implausibly large", path, *len);
    if (!(*text = malloc(*len + 1)))
        return plast_fail(err, errlen, "%s: out of memory", path);
    if (fread(*text, 1, *len, fp) < *len) {
        free(*text), *text = NULL;
        return plast_fail(err, errlen, "%s: truncated .npy header: expected %zu bytes", path, *len);
    }
    (*text)[*len] = '\0';
    return 0;
}

/* Preamble and dict; then check order, dtype and size. */
static int npy_read_header(FILE *fp, const char *path, npy_header *h,
                           const npy_type **type, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    npy_parser ps;
    int rc;

    if (npy_read_preamble(fp, path, &text, &len, err, errlen))
        return -1;
    ps.p = ps.text = text, ps.end = text + len;
    ps.path = path, ps.err = err, ps.errlen = errlen;
    memset(h, 0, sizeof *h);
    rc = npy_parse_header(&ps, h);
    free(text);
    if (rc)
        return -1;
    if (h->fortran_order)
        return plast_fail(err, errlen, "%s: fortran_order True is not supported (save a C-ordered "
                    "array, e.g. np.ascontiguousarray)", path);
    *type = npy_lookup_type(path, h->descr, err, errlen);
    return *type ? 0 : -1;
}

/* Item b (little-endian, per type) -> double.  Floats are reinterpreted
 * through IEEE-754 words of the same width. */
static double npy_decode(const npy_type *t, const unsigned char *b)
{
    uint64_t u = 0;
    uint32_t u32;
    size_t i;
    double d;
    float f;

    for (i = 0; i < t->size; i++)
        u |= (uint64_t)b[i] << (8 * i);
    if (t->kind == 'u')
        return (double)u;
    if (t->kind == 'f' && t->size == 8) {
        memcpy(&d, &u, sizeof d);
        return d;
    }
    if (t->kind == 'f') {
        u32 = (uint32_t)u;
        memcpy(&f, &u32, sizeof f);
        return (double)f;
    }
    if (t->size < 8 && (u >> (8 * t->size - 1)) & 1) /* sign-extend */
        u |= ~(uint64_t)0 << (8 * t->size);
    return (double)(int64_t)u;
}

/* count items into out, then end of file. */
static int npy_read_items(FILE *fp, const char *path, const npy_type *t, double *out,
                          size_t count, char *err, size_t errlen)
{
    unsigned char buf[IO_CHUNK];
    size_t per_chunk = IO_CHUNK / t->size, done = 0, extra = 0, got;

    while (done < count) {
        size_t want = count - done < per_chunk ? count - done : per_chunk, i;

        got = fread(buf, t->size, want, fp);
        for (i = 0; i < got; i++)
            out[done + i] = npy_decode(t, buf + i * t->size);
        done += got;
        if (got < want)
            return plast_fail(err, errlen, "%s: truncated: expected %zu bytes of data, found %zu%s",
                        path, count * t->size, done * t->size,
                        ferror(fp) ? " (read error)" : "");
    }
    while ((got = fread(buf, 1, sizeof buf, fp)) > 0)
        extra += got;
    if (extra)
        return plast_fail(err, errlen, "%s: trailing garbage: %zu bytes after the %zu bytes of data",
                    path, extra, count * t->size);
    return 0;
}

/* plast_npy_read, also telling the caller the file's dtype. */
static int npy_read_typed(const char *path, plast_array *out, const npy_type **type,
                          char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    npy_header h;
    size_t count = 1, bytes;
    int i, overflow = 0, rc = -1;

    memset(out, 0, sizeof *out);
    if (!fp)
        return plast_fail(err, errlen, "%s: %s", path, strerror(errno));
    if (npy_read_header(fp, path, &h, type, err, errlen))
        goto done;
    for (i = 0; i < h.ndim; i++)
        overflow |= mul_overflows(count, h.shape[i], &count);
    if (overflow || mul_overflows(count, sizeof(double), &bytes)) {
        plast_fail(err, errlen, "%s: shape overflows the address space", path);
        goto done;
    }
    if (!(out->data = malloc(bytes ? bytes : 1))) {
        plast_fail(err, errlen, "%s: out of memory for %zu values", path, count);
        goto done;
    }
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof h.shape);
    rc = npy_read_items(fp, path, *type, out->data, count, err, errlen);
done:
    fclose(fp);
    if (rc)
        plast_array_free(out);
    return rc;
}

int plast_npy_read(const char *path, plast_array *out, char *err, size_t errlen)
{
    const npy_type *type;

    return npy_read_typed(path, out, &type, err, errlen);
}

/* ======================================================================== */
/* .npy writing                                                             */
/* ======================================================================== */

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
        overflow |= mul_overflows(*count, a->shape[i], count);
    if (overflow || mul_overflows(*count, 8, &bytes))
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
    unsigned char buf[IO_CHUNK];
    size_t len = npy_format_header(a, descr, header), done = 0;

    if (fwrite(header, 1, len, fp) != len)
        return -1;
    while (done < count) {
        size_t n = count - done < IO_CHUNK / 8 ? count - done : IO_CHUNK / 8, i;

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
    int rc = -1;

    if (!tmp)
        return plast_fail(err, errlen, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    if (!(fp = fopen(tmp, "wb"))) {
        plast_fail(err, errlen, "%s: %s", tmp, strerror(errno));
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

/* ======================================================================== */
/* Data sets from .npy pairs                                                */
/* ======================================================================== */

/* x: 2-D, nonempty, all finite (raw values, no scaling). */
static int npy_check_features(const char *path, const plast_array *x, char *err,
                              size_t errlen)
{
    size_t i, count;

    if (x->ndim != 2)
        return plast_fail(err, errlen, "%s: expected a 2-D array [n, dim] of features, found %d-D",
                    path, x->ndim);
    if (x->shape[0] == 0 || x->shape[1] == 0)
        return plast_fail(err, errlen, "%s: empty feature array, shape (%zu, %zu)", path,
                    x->shape[0], x->shape[1]);
    count = x->shape[0] * x->shape[1];
    for (i = 0; i < count; i++)
        if (!isfinite(x->data[i]))
            return plast_fail(err, errlen, "%s: non-finite value at row %zu, column %zu", path,
                        i / x->shape[1], i % x->shape[1]);
    return 0;
}

/* y: 1-D integer labels, one per row of x, in [0, PLAST_MAX_LABEL]. */
static int npy_check_labels(const char *path, const plast_array *y, const npy_type *t,
                            size_t n, const char *x_path, char *err, size_t errlen)
{
    size_t i;

    if (t->kind == 'f')
        return plast_fail(err, errlen, "%s: labels must have an integer dtype (<i8, <i4 or |u1), "
                    "found '%s'", path, t->descr);
    if (y->ndim != 1)
        return plast_fail(err, errlen, "%s: expected a 1-D array of labels, found %d-D", path,
                    y->ndim);
    if (y->shape[0] != n)
        return plast_fail(err, errlen, "%s: %zu labels, but %s has %zu rows", path, y->shape[0],
                    x_path, n);
    for (i = 0; i < n; i++) {
        if (y->data[i] < 0)
            return plast_fail(err, errlen, "%s: negative label %.0f at index %zu", path,
                        y->data[i], i);
        if (y->data[i] > PLAST_MAX_LABEL)
            return plast_fail(err, errlen, "%s: label %.0f at index %zu exceeds the limit %d",
                        path, y->data[i], i, PLAST_MAX_LABEL);
    }
    return 0;
}

int plast_load_npy_dataset(const char *x_npy, const char *y_npy, plast_dataset *out,
                           char *err, size_t errlen)
{
    plast_array x = {0}, y = {0};
    const npy_type *xt, *yt;
    plast_dataset d = {0};
    size_t i;

    memset(out, 0, sizeof *out);
    if (npy_read_typed(x_npy, &x, &xt, err, errlen) ||
        npy_check_features(x_npy, &x, err, errlen) ||
        npy_read_typed(y_npy, &y, &yt, err, errlen) ||
        npy_check_labels(y_npy, &y, yt, x.shape[0], x_npy, err, errlen))
        goto fail;
    d.n = x.shape[0], d.dim = x.shape[1];
    d.label = malloc(d.n * sizeof *d.label);
    d.name = copy_string(base_name(x_npy));
    if (!d.label || !d.name) {
        plast_fail(err, errlen, "%s: out of memory", x_npy);
        goto fail;
    }
    for (i = 0; i < d.n; i++)
        d.label[i] = (int32_t)y.data[i];
    d.n_classes = max_label_plus_one(d.label, d.n);
    d.x = x.data; /* ownership moves to the data set */
    plast_array_free(&y);
    *out = d;
    return 0;
fail:
    plast_array_free(&x);
    plast_array_free(&y);
    plast_dataset_free(&d);
    return -1;
}

/* ======================================================================== */
/* Generated data sets                                                      */
/* ======================================================================== */
/* One stream, plast_rng_stream(seed, 0, PLAST_RNG_DATA_GEN), in a fixed order:
 * generator parameters, noise row by row (x then y), row shuffle. */

/* Zeroed n x 2 set with n_classes classes and a name. */
static int gen_alloc(plast_dataset *d, size_t n, int n_classes, const char *name)
{
    memset(d, 0, sizeof *d);
    if (n == 0 || n > (size_t)-1 / (2 * sizeof(double)))
        return -1;
    d->n = n, d->dim = 2, d->n_classes = n_classes;
    d->x = calloc(n * 2, sizeof *d->x);
    d->label = calloc(n, sizeof *d->label);
    d->name = copy_string(name);
    if (!d->x || !d->label || !d->name) {
        plast_dataset_free(d);
        return -1;
    }
    return 0;
}

/* numpy linspace(0, stop, m, endpoint)[i] = i * step */
static double linspace_at(double stop, size_t m, int endpoint, size_t i)
{
    size_t div = endpoint ? m - 1 : m;

    return div ? (double)i * (stop / (double)div) : 0.0;
}

/* x += N(0, sd^2) per coordinate; then Fisher-Yates on rows: for i = n-1..1,
 * swap row i with row below(i+1). */
static void gen_noise_and_shuffle(plast_dataset *d, plast_rng *r, double sd)
{
    size_t i, k;

    if (sd > 0)
        for (i = 0; i < d->n * d->dim; i++)
            d->x[i] += sd * plast_rng_normal(r);
    for (i = d->n; i > 1; i--) {
        size_t j = (size_t)plast_rng_below(r, i);
        int32_t l = d->label[i - 1];

        for (k = 0; k < d->dim; k++) {
            double t = d->x[(i - 1) * d->dim + k];

            d->x[(i - 1) * d->dim + k] = d->x[j * d->dim + k];
            d->x[j * d->dim + k] = t;
        }
        d->label[i - 1] = d->label[j];
        d->label[j] = l;
    }
}

/* class 0: (cos t, sin t); class 1: (1 - cos t, 0.5 - sin t); t = linspace(0, pi) */
int plast_gen_moons(size_t n, double noise, uint64_t seed, plast_dataset *out)
{
    const double pi = 3.14159265358979323846;
    size_t n_out = n / 2, n_in = n - n_out, i;
    plast_rng r = plast_rng_stream(seed, 0, PLAST_RNG_DATA_GEN);

    memset(out, 0, sizeof *out);
    if (!(noise >= 0) || gen_alloc(out, n, 2, "moons"))
        return -1;
    for (i = 0; i < n_out; i++) {
        double t = linspace_at(pi, n_out, 1, i);

        out->x[2 * i] = cos(t), out->x[2 * i + 1] = sin(t);
    }
    for (i = 0; i < n_in; i++) {
        double t = linspace_at(pi, n_in, 1, i);
        double *row = out->x + 2 * (n_out + i);

        row[0] = 1 - cos(t), row[1] = 1 - sin(t) - 0.5;
        out->label[n_out + i] = 1;
    }
    gen_noise_and_shuffle(out, &r, noise);
    return 0;
}

/* class 0: (cos t, sin t); class 1: factor (cos t, sin t); t = linspace(0, 2 pi), no endpoint */
int plast_gen_circles(size_t n, double noise, double factor, uint64_t seed,
                      plast_dataset *out)
{
    const double two_pi = 6.283185307179586476925286766559;
    size_t n_out = n / 2, n_in = n - n_out, i;
    plast_rng r = plast_rng_stream(seed, 0, PLAST_RNG_DATA_GEN);

    memset(out, 0, sizeof *out);
    if (!(noise >= 0) || !(factor >= 0 && factor < 1) || gen_alloc(out, n, 2, "circles"))
        return -1;
    for (i = 0; i < n_out; i++) {
        double t = linspace_at(two_pi, n_out, 0, i);

        out->x[2 * i] = cos(t), out->x[2 * i + 1] = sin(t);
    }
    for (i = 0; i < n_in; i++) {
        double t = linspace_at(two_pi, n_in, 0, i);
        double *row = out->x + 2 * (n_out + i);

        row[0] = factor * cos(t), row[1] = factor * sin(t);
        out->label[n_out + i] = 1;
    }
    gen_noise_and_shuffle(out, &r, noise);
    return 0;
}

/* centre c = -10 + 20 (u, u); rows of class c sit at centre c before the noise. */
int plast_gen_blobs(size_t n, int centers, double std, uint64_t seed, plast_dataset *out)
{
    plast_rng r = plast_rng_stream(seed, 0, PLAST_RNG_DATA_GEN);
    double *centre;
    size_t row = 0;
    int c;

    memset(out, 0, sizeof *out);
    if (centers < 1 || centers > PLAST_MAX_LABEL + 1 || !(std >= 0) ||
        gen_alloc(out, n, centers, "blobs"))
        return -1;
    if (!(centre = malloc(2 * (size_t)centers * sizeof *centre))) {
        plast_dataset_free(out);
        return -1;
    }
    for (c = 0; c < 2 * centers; c++)
        centre[c] = -10.0 + 20.0 * plast_rng_uniform(&r);
    for (c = 0; c < centers; c++) {
        size_t k, count = n / (size_t)centers + ((size_t)c < n % (size_t)centers);

        for (k = 0; k < count; k++, row++) {
            out->x[2 * row] = centre[2 * c], out->x[2 * row + 1] = centre[2 * c + 1];
            out->label[row] = c;
        }
    }
    free(centre);
    gen_noise_and_shuffle(out, &r, std);
    return 0;
}

/* x'[r, j] = sum_i x[r, i] P[i, j] (i ascending), P ~ N(0, 1/dim) row-major. */
int plast_project(plast_dataset *d, size_t out_dim, uint64_t seed)
{
    plast_rng r = plast_rng_stream(seed, 0, PLAST_RNG_PROJECTION);
    double *p, *xn, scale = 1.0 / sqrt((double)d->dim);
    size_t np, nx, i, j, row;

    if (out_dim == 0 || d->dim == 0 || mul_overflows(d->dim, out_dim, &np) ||
        mul_overflows(d->n, out_dim, &nx) || np > (size_t)-1 / 8 || nx > (size_t)-1 / 8)
        return -1;
    p = malloc(np * sizeof *p);
    xn = calloc(nx ? nx : 1, sizeof *xn);
    if (!p || !xn) {
        free(p), free(xn);
        return -1;
    }
    for (i = 0; i < np; i++)
        p[i] = scale * plast_rng_normal(&r);
    double *in = malloc((d->dim ? d->dim : 1) * sizeof *in);
    if (!in) {
        free(p), free(xn);
        return -1;
    }
    for (row = 0; row < d->n; row++) {
        plast_dataset_row(d, row, in);
        for (i = 0; i < d->dim; i++)
            for (j = 0; j < out_dim; j++)
                xn[row * out_dim + j] += in[i] * p[i * out_dim + j];
    }
    free(in);
    free(p);
    free(d->x);
    free(d->x_u8);
    d->x = xn, d->x_u8 = NULL, d->dim = out_dim;
    return 0;
}

/* ======================================================================== */
/* Fashion-MNIST                                                            */
/* ======================================================================== */

#define FASHION_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* dir/prefix-{images-idx3,labels-idx1}-ubyte[.gz] -> path (gzipped preferred). */
static int fashion_file(const char *dir, int test_split, const char *what, char *path,
                        size_t len)
{
    const char *prefix = test_split ? "t10k" : "train";
    int n = snprintf(path, len, "%s/%s-%s-ubyte.gz", dir, prefix, what);

    if (n < 0 || (size_t)n >= len)
        return -1;
    if (file_readable(path))
        return 0;
    path[n - 3] = '\0';
    return file_readable(path) ? 0 : -1;
}

/* Are both files of the split in dir? */
static int fashion_dir_has_split(const char *dir, int test_split)
{
    char path[4096];

    return fashion_file(dir, test_split, "images-idx3", path, sizeof path) == 0 &&
           fashion_file(dir, test_split, "labels-idx1", path, sizeof path) == 0;
}

/* Copy dir into buf; NULL (and a message, if buf has room) if it does not fit. */
static const char *fashion_found(char *buf, size_t len, const char *dir)
{
    if (strlen(dir) >= len) {
        snprintf(buf, len, "Fashion-MNIST folder name too long");
        return NULL;
    }
    memcpy(buf, dir, strlen(dir) + 1);
    return buf;
}

const char *plast_find_fashion_mnist(char *buf, size_t len, int test_split)
{
    const char *env = getenv("PLAST_DATA_DIR");
    const char *split = test_split ? "t10k" : "train";
    char sub[4096];

    if (env && *env) {
        if (fashion_dir_has_split(env, test_split))
            return fashion_found(buf, len, env);
        snprintf(sub, sizeof sub, "%s/fashion-mnist", env);
        if (fashion_dir_has_split(sub, test_split))
            return fashion_found(buf, len, sub);
        snprintf(buf, len, "Fashion-MNIST not found: PLAST_DATA_DIR=%s holds no "
                 "%s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz] (nor does its "
                 "fashion-mnist/ folder); unset it to use " FASHION_DEFAULT_DIR
                 " (apt-get install dataset-fashion-mnist)", env, split, split);
        return NULL;
    }
    if (fashion_dir_has_split(FASHION_DEFAULT_DIR, test_split))
        return fashion_found(buf, len, FASHION_DEFAULT_DIR);
    snprintf(buf, len, "Fashion-MNIST not found in " FASHION_DEFAULT_DIR " (no %s-*-ubyte.gz "
             "files): install it with `apt-get install dataset-fashion-mnist`, or set "
             "PLAST_DATA_DIR to a folder holding the IDX files", split);
    return NULL;
}

int plast_load_fashion_mnist(int test_split, plast_dataset *out, char *err, size_t errlen)
{
    char dir[4096], images[4096], labels[4096];
    const char *name = test_split ? "fashion-mnist/t10k" : "fashion-mnist/train";
    char *copy;

    memset(out, 0, sizeof *out);
    if (!plast_find_fashion_mnist(dir, sizeof dir, test_split))
        return plast_fail(err, errlen, "%s", dir);
    if (fashion_file(dir, test_split, "images-idx3", images, sizeof images) ||
        fashion_file(dir, test_split, "labels-idx1", labels, sizeof labels))
        return plast_fail(err, errlen, "%s: Fashion-MNIST files vanished", dir);
    if (plast_load_idx(images, labels, out, err, errlen))
        return -1;
    if ((copy = copy_string(name))) {
        free(out->name);
        out->name = copy;
    }
    return 0;
}

/* ======================================================================== */
/* Freeing                                                                  */
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
