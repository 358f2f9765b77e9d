/* meta_file — DIR/meta-state.txt: the meta-state written whole, and read
 * back only when every line is what a run writes.
 *
 *   plast-meta-state 3
 *   fingerprint N            then N lines: the experiment (plast_train_opts)
 *   episode E                episodes done
 *   adam_steps T             T <= E (a skipped episode takes no step)
 *   lr_factor F              0 < F <= 1: 0.5^(backtracks so far)
 *   previous H PT            H: the state before the last step is kept (1/0)
 *   rules R
 *   rule NAME K              per rule, then K lines:
 *   k theta phi m v scale theta' phi' m' v'   (' : before the last step)
 *
 * Numbers are %.17g (an exact round trip).  Loading names the line of the
 * first thing wrong: a number that is not one, NaN or Inf anywhere, a
 * negative second moment, a scale or factor out of range, an absurd episode
 * count, a rule or size other than the experiment's.  Version 1 (without
 * lr_factor, previous and the primed columns) and 2 (without the
 * fingerprint) still load. */
#include "config.h"
#include "outdir.h"
#include "train_impl.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_EPISODE = 1000000000, MAX_FINGERPRINT_LINES = 10000 };

/* ---- writing ---- */

void meta_file_write_fingerprint(FILE *f, const char *fp)
{
    int n = 0;
    for (const char *p = fp; p && *p; p++) n += *p == '\n' || !p[1];
    fprintf(f, "fingerprint %d\n", n);
    if (n) fprintf(f, "%s%s", fp, fp[strlen(fp) - 1] == '\n' ? "" : "\n");
}

int meta_state_save(const meta_state *S, const plast_net *N, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    plast_file out;
    snprintf(path, sizeof path, "%s/meta-state.txt", dir);
    FILE *f = plast_file_create(&out, path, err, errlen);
    if (!f) return -1;
    fputs("plast-meta-state 3\n", f);
    meta_file_write_fingerprint(f, S->fingerprint);
    fprintf(f, "episode %d\nadam_steps %ld\nlr_factor %.17g\nprevious %d %ld\nrules %d\n", S->episode, S->t,
            S->lr_factor, S->has_prev, S->prev_t, N->n_rules);
    for (int r = 0; r < N->n_rules; r++) {
        fprintf(f, "rule %s %d\n", N->rules[r].name, N->rules[r].n_meta);
        for (int k = 0; k < N->rules[r].n_meta; k++)
            fprintf(f, "%d %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", k, S->theta[r][k], S->phi[r][k],
                    S->m[r][k], S->v[r][k], S->scale[r][k], S->prev_theta[r][k], S->prev_phi[r][k], S->prev_m[r][k],
                    S->prev_v[r][k]);
    }
    return plast_file_commit(&out, err, errlen);
}

/* ---- reading ---- */

int meta_reader_fail(meta_reader *R, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return plast_fail(R->err, R->errlen, "cannot resume: %s:%d: %s", R->path, R->line, what);
}

/* The next line (without its newline); -1 at the end of the file or on a
 * line too long to be one meta-state.txt writes. */
int meta_reader_line(meta_reader *R, const char *expected)
{
    R->line++;
    if (!fgets(R->text, sizeof R->text, R->f)) return meta_reader_fail(R, "the file ends here; expected %s", expected);
    size_t n = strlen(R->text);
    if (n && R->text[n - 1] == '\n') R->text[--n] = '\0';
    else if (!feof(R->f)) return meta_reader_fail(R, "a line longer than %zu characters", sizeof R->text - 2);
    R->at = R->text;
    return 0;
}

/* The next space-separated field of the line, or NULL. */
char *meta_reader_field(meta_reader *R)
{
    char *p = R->at + strspn(R->at, " \t");
    if (!*p) return NULL;
    char *end = p + strcspn(p, " \t");
    R->at = *end ? end + 1 : end;
    *end = '\0';
    return p;
}

int meta_reader_end(meta_reader *R)
{
    char *extra = meta_reader_field(R);
    return extra ? meta_reader_fail(R, "unexpected '%s' at the end of the line", extra) : 0;
}

/* "KEY" then an integer in [lo, hi]. */
int meta_reader_int(meta_reader *R, const char *key, long long lo, long long hi, long long *out)
{
    char *w = meta_reader_field(R), *end;
    if (key && (!w || strcmp(w, key))) return meta_reader_fail(R, "expected '%s', found '%s'", key, w ? w : "");
    if (key) w = meta_reader_field(R);
    errno = 0;
    long long v = w ? strtoll(w, &end, 10) : 0;
    if (!w || *end || errno) return meta_reader_fail(R, "expected an integer%s%s, found '%s'", key ? " after " : "", key ? key : "", w ? w : "");
    if (v < lo || v > hi) return meta_reader_fail(R, "%s %lld is out of range (%lld to %lld)", key ? key : "the value", v, lo, hi);
    *out = v;
    return 0;
}

