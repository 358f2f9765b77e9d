/* train_log — log.csv (one row per episode, each written with one write:
 * whole, or cut back when the disk is full) and the progress line. */
#include "config.h"
#include "outdir.h"
#include "train_impl.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Appends printf output to BUF[*LEN..CAP); the overflow is caught by the caller. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (*len < cap) *len += (size_t)vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
}

static void header(const train_log *L, const plast_net *N, FILE *f)
{
    fputs("episode,meta_loss,meta_accuracy,grad_norm,clipped,lr,seconds", f);
    for (int c = 0; c < L->n_cols; c++) {
        const plast_rule *R = &N->rules[L->col_rule[c]];
        if (N->n_rules > 1) fprintf(f, ",%s.%s", R->name, R->meta_name[L->col_k[c]]);
        else fprintf(f, ",%s", R->meta_name[L->col_k[c]]);
    }
    for (int l = 0; L->alignment && l < L->n_layers; l++) fprintf(f, ",alpha_%d", l);
    for (int l = 1; L->orthonormality && l < L->n_layers; l++) fprintf(f, ",orth_%d", l);
    fputc('\n', f);
}

/* Keeps the header and the rows of episodes before FIRST (a killed run may
 * have logged episodes after its last saved meta-state, or cut a row). */
static int truncate_rows(const char *path, int first, char *err, size_t errlen)
{
    FILE *f = plast_fopen_regular(path);
    if (!f) return plast_fail(err, errlen, "cannot resume: %s: %s", path, plast_open_strerror(errno));
    char line[65536];
    long keep = 0;
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strchr(line, '\n')) break;                  /* a row cut off by a kill */
        if (lineno++ > 0 && atoi(line) >= first) break;  /* logged after the saved state */
        keep = ftell(f);
    }
    fclose(f);
    if (truncate(path, keep) != 0) return plast_fail(err, errlen, "cannot resume: %s: %s", path, strerror(errno));
    return 0;
}

/* A fresh log.csv: the header, written whole. */
static int create_log(const train_log *L, const plast_net *N, char *err, size_t errlen)
{
    plast_file out;
    FILE *f = plast_file_create(&out, L->path, err, errlen);
    if (!f) return -1;
    header(L, N, f);
    return plast_file_commit(&out, err, errlen);
}

int train_log_open(train_log *L, const plast_net *N, const plast_train_opts *o, int first, char *err, size_t errlen)
{
    memset(L, 0, sizeof *L);
    L->n_layers = N->n_layers;
    L->alignment = o->diag_alignment;
    L->orthonormality = o->diag_orthonormality;
    /* every meta-parameter that is not an mlp weight, up to 256 columns */
    for (int r = 0; r < N->n_rules; r++)
        for (int k = 0; k < N->rules[r].n_meta && L->n_cols < 256; k++) {
            if (strchr(N->rules[r].meta_name[k], '.')) continue;
            L->col_rule[L->n_cols] = r;
            L->col_k[L->n_cols++] = k;
        }
    if (!o->out_dir) return 0;
    snprintf(L->path, sizeof L->path, "%s/log.csv", o->out_dir);
    if (o->resume ? truncate_rows(L->path, first, err, errlen) : create_log(L, N, err, errlen)) return -1;
    L->fd = open(L->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (L->fd < 0) return plast_fail(err, errlen, "cannot write %s: %s", L->path, strerror(errno));
    L->is_open = 1;
    return 0;
}

int train_log_row(train_log *L, const meta_state *S, int e, double loss, double acc, double grad_norm,
                  int clipped, double lr, double seconds, const double *diag, char *err, size_t errlen)
{
    if (!L->is_open) return 0;
    char row[32768];
    size_t n = 0;
    put(row, sizeof row, &n, "%d,%.10g,%.6g,%.6g,%d,%.6g,%.4f", e, loss, acc, grad_norm, clipped, lr, seconds);
    for (int c = 0; c < L->n_cols; c++) put(row, sizeof row, &n, ",%.10g", S->theta[L->col_rule[c]][L->col_k[c]]);
    for (int l = 0; L->alignment && l < L->n_layers; l++) put(row, sizeof row, &n, ",%.6g", diag[l]);
    for (int l = 1; L->orthonormality && l < L->n_layers; l++) put(row, sizeof row, &n, ",%.6g", diag[L->n_layers + l - 1]);
    put(row, sizeof row, &n, "\n");
    if (n >= sizeof row) return plast_fail(err, errlen, "cannot write %s: a row longer than %zu bytes", L->path, sizeof row);
    if (plast_append_all(L->fd, row, n) < 0)
        return plast_fail(err, errlen, "cannot write %s: %s", L->path, strerror(errno));
    return 0;
}

void train_log_skip(train_log *L, int e, const char *why)
{
    fprintf(stderr, "plastcc: episode %d skipped: %s\n", e, why);
    (void)L;
}

void train_log_close(train_log *L)
{
    if (L->is_open) close(L->fd);
    L->is_open = 0;
}

static void format_duration(char *buf, size_t len, double s)
{
    if (!isfinite(s) || s < 0) snprintf(buf, len, "--");
    else if (s < 60) snprintf(buf, len, "%.0fs", s);
    else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

static double last_plain;

void train_progress(const plast_train_opts *o, const char *unit, int done, int todo, int item, int total, double loss,
                    double acc, double elapsed)
{
    if (o->quiet) return;
    int tty = isatty(STDERR_FILENO);
    if (!tty && elapsed - last_plain < 5 && item < total) return;
    last_plain = elapsed;
    double rate = done / (elapsed > 1e-9 ? elapsed : 1e-9);
    char eta[32];
    format_duration(eta, sizeof eta, (todo - done) / rate);
    int ep = !strcmp(unit, "episode");
    fprintf(stderr, "%s%s %d/%d  %s %.4f  %s %.3f  %.2f %s/s  ETA %s%s", tty ? "\r\033[K" : "", unit, item, total,
            ep ? "meta-loss" : "loss", loss, ep ? "meta-accuracy" : "accuracy", acc, rate, ep ? "ep" : unit, eta,
            tty ? "" : "\n");
    fflush(stderr);
}

void train_progress_end(const plast_train_opts *o)
{
    if (!o->quiet && isatty(STDERR_FILENO)) fputc('\n', stderr);
    last_plain = 0;
}
