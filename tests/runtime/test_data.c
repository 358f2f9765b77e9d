/*
 * test_data.c -- data sets and .npy I/O (runtime/data*.c).
 *
 * Fixture files (IDX raw and gzipped, .npy of several versions and dtypes,
 * and broken variants of each) are written at run time into a mkdtemp
 * folder; every error message is checked for the file's name and the specific
 * problem.  Then the generators, the projection and the Fashion-MNIST lookup,
 * and special files (FIFOs, a directory, a device) given as data files.
 * If the real Fashion-MNIST is installed it is loaded and checked; if not,
 * the program exits 77 (skip) once everything else has passed.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, mkdir, rmdir, setenv */
#endif

#include "plast.h"
#include "rng.h"
#include "task.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
static int verbose; /* PLAST_TEST_VERBOSE=1 prints every expected error */



/* ======================================================================== */
/* Fixture files                                                            */
/* ======================================================================== */

static char tmpdir[] = "/tmp/plast-test-data-XXXXXX";
#define MAX_FIXTURES 256
static char created[MAX_FIXTURES][512]; /* removed at exit */
static int n_created;

/* tmpdir/name, in one of a ring of buffers so a few can be live at once. */
static const char *at(const char *name)
{
    static char ring[8][512];
    static int next;
    char *p = ring[next++ % 8];

    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static void remember(const char *path)
{
    CHECK(n_created < MAX_FIXTURES);
    if (n_created < MAX_FIXTURES)
        snprintf(created[n_created++], 512, "%s", path);
}

static void put_file(const char *name, const void *bytes, size_t len)
{
    FILE *fp = fopen(at(name), "wb");

    CHECK(fp != NULL);
    if (!fp)
        return;
    CHECK(fwrite(bytes, 1, len, fp) == len);
    fclose(fp);
    remember(at(name));
}

static void put_gz(const char *name, const void *bytes, size_t len)
{
    gzFile gz = gzopen(at(name), "wb");

    CHECK(gz != NULL);
    if (!gz)
        return;
    CHECK(gzwrite(gz, bytes, (unsigned)len) == (int)len);
    gzclose(gz);
    remember(at(name));
}

/* Whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *p;

    *len = 0;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    rewind(fp);
    p = malloc(*len + 1);
    if (p && fread(p, 1, *len, fp) != *len)
        *len = 0;
    fclose(fp);
    return p;
}

/* A growable byte buffer for building files. */
typedef struct bytes {
    unsigned char p[16384];
    size_t len;
} bytes;

static void put(bytes *b, const void *src, size_t len)
{
    if (b->len + len <= sizeof b->p)
        memcpy(b->p + b->len, src, len), b->len += len;
}

static void put_be32(bytes *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(b, x, 4);
}

static void put_le(bytes *b, uint64_t v, int size)
{
    int i;

    for (i = 0; i < size; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        put(b, &c, 1);
    }
}

static void put_f4(bytes *b, float f)
{
    uint32_t u;

    memcpy(&u, &f, 4);
    put_le(b, u, 4);
}

static void put_f8(bytes *b, double d)
{
    uint64_t u;

    memcpy(&u, &d, 8);
    put_le(b, u, 8);
}

/* IDX image file: magic, n x rows x cols, pixel i = (37 i) mod 256. */
static bytes idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols)
{
    bytes b = {{0}, 0};
    size_t i;

    put_be32(&b, magic);
    put_be32(&b, n), put_be32(&b, rows), put_be32(&b, cols);
    for (i = 0; i < (size_t)n * rows * cols && b.len < sizeof b.p; i++) {
        unsigned char px = (unsigned char)(37 * i);
        put(&b, &px, 1);
    }
    return b;
}

/* IDX label file: n labels, label i = i mod 3. */
static bytes idx_labels(uint32_t n)
{
    bytes b = {{0}, 0};
    uint32_t i;

    put_be32(&b, 0x00000801);
    put_be32(&b, n);
    for (i = 0; i < n; i++) {
        unsigned char l = (unsigned char)(i % 3);
        put(&b, &l, 1);
    }
    return b;
}

/* .npy file of version major.0 with header dict (padded as numpy pads it). */
static void put_npy(const char *name, int major, const char *dict, const bytes *data)
{
    bytes b = {{0}, 0};
    size_t pre = major == 1 ? 10 : 12, hlen = strlen(dict) + 1;
    unsigned char v[2] = {(unsigned char)major, 0};

    hlen = (pre + hlen + 63) / 64 * 64 - pre;
    put(&b, "\x93NUMPY", 6);
    put(&b, v, 2);
    put_le(&b, hlen, major == 1 ? 2 : 4);
    put(&b, dict, strlen(dict));
    while (b.len < pre + hlen - 1)
        put(&b, " ", 1);
    put(&b, "\n", 1);
    if (data)
        put(&b, data->p, data->len);
    put_file(name, b.p, b.len);
}

/* ======================================================================== */
/* IDX                                                                      */
/* ======================================================================== */

