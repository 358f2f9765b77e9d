/* train_log — log.csv (one row per episode) and the progress line. */
#include "config.h"
#include "train_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void header(train_log *L, const plast_net *N)
{
    fputs("episode,meta_loss,meta_accuracy,grad_norm,clipped,lr,seconds", L->f);
    for (int c = 0; c < L->n_cols; c++) {
        const plast_rule *R = &N->rules[L->col_rule[c]];
        if (N->n_rules > 1) fprintf(L->f, ",%s.%s", R->name, R->meta_name[L->col_k[c]]);
        else fprintf(L->f, ",%s", R->meta_name[L->col_k[c]]);
    }
    for (int l = 0; L->alignment && l < L->n_layers; l++) fprintf(L->f, ",alpha_%d", l);
    for (int l = 1; L->orthonormality && l < L->n_layers; l++) fprintf(L->f, ",orth_%d", l);
    fputc('\n', L->f);
}

/* Keeps the header and the rows of episodes before FIRST (a killed run may
 * have logged episodes after its last saved meta-state). */
static int truncate_rows(const char *path, int first, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "cannot resume: %s: %s", path, strerror(errno)); return -1; }
    char line[65536];
    long keep = 0;
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strchr(line, '\n')) break;                  /* a row cut off by a kill */
        if (lineno++ > 0 && atoi(line) >= first) break;  /* logged after the saved state */
        keep = ftell(f);
    }
    fclose(f);
    if (truncate(path, keep) != 0) { snprintf(err, errlen, "cannot resume: %s: %s", path, strerror(errno)); return -1; }
    return 0;
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
    char path[4096];
    snprintf(path, sizeof path, "%s/log.csv", o->out_dir);
    if (o->resume && truncate_rows(path, first, err, errlen) < 0) return -1;
    L->f = fopen(path, o->resume ? "a" : "w");
    if (!L->f) { snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)); return -1; }
    if (!o->resume) header(L, N);
    fflush(L->f);
    return 0;
}

void train_log_row(train_log *L, const meta_state *S, int e, double loss, double acc, double grad_norm,
                   int clipped, double lr, double seconds, const double *diag)
{
    if (!L->f) return;
    fprintf(L->f, "%d,%.10g,%.6g,%.6g,%d,%.6g,%.4f", e, loss, acc, grad_norm, clipped, lr, seconds);
    for (int c = 0; c < L->n_cols; c++) fprintf(L->f, ",%.10g", S->theta[L->col_rule[c]][L->col_k[c]]);
    for (int l = 0; L->alignment && l < L->n_layers; l++) fprintf(L->f, ",%.6g", diag[l]);
    for (int l = 1; L->orthonormality && l < L->n_layers; l++) fprintf(L->f, ",%.6g", diag[L->n_layers + l - 1]);
    fputc('\n', L->f);
    fflush(L->f);
}

void train_log_skip(train_log *L, int e, const char *why)
{
    fprintf(stderr, "plastcc: episode %d skipped: %s\n", e, why);
    (void)L;
}

void train_log_close(train_log *L)
{
    if (L->f) fclose(L->f);
    L->f = NULL;
}

static void format_duration(char *buf, size_t len, double s)
{
    if (!isfinite(s) || s < 0) snprintf(buf, len, "--");
    else if (s < 60) snprintf(buf, len, "%.0fs", s);
    else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

static double last_plain;

void train_progress(const plast_train_opts *o, int done, int todo, int episode, int total, double loss, double acc,
                    double elapsed)
{
    if (o->quiet) return;
    int tty = isatty(STDERR_FILENO);
    if (!tty && elapsed - last_plain < 5 && episode < total) return;
    last_plain = elapsed;
    double rate = done / (elapsed > 1e-9 ? elapsed : 1e-9);
    char eta[32];
    format_duration(eta, sizeof eta, (todo - done) / rate);
    fprintf(stderr, "%sepisode %d/%d  meta-loss %.4f  meta-accuracy %.3f  %.2f ep/s  ETA %s%s",
            tty ? "\r\033[K" : "", episode, total, loss, acc, rate, eta, tty ? "" : "\n");
    fflush(stderr);
}

void train_progress_end(const plast_train_opts *o)
{
    if (!o->quiet && isatty(STDERR_FILENO)) fputc('\n', stderr);
    last_plain = 0;
}
