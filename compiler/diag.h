/* diag — source files and compiler diagnostics.
 *
 * Every token and AST node keeps a span of byte offsets into one loaded source
 * file; line and column are computed only when a message is printed, as
 *     file:line:col: error: message
 *       12 |   dw = post.q * pre.y;
 *          |        ^~~~~~
 * Errors are counted; passes after the front end run only when the count is 0.
 */
#ifndef PLAST_DIAG_H
#define PLAST_DIAG_H

#include <stddef.h>
#include <stdio.h>

typedef struct src_span {
    int file;          /* index into the source table, -1 for "no location" */
    unsigned begin;    /* byte offset of the first character */
    unsigned end;      /* byte offset one past the last character */
} src_span;

typedef struct src_file {
    char *path;        /* as given or as resolved relative to the importer */
    char *text;        /* whole file, NUL-terminated (embedded NULs are kept) */
    size_t len;
} src_file;

/* Loads PATH into the source table; returns its index or -1 (errno set).
 * Regular files only (a directory, device or fifo is refused without
 * waiting on it), of at most 64 MiB. */
int diag_load_file(const char *path);
/* strerror for diag_load_file's errno ("not a regular file" for devices). */
const char *diag_load_strerror(int err);
/* Registers an in-memory buffer (the fuzzer, tests); returns its index. */
int diag_add_buffer(const char *name, const char *text, size_t len);
const src_file *diag_file(int index);
int diag_file_count(void);

void diag_error(src_span at, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void diag_note(src_span at, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void diag_warning(src_span at, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int diag_error_count(void);
/* Where messages go (stderr by default; the fuzzer sends them to /dev/null). */
void diag_set_stream(FILE *out);
/* Stop printing after this many errors (one file of garbage stays readable). */
void diag_set_error_limit(int limit);
/* Frees the source table and resets counters (the fuzzer runs many inputs). */
void diag_reset(void);

src_span span_join(src_span a, src_span b);
extern const src_span span_none;

#endif