/* The 5 x 3 x 4 fixture, as loaded. */
static void check_small_idx(const plast_dataset *d, const char *name)
{
    size_t i;
    int ok = 1;

    CHECK(d->n == 5 && d->dim == 12 && d->n_classes == 3);
    double row[12];
    for (i = 0; i < 60; i++) {
        if (i % 12 == 0)
            plast_dataset_row(d, i / 12, row);
        ok &= d->x_u8[i] == (unsigned char)(37 * i) && row[i % 12] == (unsigned char)(37 * i) / 255.0;
    }
    for (i = 0; i < 5; i++)
        ok &= d->label[i] == (int32_t)(i % 3);
    CHECK(ok);
    CHECK(d->name && strcmp(d->name, name) == 0);
}

static void test_idx_valid(void)
{
    bytes img = idx_images(0x00000803, 5, 3, 4), lab = idx_labels(5);
    plast_dataset d;
    char err[512] = "";

    put_file("img.idx", img.p, img.len);
    put_file("lab.idx", lab.p, lab.len);
    put_gz("img.idx.gz", img.p, img.len);
    put_gz("lab.idx.gz", lab.p, lab.len);
    CHECK(plast_load_idx(at("img.idx"), at("lab.idx"), &d, err, sizeof err) == 0);
    check_small_idx(&d, "img.idx");
    plast_dataset_free(&d);
    CHECK(d.x == NULL && d.x_u8 == NULL && d.label == NULL && d.name == NULL && d.n == 0);
    CHECK(plast_load_idx(at("img.idx.gz"), at("lab.idx.gz"), &d, err, sizeof err) == 0);
    check_small_idx(&d, "img.idx.gz");
    plast_dataset_free(&d);
    CHECK(plast_load_idx(at("img.idx.gz"), at("lab.idx"), &d, err, sizeof err) == 0);
    check_small_idx(&d, "img.idx.gz");
    plast_dataset_free(&d);
}

/* Load must fail, leave d zeroed, and say both name and needle. */
static void expect_idx_error(const char *images, const char *labels, const char *name,
                             const char *needle, int line)
{
    plast_dataset d;
    char err[512] = "";
    int before = failures;

    CHECK(plast_load_idx(at(images), at(labels), &d, err, sizeof err) == -1);
    if (verbose)
        printf("  %s\n", err);
    CHECK(d.x == NULL && d.label == NULL && d.name == NULL);
    CHECK_MSG(err, name);
    CHECK_MSG(err, needle);
    if (failures != before)
        fprintf(stderr, "  (from the case at line %d)\n", line);
}
#define IDX_ERROR(img, lab, name, needle) expect_idx_error(img, lab, name, needle, __LINE__)

static void test_idx_errors(void)
{
    bytes img = idx_images(0x00000803, 5, 3, 4), lab4 = idx_labels(4);
    bytes bad = idx_images(0x12345678, 5, 3, 4), type = idx_images(0x00000d03, 5, 3, 4);
    bytes zero = idx_images(0x00000803, 5, 0, 4), huge = idx_images(0x00000803, 0xffffffffu,
                                                                    0xffffffffu, 0xffffffffu);
    bytes trail = img;

    put_file("img_trunc.idx", img.p, img.len - 10);
    IDX_ERROR("img_trunc.idx", "lab.idx", "img_trunc.idx",
              ": truncated: expected 60 bytes of data, found 50");
    put_file("img_head.idx", img.p, 10);
    IDX_ERROR("img_head.idx", "lab.idx", "img_head.idx", "truncated header");
    put_file("bad.idx", bad.p, bad.len);
    IDX_ERROR("bad.idx", "lab.idx",
              "bad.idx: bad magic 0x12345678 (expected 0x00000803 for an IDX image file)",
              "not a gzip or IDX file");
    IDX_ERROR("lab.idx", "lab.idx", "lab.idx", "bad magic 0x00000801 (expected 0x00000803 "
              "for an IDX image file): this is an IDX label file");
    IDX_ERROR("img.idx", "img.idx", "img.idx", "bad magic 0x00000803 (expected 0x00000801 "
              "for an IDX label file)");
    put_file("type.idx", type.p, type.len);
    IDX_ERROR("type.idx", "lab.idx", "type.idx", "data type 0x0d is not unsigned byte");
    put_file("lab4.idx", lab4.p, lab4.len);
    IDX_ERROR("img.idx", "lab4.idx", "lab4.idx: 4 labels, but", "img.idx holds 5 images");
    put(&trail, "GARBAGE", 7);
    put_file("img_trail.idx", trail.p, trail.len);
    IDX_ERROR("img_trail.idx", "lab.idx", "img_trail.idx", "trailing garbage: 7 bytes");
    put_gz("img_trail.gz", trail.p, trail.len);
    IDX_ERROR("img_trail.gz", "lab.idx", "img_trail.gz", "trailing garbage: 7 bytes");
    IDX_ERROR("img.idx", "lab_trail.idx", "lab_trail.idx", strerror(ENOENT));
    IDX_ERROR("missing.idx", "lab.idx", "missing.idx", strerror(ENOENT));
    put_file("text.idx", "hello, world\n", 13);
    IDX_ERROR("text.idx", "lab.idx", "text.idx", "not a gzip or IDX file");
    put_file("short.idx", "ab", 2);
    IDX_ERROR("short.idx", "lab.idx", "short.idx", "only 2 bytes: not a gzip or IDX file");
    put_file("empty.idx", "", 0);
    IDX_ERROR("empty.idx", "lab.idx", "empty.idx", "empty file");
    put_file("zero.idx", zero.p, zero.len);
    IDX_ERROR("zero.idx", "lab.idx", "zero.idx", "size 2 of 3 in the header is 0");
    put_file("huge.idx", huge.p, 16);
    IDX_ERROR("huge.idx", "lab.idx", "huge.idx", "overflow");
}

