/*
 * data_npy_read.c -- NumPy .npy files, and data sets from an x.npy, y.npy pair.
 *
 * Layout: "\x93NUMPY", major, minor, header length (u16 LE for 1.x, u32 LE for
 * 2.x and 3.x), an ASCII (3.x: UTF-8) Python dict literal
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 * then prod(shape) items in C order.  The items are read in chunks straight
 * into the array of doubles: no second copy of the file is held.
 */
#include "config.h"
#include "data_impl.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        if (data_mul_overflows(v, 10, &v) || v > (size_t)-1 - (size_t)(*ps->p - '0'))
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
    unsigned char buf[DATA_IO_CHUNK];
    size_t per_chunk = DATA_IO_CHUNK / t->size, done = 0, extra = 0, got;

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
    FILE *fp;
    npy_header h;
    size_t count = 1, bytes;
    int i, overflow = 0, rc = -1;

    memset(out, 0, sizeof *out);
    if (!(fp = data_fopen_read(path, err, errlen)))
        return -1;
    if (npy_read_header(fp, path, &h, type, err, errlen))
        goto done;
    for (i = 0; i < h.ndim; i++)
        overflow |= data_mul_overflows(count, h.shape[i], &count);
    if (overflow || data_mul_overflows(count, sizeof(double), &bytes)) {
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
    d.name = data_copy_string(data_base_name(x_npy));
    if (!d.label || !d.name) {
        plast_fail(err, errlen, "%s: out of memory", x_npy);
        goto fail;
    }
    for (i = 0; i < d.n; i++)
        d.label[i] = (int32_t)y.data[i];
    d.n_classes = data_max_label_plus_one(d.label, d.n);
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