/* A finite number (WHAT and NAME say which, for the message). */
int meta_reader_real(meta_reader *R, const char *what, const char *name, double *out)
{
    char *w = meta_reader_field(R), *end;
    if (!w) return meta_reader_fail(R, "the line ends before %s of %s", what, name);
    *out = strtod(w, &end);
    if (*end || end == w) return meta_reader_fail(R, "%s of %s is '%s', not a number", what, name, w);
    if (!isfinite(*out)) return meta_reader_fail(R, "%s of %s is %s", what, name, w);
    return 0;
}

/* The first line, "MAGIC VERSION": plast-meta-state (versions 1-3) or, for
 * the joint scheme's state, plast-joint-state (versions 1-2). */
int meta_reader_header(meta_reader *R, const char *magic_wanted, int *version)
{
    long long v;
    if (meta_reader_line(R, "'plast-meta-state VERSION'") < 0) return -1;
    char *magic = meta_reader_field(R);
    if (!magic || strcmp(magic, magic_wanted))
        return meta_reader_fail(R, "not a %s file (it starts with no '%s')",
                    strcmp(magic_wanted, "plast-meta-state") ? "joint-state" : "meta-state", magic_wanted);
    if (meta_reader_int(R, NULL, 1, strcmp(magic_wanted, "plast-meta-state") ? 2 : 3, &v) < 0) return -1;
    if (!strcmp(magic_wanted, "plast-meta-state") && meta_reader_end(R) < 0) return -1;
    *version = (int)v;
    return 0;
}

/* The fingerprint lines into *TEXT (malloc'ed; NULL when TEXT is NULL). */
int meta_reader_fingerprint(meta_reader *R, char **text)
{
    long long n;
    if (meta_reader_line(R, "'fingerprint N'") < 0 || meta_reader_int(R, "fingerprint", 0, MAX_FINGERPRINT_LINES, &n) < 0 ||
        meta_reader_end(R) < 0)
        return -1;
    size_t len = 0, cap = 1;
    char *buf = text ? malloc(cap) : NULL;
    for (long long i = 0; i < n; i++) {
        if (meta_reader_line(R, "a line of the fingerprint") < 0) { free(buf); return -1; }
        size_t k = strlen(R->text);
        char *bigger = text ? realloc(buf, cap += k + 1) : NULL;
        if (text && !bigger) { free(buf); return meta_reader_fail(R, "out of memory for the fingerprint"); }
        if (text) { buf = bigger; memcpy(buf + len, R->text, k); len += k; buf[len++] = '\n'; }
    }
    if (text) { buf[len] = '\0'; *text = buf; }
    return 0;
}

int meta_reader_lr_factor(meta_reader *R, double *f)
{
    char *key = meta_reader_field(R);
    if (!key || strcmp(key, "lr_factor")) return meta_reader_fail(R, "expected 'lr_factor', found '%s'", key ? key : "");
    if (meta_reader_real(R, "the value", "lr_factor", f) < 0) return -1;
    if (!(*f > 0 && *f <= 1)) return meta_reader_fail(R, "lr_factor %g is out of range (0 < F <= 1)", *f);
    return 0;
}

/* episode, adam_steps, and (version 2 on) lr_factor and previous */
static int read_counters(meta_reader *R, meta_state *S, int version)
{
    long long e, t, h = 0, pt = 0;
    if (meta_reader_line(R, "'episode E'") < 0 || meta_reader_int(R, "episode", 0, MAX_EPISODE, &e) < 0 || meta_reader_end(R) < 0) return -1;
    if (meta_reader_line(R, "'adam_steps T'") < 0 || meta_reader_int(R, "adam_steps", 0, e, &t) < 0 || meta_reader_end(R) < 0) return -1;
    S->episode = (int)e;
    S->t = (long)t;
    if (version < 2) return 0;
    if (meta_reader_line(R, "'lr_factor F'") < 0 || meta_reader_lr_factor(R, &S->lr_factor) < 0 || meta_reader_end(R) < 0)
        return -1;
    if (meta_reader_line(R, "'previous H T'") < 0 || meta_reader_int(R, "previous", 0, 1, &h) < 0 || meta_reader_int(R, NULL, 0, t, &pt) < 0 ||
        meta_reader_end(R) < 0)
        return -1;
    S->has_prev = (int)h;
    S->prev_t = (long)pt;
    return 0;
}

/* theta phi m v scale: finite, v >= 0, scale > 0 */
int meta_reader_entry(meta_reader *R, double *theta, double *phi, double *m, double *v, double *scale, const char *name,
                      int with_scale)
{
    if (meta_reader_real(R, "theta", name, theta) < 0 || meta_reader_real(R, "phi", name, phi) < 0 ||
        meta_reader_real(R, "the Adam first moment", name, m) < 0 || meta_reader_real(R, "the Adam second moment", name, v) < 0 ||
        (with_scale && meta_reader_real(R, "the scale", name, scale) < 0))
        return -1;
    if (*v < 0) return meta_reader_fail(R, "the Adam second moment of %s is %g; expected a value >= 0", name, *v);
    if (with_scale && !(*scale > 0)) return meta_reader_fail(R, "the scale of %s is %g; expected a value > 0", name, *scale);
    return 0;
}