/* Cut and corrupted gzip streams are errors that name the file. */
static void test_idx_gzip_damage(void)
{
    bytes img = idx_images(0x00000803, 64, 8, 8);
    plast_rng r = plast_rng_stream(1, 0, PLAST_RNG_TEST);
    unsigned char *gz;
    size_t i, len;

    for (i = 16; i < img.len; i++) /* incompressible pixels */
        img.p[i] = (unsigned char)plast_rng_u64(&r);
    put_gz("big.gz", img.p, img.len);
    gz = slurp(at("big.gz"), &len);
    CHECK(gz && len > 1000);
    if (!gz)
        return;
    put_file("cut.gz", gz, len * 6 / 10);
    IDX_ERROR("cut.gz", "lab.idx", "cut.gz: truncated: expected 4096 bytes of data",
              "(the gzip stream ends early)");
    gz[len / 2] ^= 0x55;
    gz[len / 2 + 1] ^= 0xaa;
    put_file("corrupt.gz", gz, len);
    IDX_ERROR("corrupt.gz", "lab.idx", "corrupt.gz", "corrupt gzip data");
    put_file("junk.gz", "\x1f\x8b garbage that is not deflate", 31);
    IDX_ERROR("junk.gz", "lab.idx", "junk.gz", "");
    free(gz);
}

/* ======================================================================== */
/* .npy reading                                                             */
/* ======================================================================== */

static void test_npy_dtypes(void)
{
    static const double f4v[] = {1.5, -2.25, 0, 3.75, 0.001, -7};
    bytes f4 = {{0}, 0}, f8 = {{0}, 0}, u1 = {{0}, 0}, i8 = {{0}, 0}, i4 = {{0}, 0};
    plast_array a;
    char err[512] = "";
    int i, ok = 1;

    for (i = 0; i < 6; i++)
        put_f4(&f4, (float)f4v[i]), put_f8(&f8, f4v[i] / 3);
    for (i = 0; i < 3; i++) {
        unsigned char c = (unsigned char)(250 + i);
        put(&u1, &c, 1);
        put_le(&i8, (uint64_t)(int64_t)(-((int64_t)1 << 40) + i), 8);
        put_le(&i4, (uint64_t)(int64_t)(-70000 + i), 4);
    }
    put_npy("f4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", &f4);
    CHECK(plast_npy_read(at("f4.npy"), &a, err, sizeof err) == 0);
    CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3);
    for (i = 0; i < 6 && a.data; i++)
        ok &= a.data[i] == (double)(float)f4v[i];
    CHECK(ok);
    plast_array_free(&a);
    CHECK(a.data == NULL && a.ndim == 0);
    put_npy("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", &f8);
    CHECK(plast_npy_read(at("f8.npy"), &a, err, sizeof err) == 0);
    CHECK(a.ndim == 1 && a.shape[0] == 6 && a.data && a.data[5] == -7.0 / 3);
    plast_array_free(&a);
    put_npy("u1.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", &u1);
    CHECK(plast_npy_read(at("u1.npy"), &a, err, sizeof err) == 0);
    CHECK(a.data && a.data[0] == 250 && a.data[2] == 252);
    plast_array_free(&a);
    put_npy("i8.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", &i8);
    CHECK(plast_npy_read(at("i8.npy"), &a, err, sizeof err) == 0);
    CHECK(a.data && a.data[0] == -1099511627776.0 && a.data[2] == -1099511627774.0);
    plast_array_free(&a);
    put_npy("i4.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 1), }", &i4);
    CHECK(plast_npy_read(at("i4.npy"), &a, err, sizeof err) == 0);
    CHECK(a.ndim == 2 && a.data && a.data[0] == -70000 && a.data[2] == -69998);
    plast_array_free(&a);
}

