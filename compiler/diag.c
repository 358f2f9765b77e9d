/* diag — the source table and the printing of diagnostics.
 * Offsets become line:column only here; columns count bytes from 1, and a tab
 * in the quoted line is kept so the caret line lines up under it. */
#include "config.h"
#include "diag.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

const src_span span_none = { -1, 0, 0 };

static src_file *files;
static int n_files, cap_files;
static int n_errors;
static int error_limit = 50;
static FILE *stream;

static int add_file(char *path, char *text, size_t len)
{
    if (n_files == cap_files) {
        int cap = cap_files ? 2 * cap_files : 8;
        src_file *f = realloc(files, (size_t)cap * sizeof *f);
        if (!f) { free(path); free(text); return -1; }
        files = f;
        cap_files = cap;
    }
    files[n_files].path = path;
    files[n_files].text = text;
    files[n_files].len = len;
    return n_files++;
}

int diag_add_buffer(const char *name, const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    char *path = strdup(name);
    if (!copy || !path) { free(copy); free(path); return -1; }
    memcpy(copy, text, len);
    copy[len] = '\0';
    return add_file(path, copy, len);
}

enum { MAX_SOURCE = 64 << 20 };   /* larger is not a rule file */

/* Regular files only: a fifo, a device or a socket is refused before
 * anything waits on it (plast_open_regular), and at most MAX_SOURCE bytes
 * are read. */
static int load(const char *path)
{
    FILE *f = plast_fopen_regular(path);
    if (!f) return -1;
    struct stat st;
    if (fstat(fileno(f), &st) < 0) { int e = errno; fclose(f); errno = e; return -1; }
    if (st.st_size > MAX_SOURCE) {
        fclose(f);
        errno = EFBIG;
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap) break;
        if (len > MAX_SOURCE) { free(buf); fclose(f); errno = EFBIG; return -1; }
        char *bigger = realloc(buf, 2 * cap + 1);
        if (!bigger) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) { free(buf); errno = failed ? EIO : ENOMEM; return -1; }
    buf[len] = '\0';
    char *p = strdup(path);
    if (!p) { free(buf); return -1; }
    return add_file(p, buf, len);
}

int diag_load_file(const char *path) { return load(path); }

const char *diag_load_strerror(int err)
{
    if (err == ENODEV) return "not a regular file";
    if (err == EFBIG) return "larger than 64 MiB, so not a rule file";
    return strerror(err);
}

const src_file *diag_file(int index)
{
    return index >= 0 && index < n_files ? &files[index] : NULL;
}

int diag_file_count(void) { return n_files; }
int diag_error_count(void) { return n_errors; }
void diag_set_stream(FILE *out) { stream = out; }
void diag_set_error_limit(int limit) { error_limit = limit; }

void diag_reset(void)
{
    for (int i = 0; i < n_files; i++) {
        free(files[i].path);
        free(files[i].text);
    }
    free(files);
    files = NULL;
    n_files = cap_files = 0;
    n_errors = 0;
}

src_span span_join(src_span a, src_span b)
{
    if (a.file < 0) return b;
    if (b.file < 0 || b.file != a.file) return a;
    src_span s = a;
    if (b.begin < s.begin) s.begin = b.begin;
    if (b.end > s.end) s.end = b.end;
    return s;
}

/* Length of the well-formed UTF-8 sequence (2 to 4 bytes) at S, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
             : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (!n || n > avail) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;   /* overlong, surrogate or beyond U+10FFFF */
    return n;
}

/* The bytes from I that print as one column: a well-formed UTF-8 character,
 * else one byte.  A character never crosses BEGIN (the start of the
 * underlined span), so the quoted line and the caret line step alike. */
static size_t char_len(const src_file *f, size_t i, size_t begin, size_t stop)
{
    const unsigned char *s = (const unsigned char *)f->text + i;
    size_t limit = i < begin && begin < stop ? begin : stop;
    size_t n = s[0] >= 0x80 ? utf8_seq(s, limit - i) : 0;
    return n ? n : 1;
}

/* Prints [ls, le) of the source; control bytes and malformed UTF-8 become
 * '?' so that a binary input cannot garble the terminal. */
static void quote_line(FILE *out, const src_file *f, size_t ls, size_t le, size_t begin)
{
    for (size_t i = ls, n; i < le; i += n) {
        unsigned char c = (unsigned char)f->text[i];
        n = char_len(f, i, begin, le);
        if (n > 1) fwrite(f->text + i, 1, n, out);
        else fputc(c == '\t' || (c >= 0x20 && c < 0x7f) ? c : '?', out);
    }
}

/* Under the quoted line: blanks up to BEGIN (tabs stay tabs for alignment),
 * '^' there, '~' under the rest of the span up to STOP. */
static void caret_line(FILE *out, const src_file *f, size_t ls, size_t begin, size_t stop)
{
    size_t i = ls, n;
    for (; i < begin; i += n) {
        n = char_len(f, i, begin, stop > begin ? stop : begin);
        fputc(f->text[i] == '\t' ? '\t' : ' ', out);
    }
    fputc('^', out);
    if (i < stop) i += char_len(f, i, begin, stop);
    for (; i < stop; i += n) {
        n = char_len(f, i, begin, stop);
        fputc('~', out);
    }
    fputc('\n', out);
}

/* Quotes the line holding OFFSET and underlines [begin, end) on that line:
 *    12 |   dw = post.q;
 *       |        ^~~~~~      */
static void print_excerpt(FILE *out, const src_file *f, unsigned begin, unsigned end, int line)
{
    size_t ls = begin;
    while (ls > 0 && f->text[ls - 1] != '\n') ls--;
    size_t le = begin;
    while (le < f->len && f->text[le] != '\n') le++;
    if (le - ls > 512) {   /* a 100 kB line is not worth quoting whole */
        if (begin - ls > 256) ls = begin - 64;
        if (le - ls > 512) le = ls + 512;
    }
    fprintf(out, "%5d | ", line);
    quote_line(out, f, ls, le, begin);
    fputs("\n      | ", out);
    caret_line(out, f, ls, begin, end < le ? end : le);
}

static void vreport(const char *kind, src_span at, const char *fmt, va_list ap)
{
    FILE *out = stream ? stream : stderr;
    const src_file *f = diag_file(at.file);
    if (!f) {
        fprintf(out, "plastcc: %s: ", kind);
        vfprintf(out, fmt, ap);
        fputc('\n', out);
        return;
    }
    unsigned begin = at.begin > f->len ? (unsigned)f->len : at.begin;
    unsigned end = at.end < begin ? begin : at.end;
    int line = 1;
    size_t col = 1;
    for (size_t i = 0; i < begin; i++) {
        if (f->text[i] == '\n') { line++; col = 1; } else col++;
    }
    fprintf(out, "%s:%d:%zu: %s: ", f->path, line, col, kind);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    print_excerpt(out, f, begin, end, line);
}

void diag_error(src_span at, const char *fmt, ...)
{
    n_errors++;
    if (n_errors > error_limit) return;
    va_list ap;
    va_start(ap, fmt);
    vreport("error", at, fmt, ap);
    va_end(ap);
    if (n_errors == error_limit) {
        FILE *out = stream ? stream : stderr;
        fprintf(out, "plastcc: too many errors; stopping here\n");
    }
}

void diag_note(src_span at, const char *fmt, ...)
{
    if (n_errors > error_limit) return;
    va_list ap;
    va_start(ap, fmt);
    vreport("note", at, fmt, ap);
    va_end(ap);
}

void diag_warning(src_span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("warning", at, fmt, ap);
    va_end(ap);
}