static int read_rule(meta_reader *R, meta_state *S, const plast_rule *rule, int r, int version)
{
    long long n;
    if (meta_reader_line(R, "'rule NAME K'") < 0) return -1;
    char *key = meta_reader_field(R), *name = meta_reader_field(R);
    if (!key || strcmp(key, "rule") || !name) return meta_reader_fail(R, "expected 'rule NAME K'");
    if (strcmp(name, rule->name)) return meta_reader_fail(R, "rule %s, but the experiment's rule %d is %s", name, r + 1, rule->name);
    if (meta_reader_int(R, NULL, 0, 1 << 30, &n) < 0 || meta_reader_end(R) < 0) return -1;
    if (n != rule->n_meta)
        return meta_reader_fail(R, "rule %s has %lld meta-parameters here, but %d in the experiment", name, n, rule->n_meta);
    for (int k = 0; k < rule->n_meta; k++) {
        long long idx;
        const char *mn = rule->meta_name ? rule->meta_name[k] : rule->name;
        if (meta_reader_line(R, "a meta-parameter's line") < 0 || meta_reader_int(R, NULL, k, k, &idx) < 0 ||
            meta_reader_entry(R, &S->theta[r][k], &S->phi[r][k], &S->m[r][k], &S->v[r][k], &S->scale[r][k], mn, 1) < 0 ||
            (version >= 2 && meta_reader_entry(R, &S->prev_theta[r][k], &S->prev_phi[r][k], &S->prev_m[r][k],
                                        &S->prev_v[r][k], NULL, mn, 0) < 0) ||
            meta_reader_end(R) < 0)
            return -1;
    }
    return 0;
}

static int read_state(meta_reader *R, meta_state *S, const plast_net *N)
{
    int version;
    long long n_rules;
    if (meta_reader_header(R, "plast-meta-state", &version) < 0 || (version >= 3 && meta_reader_fingerprint(R, NULL) < 0) ||
        read_counters(R, S, version) < 0)
        return -1;
    if (meta_reader_line(R, "'rules R'") < 0 || meta_reader_int(R, "rules", 0, PLAST_MAX_LAYERS, &n_rules) < 0 || meta_reader_end(R) < 0)
        return -1;
    if (n_rules != N->n_rules) return meta_reader_fail(R, "%lld rules, but the experiment has %d", n_rules, N->n_rules);
    for (int r = 0; r < N->n_rules; r++)
        if (read_rule(R, S, &N->rules[r], r, version) < 0) return -1;
    R->line++;
    if (fgets(R->text, sizeof R->text, R->f) && R->text[strspn(R->text, " \t\n")])
        return meta_reader_fail(R, "unexpected text after the last rule");
    return 0;
}

int meta_reader_open(meta_reader *R, const char *dir, const char *name, char *path, size_t len, char *err, size_t errlen)
{
    memset(R, 0, sizeof *R);
    snprintf(path, len, "%s/%s", dir, name);
    R->path = path;
    R->err = err;
    R->errlen = errlen;
    R->f = plast_fopen_regular(path);
    if (!R->f) return plast_fail(err, errlen, "cannot resume: %s: %s", path, plast_open_strerror(errno));
    return 0;
}

int meta_state_load(meta_state *S, const plast_net *N, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    meta_reader R;
    if (meta_reader_open(&R, dir, "meta-state.txt", path, sizeof path, err, errlen) < 0) return -1;
    int rc = read_state(&R, S, N);
    fclose(R.f);
    return rc;
}

int plast_meta_state_fingerprint(const char *dir, char **text, char *err, size_t errlen)
{
    char path[4096];
    meta_reader R;
    int version;
    *text = NULL;
    /* a run of the joint scheme keeps its state in joint-state.txt */
    char joint[4096];
    snprintf(joint, sizeof joint, "%s/joint-state.txt", dir);
    snprintf(path, sizeof path, "%s/meta-state.txt", dir);
    int is_joint = access(path, F_OK) != 0 && access(joint, F_OK) == 0;
    if (meta_reader_open(&R, dir, is_joint ? "joint-state.txt" : "meta-state.txt", path, sizeof path, err, errlen) < 0)
        return -1;
    int rc = meta_reader_header(&R, is_joint ? "plast-joint-state" : "plast-meta-state", &version);
    if (rc == 0 && version >= (is_joint ? 2 : 3)) rc = meta_reader_fingerprint(&R, text);
    fclose(R.f);
    return rc;
}