/* Versions 2.0 and 3.0, and header spellings numpy accepts. */
static void test_npy_versions(void)
{
    bytes f8 = {{0}, 0};
    plast_array a;
    char err[512] = "";

    put_f8(&f8, 0.5), put_f8(&f8, -1.0);
    put_npy("v2.npy", 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", &f8);
    CHECK(plast_npy_read(at("v2.npy"), &a, err, sizeof err) == 0);
    CHECK(a.ndim == 1 && a.shape[0] == 2 && a.data && a.data[1] == -1.0);
    plast_array_free(&a);
    put_npy("v3.npy", 3, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", &f8);
    CHECK(plast_npy_read(at("v3.npy"), &a, err, sizeof err) == 0);
    CHECK(a.ndim == 2 && a.shape[1] == 2 && a.data && a.data[0] == 0.5);
    plast_array_free(&a);
    put_npy("quotes.npy", 1, "{\"shape\": ( 2 , ),\"fortran_order\":False,\"descr\":\"<f8\"}", &f8);
    CHECK(plast_npy_read(at("quotes.npy"), &a, err, sizeof err) == 0);
    CHECK(a.ndim == 1 && a.shape[0] == 2);
    plast_array_free(&a);
}

/* Read must fail, leave a zeroed, and say both name and needle. */
static void expect_npy_error(const char *name, const char *needle, int line)
{
    plast_array a;
    char err[512] = "";
    int before = failures;

    CHECK(plast_npy_read(at(name), &a, err, sizeof err) == -1);
    if (verbose)
        printf("  %s\n", err);
    CHECK(a.data == NULL && a.ndim == 0);
    CHECK_MSG(err, name);
    CHECK_MSG(err, needle);
    if (failures != before)
        fprintf(stderr, "  (from the case at line %d)\n", line);
}
#define NPY_ERROR(name, needle) expect_npy_error(name, needle, __LINE__)

/* A one-element .npy with the given dict. */
static void put_npy_dict(const char *name, const char *dict)
{
    bytes one = {{0}, 0};

    put_f8(&one, 1.0);
    put_npy(name, 1, dict, &one);
}

static void test_npy_errors(void)
{
    bytes f8x3 = {{0}, 0}, f8x5 = {{0}, 0};
    int i;

    for (i = 0; i < 3; i++)
        put_f8(&f8x3, i);
    for (i = 0; i < 5; i++)
        put_f8(&f8x5, i);
    put_npy_dict("fortran.npy", "{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }");
    NPY_ERROR("fortran.npy", "fortran_order True is not supported");
    put_npy_dict("big.npy", "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }");
    NPY_ERROR("big.npy", "big-endian dtype '>f8'");
    put_npy_dict("object.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }");
    NPY_ERROR("object.npy", "object dtype '|O'");
    put_npy_dict("complex.npy", "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }");
    NPY_ERROR("complex.npy", "unsupported dtype '<c16'");
    put_npy_dict("struct.npy", "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }");
    NPY_ERROR("struct.npy", "structured dtypes");
    put_npy_dict("nokey.npy", "{'descr': '<f8', 'shape': (1,), }");
    NPY_ERROR("nokey.npy", "malformed .npy header: no 'fortran_order' key");
    put_npy_dict("extra.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}");
    NPY_ERROR("extra.npy", "unexpected key");
    put_npy_dict("hello.npy", "hello");
    NPY_ERROR("hello.npy", "malformed .npy header: expected '{'");
    put_npy_dict("unterminated.npy", "{'descr': '<f8");
    NPY_ERROR("unterminated.npy", "unterminated string");
    put_npy_dict("badbool.npy", "{'descr': '<f8', 'fortran_order': Nope, 'shape': (1,), }");
    NPY_ERROR("badbool.npy", "expected True or False");
    put_npy_dict("ninedim.npy", "{'descr': '<f8', 'fortran_order': False, "
                 "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }");
    NPY_ERROR("ninedim.npy", "more than 8 dimensions");
    put_file("notnpy.npy", "NOTNUMPY and more bytes", 23);
    NPY_ERROR("notnpy.npy", "not a .npy file");
    put_file("v4.npy", "\x93NUMPY\x04\x00\x10\x00{}", 12);
    NPY_ERROR("v4.npy", "unsupported .npy format version 4.0");
    put_file("cuthead.npy", "\x93NUMPY\x01\x00\x40\x00{'descr'", 18);
    NPY_ERROR("cuthead.npy", "truncated .npy header");
    put_npy("trunc.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", &f8x3);
    NPY_ERROR("trunc.npy", "truncated: expected 32 bytes of data, found 24");
    put_npy("trail.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", &f8x5);
    NPY_ERROR("trail.npy", "trailing garbage: 8 bytes");
    NPY_ERROR("absent.npy", strerror(ENOENT));
}

/* ======================================================================== */
/* .npy writing                                                             */
/* ======================================================================== */

/* The header is numpy's: dict text, space padding, '\n', data at 64k. */
static void check_written_header(const char *path, const char *dict, size_t data_bytes)
{
    size_t len, hlen;
    unsigned char *f = slurp(path, &len);

    CHECK(f != NULL && len >= 10);
    if (!f || len < 10)
        return;
    hlen = (size_t)f[8] | (size_t)f[9] << 8;
    CHECK(memcmp(f, "\x93NUMPY\x01\x00", 8) == 0);
    CHECK((10 + hlen) % 64 == 0 && f[10 + hlen - 1] == '\n');
    CHECK(len == 10 + hlen + data_bytes);
    CHECK(memcmp(f + 10, dict, strlen(dict)) == 0);
    free(f);
}

static void test_npy_write(void)
{
    double v[6] = {1.0, -0.0, 1e-300, 1.7976931348623157e308, 3.25, -42.5}, s = 3.25;
    plast_array a = {2, {2, 3}, v}, scalar = {0, {0}, &s}, back;
    char err[512] = "";
    int i, ok = 1;

    CHECK(plast_npy_write(at("w2.npy"), &a, err, sizeof err) == 0);
    remember(at("w2.npy"));
    check_written_header(at("w2.npy"),
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48);
    CHECK(fopen(at("w2.npy.tmp"), "rb") == NULL); /* renamed away */
    CHECK(plast_npy_read(at("w2.npy"), &back, err, sizeof err) == 0);
    CHECK(back.ndim == 2 && back.shape[0] == 2 && back.shape[1] == 3);
    for (i = 0; i < 6 && back.data; i++)
        ok &= memcmp(&back.data[i], &v[i], sizeof v[i]) == 0; /* bit-exact, -0.0 too */
    CHECK(ok);
    plast_array_free(&back);
    CHECK(plast_npy_write(at("w0.npy"), &scalar, err, sizeof err) == 0);
    remember(at("w0.npy"));
    check_written_header(at("w0.npy"),
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8);
    CHECK(plast_npy_read(at("w0.npy"), &back, err, sizeof err) == 0);
    CHECK(back.ndim == 0 && back.data && back.data[0] == 3.25);
    plast_array_free(&back);
    a.ndim = 1, a.shape[0] = 6;
    CHECK(plast_npy_write(at("w2.npy"), &a, err, sizeof err) == 0); /* overwrite */
    check_written_header(at("w2.npy"),
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", 48);
    a.ndim = 2, a.shape[0] = 0, a.shape[1] = 4;
    CHECK(plast_npy_write(at("wempty.npy"), &a, err, sizeof err) == 0);
    remember(at("wempty.npy"));
    CHECK(plast_npy_read(at("wempty.npy"), &back, err, sizeof err) == 0);
    CHECK(back.ndim == 2 && back.shape[0] == 0 && back.shape[1] == 4);
    plast_array_free(&back);
}

static void test_npy_write_i64(void)
{
    double v[3] = {-1099511627776.0, 0, 7}, bad[2] = {1, 1.5};
    plast_array a = {1, {3}, v}, b = {1, {2}, bad}, back;
    char err[512] = "";

    CHECK(plast_npy_write_i64(at("i64.npy"), &a, err, sizeof err) == 0);
    remember(at("i64.npy"));
    check_written_header(at("i64.npy"),
                         "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 24);
    CHECK(plast_npy_read(at("i64.npy"), &back, err, sizeof err) == 0);
    CHECK(back.data && back.data[0] == v[0] && back.data[1] == 0 && back.data[2] == 7);
    plast_array_free(&back);
    CHECK(plast_npy_write_i64(at("i64bad.npy"), &b, err, sizeof err) == -1);
    CHECK_MSG(err, "i64bad.npy: value 1.5 at index 1 is not a 64-bit integer");
    CHECK(fopen(at("i64bad.npy"), "rb") == NULL);
    CHECK(plast_npy_write(at("nodir/x.npy"), &a, err, sizeof err) == -1);
    CHECK_MSG(err, "nodir/x.npy");
    CHECK_MSG(err, strerror(ENOENT));
}

/* ======================================================================== */
/* Data sets from .npy                                                      */
/* ======================================================================== */

/* The .npy pair fixtures: x f4 [4,3], y i8 labels, and broken variants. */
static void put_npy_dataset_fixtures(void)
{
    bytes x = {{0}, 0}, xu = {{0}, 0}, y = {{0}, 0}, yneg = {{0}, 0}, y3 = {{0}, 0};
    bytes yf = {{0}, 0}, xnan = {{0}, 0}, y2 = {{0}, 0};
    static const int64_t labels[4] = {0, 2, 1, 2}, neg[4] = {0, 1, -3, 1};
    unsigned char raw[4] = {200, 3, 0, 255};
    int i;

    for (i = 0; i < 12; i++)
        put_f4(&x, (float)(i * 0.5 - 1));
    for (i = 0; i < 4; i++) {
        put_le(&y, (uint64_t)labels[i], 8), put_le(&yneg, (uint64_t)neg[i], 8);
        put_f8(&yf, (double)labels[i]);
        put_f8(&xnan, i == 2 ? NAN : 1.0);
        if (i < 3)
            put_le(&y3, (uint64_t)labels[i], 8);
    }
    put(&xu, raw, 4);
    put(&y2, raw, 2); /* labels 200, 3 */
    put_npy("x.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", &x);
    put_npy("y.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", &y);
    put_npy("xu.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", &xu);
    put_npy("y2.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", &y2);
    put_npy("yneg.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", &yneg);
    put_npy("y3.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", &y3);
    put_npy("yf.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", &yf);
    put_npy("xnan.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", &xnan);
}

static void test_npy_dataset(void)
{
    plast_dataset d;
    char err[512] = "";

    put_npy_dataset_fixtures();
    CHECK(plast_load_npy_dataset(at("x.npy"), at("y.npy"), &d, err, sizeof err) == 0);
    CHECK(d.n == 4 && d.dim == 3 && d.n_classes == 3 && d.name && !strcmp(d.name, "x.npy"));
    CHECK(d.x && d.x[0] == -1 && d.x[11] == 4.5 && d.label && d.label[1] == 2);
    plast_dataset_free(&d);
    CHECK(plast_load_npy_dataset(at("xu.npy"), at("y2.npy"), &d, err, sizeof err) == 0);
    CHECK(d.x && d.x[0] == 200 && d.x[3] == 255 && d.n_classes == 201); /* raw, unscaled */
    plast_dataset_free(&d);
}

/* Load must fail, leave d zeroed, and say needle (which names the file). */
static void expect_npy_dataset_error(const char *x, const char *y, const char *needle,
                                     int line)
{
    plast_dataset d;
    char err[512] = "";
    int before = failures;

    CHECK(plast_load_npy_dataset(at(x), at(y), &d, err, sizeof err) == -1);
    CHECK(d.x == NULL && d.label == NULL && d.name == NULL);
    if (verbose)
        printf("  %s\n", err);
    CHECK_MSG(err, needle);
    if (failures != before)
        fprintf(stderr, "  (from the case at line %d)\n", line);
}
#define NPY_DATASET_ERROR(x, y, needle) expect_npy_dataset_error(x, y, needle, __LINE__)

static void test_npy_dataset_errors(void)
{
    NPY_DATASET_ERROR("x.npy", "yneg.npy", "yneg.npy: negative label -3 at index 2");
    NPY_DATASET_ERROR("x.npy", "y3.npy", "y3.npy: 3 labels, but ");
    NPY_DATASET_ERROR("x.npy", "y3.npy", "x.npy has 4 rows");
    NPY_DATASET_ERROR("x.npy", "yf.npy", "yf.npy: labels must have an integer dtype");
    NPY_DATASET_ERROR("y.npy", "y.npy", "y.npy: expected a 2-D array");
    NPY_DATASET_ERROR("x.npy", "x.npy", "x.npy: labels must have an integer dtype");
    NPY_DATASET_ERROR("xnan.npy", "y2.npy", "xnan.npy: non-finite value at row 1, column 0");
    NPY_DATASET_ERROR("x.npy", "nolabels.npy", "nolabels.npy: ");
}

/* ======================================================================== */
/* Generated sets and projection                                            */
/* ======================================================================== */

static int same_dataset(const plast_dataset *a, const plast_dataset *b)
{
    return a->n == b->n && a->dim == b->dim && a->n_classes == b->n_classes &&
           !memcmp(a->x, b->x, a->n * a->dim * sizeof *a->x) &&
           !memcmp(a->label, b->label, a->n * sizeof *a->label);
}

static size_t count_label(const plast_dataset *d, int c)
{
    size_t i, n = 0;

    for (i = 0; i < d->n; i++)
        n += d->label[i] == c;
    return n;
}

/* Noise-free moons lie on their half-circles; noise and seed change them. */
static void test_moons(void)
{
    plast_dataset a, b, c;
    size_t i, head0 = 0;
    int on_curve = 1;

    CHECK(plast_gen_moons(101, 0.0, 3, &a) == 0);
    CHECK(a.n == 101 && a.dim == 2 && a.n_classes == 2 && !strcmp(a.name, "moons"));
    CHECK(count_label(&a, 0) == 50 && count_label(&a, 1) == 51);
    for (i = 0; i < a.n; i++) {
        double x = a.x[2 * i], y = a.x[2 * i + 1];

        if (a.label[i] == 0)
            on_curve &= fabs(x * x + y * y - 1) < 1e-12 && y > -1e-12;
        else
            on_curve &= fabs((x - 1) * (x - 1) + (y - 0.5) * (y - 0.5) - 1) < 1e-12 &&
                        y < 0.5 + 1e-12;
        head0 += i < 50 && a.label[i] == 0;
    }
    CHECK(on_curve);
    CHECK(head0 < 50); /* rows are shuffled */
    CHECK(plast_gen_moons(101, 0.0, 3, &b) == 0);
    CHECK(same_dataset(&a, &b));
    plast_dataset_free(&b);
    CHECK(plast_gen_moons(101, 0.1, 3, &b) == 0);
    CHECK(plast_gen_moons(101, 0.1, 4, &c) == 0);
    CHECK(!same_dataset(&b, &c) && !same_dataset(&a, &b));
    plast_dataset_free(&a), plast_dataset_free(&b), plast_dataset_free(&c);
    CHECK(plast_gen_moons(0, 0.1, 3, &a) == -1 && a.x == NULL);
    CHECK(plast_gen_moons(10, -1, 3, &a) == -1 && a.x == NULL);
}

static void test_circles(void)
{
    plast_dataset a;
    size_t i;
    int on_circle = 1;

    CHECK(plast_gen_circles(100, 0.0, 0.5, 8, &a) == 0);
    CHECK(a.n == 100 && a.dim == 2 && a.n_classes == 2);
    CHECK(count_label(&a, 0) == 50 && count_label(&a, 1) == 50);
    for (i = 0; i < a.n; i++) {
        double r = hypot(a.x[2 * i], a.x[2 * i + 1]);

        on_circle &= fabs(r - (a.label[i] == 0 ? 1.0 : 0.5)) < 1e-12;
    }
    CHECK(on_circle);
    plast_dataset_free(&a);
    CHECK(plast_gen_circles(100, 0.0, 1.0, 8, &a) == -1 && a.x == NULL);
    CHECK(plast_gen_circles(100, 0.0, -0.1, 8, &a) == -1);
}

/* Blobs: balanced classes, spread std around centres inside [-10, 10]^2. */
static void test_blobs(void)
{
    plast_dataset a, b;
    int c;

    CHECK(plast_gen_blobs(10, 3, 1.0, 9, &a) == 0);
    CHECK(count_label(&a, 0) == 4 && count_label(&a, 1) == 3 && count_label(&a, 2) == 3);
    plast_dataset_free(&a);
    CHECK(plast_gen_blobs(3000, 3, 0.5, 9, &a) == 0);
    CHECK(a.n_classes == 3 && !strcmp(a.name, "blobs"));
    for (c = 0; c < 3; c++) {
        double m[2] = {0, 0}, v[2] = {0, 0};
        size_t i, n = count_label(&a, c);
        int k;

        CHECK(n == 1000);
        for (i = 0; i < a.n; i++)
            for (k = 0; k < 2 && a.label[i] == c; k++)
                m[k] += a.x[2 * i + k] / n;
        for (i = 0; i < a.n; i++)
            for (k = 0; k < 2 && a.label[i] == c; k++)
                v[k] += (a.x[2 * i + k] - m[k]) * (a.x[2 * i + k] - m[k]) / n;
        for (k = 0; k < 2; k++)
            CHECK(fabs(m[k]) < 10.1 && fabs(sqrt(v[k]) - 0.5) < 0.04);
    }
    CHECK(plast_gen_blobs(3000, 3, 0.5, 9, &b) == 0);
    CHECK(same_dataset(&a, &b));
    plast_dataset_free(&a), plast_dataset_free(&b);
    CHECK(plast_gen_blobs(10, 0, 1.0, 9, &a) == -1 && a.x == NULL);
}

/* x' = x P with P row-major N(0, 1/dim) from the PROJECTION stream. */
static void test_project(void)
{
    plast_dataset a, b;
    plast_rng r = plast_rng_stream(77, 0, PLAST_RNG_PROJECTION);
    double p[2 * 50];
    size_t i, j;
    int ok = 1;

    CHECK(plast_gen_moons(200, 0.05, 1, &a) == 0);
    CHECK(plast_gen_moons(200, 0.05, 1, &b) == 0);
    CHECK(plast_project(&a, 0, 77) == -1 && a.dim == 2);
    CHECK(plast_project(&a, 50, 77) == 0);
    CHECK(a.dim == 50 && a.n == 200);
    for (i = 0; i < 100; i++)
        p[i] = plast_rng_normal(&r) / sqrt(2.0);
    for (i = 0; i < a.n; i++)
        for (j = 0; j < 50; j++)
            ok &= fabs(a.x[i * 50 + j] - (b.x[2 * i] * p[j] + b.x[2 * i + 1] * p[50 + j])) < 1e-12;
    CHECK(ok);
    CHECK(plast_project(&b, 50, 77) == 0);
    CHECK(same_dataset(&a, &b));
    plast_dataset_free(&a), plast_dataset_free(&b);
}

/* ======================================================================== */
/* Fashion-MNIST                                                            */
/* ======================================================================== */

/* PLAST_DATA_DIR, its fashion-mnist/ folder, and the message when absent. */
static void test_find_fashion(void)
{
    bytes img = idx_images(0x00000803, 5, 3, 4), lab = idx_labels(5);
    char buf[1024], sub[512], err[1024] = "";
    plast_dataset d;

    put_gz("train-images-idx3-ubyte.gz", img.p, img.len);
    put_gz("train-labels-idx1-ubyte.gz", lab.p, lab.len);
    snprintf(sub, sizeof sub, "%s/fashion-mnist", tmpdir);
    CHECK(mkdir(sub, 0700) == 0);
    put_file("fashion-mnist/t10k-images-idx3-ubyte", img.p, img.len);
    put_file("fashion-mnist/t10k-labels-idx1-ubyte", lab.p, lab.len);
    setenv("PLAST_DATA_DIR", tmpdir, 1);
    CHECK(plast_find_fashion_mnist(buf, sizeof buf, 0) == buf && !strcmp(buf, tmpdir));
    CHECK(plast_find_fashion_mnist(buf, sizeof buf, 1) == buf && !strcmp(buf, sub));
    CHECK(plast_load_fashion_mnist(1, &d, err, sizeof err) == 0);
    CHECK(d.n == 5 && d.dim == 12 && d.name && !strcmp(d.name, "fashion-mnist/t10k"));
    plast_dataset_free(&d);
    setenv("PLAST_DATA_DIR", sub, 1);
    CHECK(plast_find_fashion_mnist(buf, sizeof buf, 0) == NULL);
    CHECK_MSG(buf, "PLAST_DATA_DIR=");
    CHECK_MSG(buf, "train-images-idx3-ubyte");
    CHECK_MSG(buf, "apt-get install dataset-fashion-mnist");
    CHECK(plast_load_fashion_mnist(0, &d, err, sizeof err) == -1 && d.x == NULL && d.x_u8 == NULL);
    CHECK_MSG(err, "apt-get install dataset-fashion-mnist");
    unsetenv("PLAST_DATA_DIR");
    if (!plast_find_fashion_mnist(buf, sizeof buf, 0)) {
        CHECK_MSG(buf, "/usr/share/datasets/fashion-mnist");
        CHECK_MSG(buf, "apt-get install dataset-fashion-mnist");
    }
}

/* The installed data set, if any: 1 if it was there and checked. */
static int test_real_fashion(void)
{
    plast_dataset d;
    plast_task t;
    char buf[1024], err[1024] = "";
    size_t i;
    int c, in_range = 1;

    if (!plast_find_fashion_mnist(buf, sizeof buf, 0)) {
        printf("test_data: SKIP real Fashion-MNIST: %s\n", buf);
        return 0;
    }
    CHECK(plast_load_fashion_mnist(0, &d, err, sizeof err) == 0);
    if (!d.x_u8) {
        fprintf(stderr, "test_data: %s\n", err);
        CHECK(d.x_u8 != NULL);
        return 1;
    }
    CHECK(d.n == 60000 && d.dim == 784 && d.n_classes == 10 && d.x == NULL);
    double row[784], max = 0;
    for (i = 0; i < d.n; i += 97) {
        plast_dataset_row(&d, i, row);
        for (size_t k = 0; k < 784; k++) {
            in_range &= row[k] >= 0.0 && row[k] <= 1.0;
            if (row[k] > max) max = row[k];
        }
    }
    CHECK(in_range && max == 1.0);
    for (c = 0; c < 10; c++)
        CHECK(count_label(&d, c) == 6000);
    CHECK(plast_task_sample(&d, 5, 50, 10, 1, 0, &t, err, sizeof err) == 0);
    CHECK(t.ways == 5 && t.dim == 784);
    plast_task_free(&t);
    plast_dataset_free(&d);
    CHECK(plast_load_fashion_mnist(1, &d, err, sizeof err) == 0);
    CHECK(d.n == 10000 && d.dim == 784 && d.n_classes == 10);
    plast_dataset_free(&d);
    return 1;
}

/* ======================================================================== */
/* Special files                                                            */
/* ======================================================================== */

/* A FIFO, a directory or a device is refused, named, at once: opening a FIFO
 * for reading (or a FIFO path.tmp for writing) would otherwise wait for the
 * other end forever.  An alarm fails the test instead of hanging the suite. */
static void test_special_files(void)
{
    plast_array a = {0, {2}, (double[]){1, 2}}, r;
    plast_dataset d;
    char err[512] = "", dir[512];

    alarm(20);
    CHECK(mkfifo(at("fifo"), 0600) == 0);
    remember(at("fifo"));
    CHECK(mkdir(at("dir.idx"), 0700) == 0);
    remember(at("dir.idx"));
    IDX_ERROR("fifo", "lab.idx", "fifo: a FIFO, not a regular file", "read whole");
    IDX_ERROR("img.idx", "fifo", "fifo: a FIFO, not a regular file", "read whole");
    IDX_ERROR("dir.idx", "lab.idx", "dir.idx: a directory, not a regular file", "");
    NPY_ERROR("fifo", "fifo: a FIFO, not a regular file");
    NPY_DATASET_ERROR("fifo", "y.npy", "fifo: a FIFO, not a regular file");
    NPY_DATASET_ERROR("x.npy", "fifo", "fifo: a FIFO, not a regular file");
    CHECK(plast_npy_read("/dev/null", &r, err, sizeof err) == -1 && r.data == NULL);
    CHECK_MSG(err, "/dev/null: a character device, not a regular file");
    CHECK(mkfifo(at("out.npy.tmp"), 0600) == 0);
    remember(at("out.npy.tmp"));
    CHECK(plast_npy_write(at("out.npy"), &a, err, sizeof err) == -1);
    CHECK_MSG(err, "out.npy.tmp: a FIFO, not a regular file");
    CHECK(access(at("out.npy"), F_OK) != 0);
    snprintf(dir, sizeof dir, "%s", at("fifo-fashion"));
    CHECK(mkdir(dir, 0700) == 0);
    remember(dir);
    CHECK(mkfifo(at("fifo-fashion/train-images-idx3-ubyte.gz"), 0600) == 0);
    remember(at("fifo-fashion/train-images-idx3-ubyte.gz"));
    put_file("fifo-fashion/train-labels-idx1-ubyte.gz", "x", 1);
    setenv("PLAST_DATA_DIR", dir, 1);
    CHECK(plast_load_fashion_mnist(0, &d, err, sizeof err) == -1 && d.x_u8 == NULL);
    CHECK_MSG(err, "fifo-fashion/train-images-idx3-ubyte.gz: a FIFO, not a regular file");
    unsetenv("PLAST_DATA_DIR");
    alarm(0);
}

static void cleanup(void)
{
    char sub[512];

    while (n_created > 0)
        remove(created[--n_created]);
    snprintf(sub, sizeof sub, "%s/fashion-mnist", tmpdir);
    rmdir(sub);
    if (rmdir(tmpdir) != 0)
        fprintf(stderr, "test_data: could not remove %s\n", tmpdir);
}

int main(void)
{
    const char *env = getenv("PLAST_DATA_DIR");
    char *saved_env = env ? strcpy(malloc(strlen(env) + 1), env) : NULL;
    int real;

    verbose = getenv("PLAST_TEST_VERBOSE") != NULL;
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 99;
    }
    test_idx_valid();
    test_idx_errors();
    test_idx_gzip_damage();
    test_npy_dtypes();
    test_npy_versions();
    test_npy_errors();
    test_npy_write();
    test_npy_write_i64();
    test_npy_dataset();
    test_npy_dataset_errors();
    test_moons();
    test_circles();
    test_blobs();
    test_project();
    test_find_fashion();
    test_special_files();
    cleanup();
    if (saved_env) /* test_find_fashion changed it */
        setenv("PLAST_DATA_DIR", saved_env, 1);
    free(saved_env);
    real = test_real_fashion();
    if (failures) {
        fprintf(stderr, "test_data: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_data: all checks passed%s\n", real ? "" : " (real Fashion-MNIST skipped)");
    return real ? 0 : 77;
}
