/* joint_state — the joint trainer's learner, its file form, and its logs.
 *
 * DIR/joint-state.txt (version 2), everything a resumed run needs, exact
 * (%.17g round-trips a double):
 *   plast-joint-state 2
 *   fingerprint N, then N lines: the experiment (version 1 has none)
 *   batches B                        minibatches done
 *   learner_adam_steps T  lr_factor F  meta_adam_steps T'
 *   rules R, then per rule: "rule NAME N" and N lines "k theta phi m v scale"
 *   buffers K, then per STATE, PARAM or CONST buffer: "buffer NAME N" and N
 *   lines "value m v" (CONST: m, v 0: fixed matrices are kept, not trained)
 * written to joint-state.txt.tmp and renamed, so a kill leaves the old state
 * or the new one.  The data order and the labels are functions of the seed
 * and the minibatch count, so they are not saved.  Loading (with
 * meta_file.c's reader) names the line of the first thing wrong: a number
 * that is not one, NaN or Inf, a negative second moment, a scale or factor
 * out of range, step counts beyond the minibatches, a rule or buffer other
 * than the experiment's; a resume refused so changes nothing.
 */
#include "config.h"
#include "joint_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t learner_size(const plast_net *N, int b)
{
    const plast_buf *B = &N->sched.buf[b];
    if (B->kind != PLAST_BUF_STATE && B->kind != PLAST_BUF_PARAM && B->kind != PLAST_BUF_CONST) return 0;
    return (size_t)B->rows * (size_t)B->cols;
}

int learner_alloc(learner *L, const plast_net *N)
{
    int nb = N->sched.n_buf;
    memset(L, 0, sizeof *L);
    L->val = calloc((size_t)nb + 1, sizeof *L->val);
    L->m = calloc((size_t)nb + 1, sizeof *L->m);
    L->v = calloc((size_t)nb + 1, sizeof *L->v);
    int ok = L->val && L->m && L->v;
    for (int b = 0; ok && b < nb; b++) {
        size_t n = learner_size(N, b);
        if (!n) continue;
        L->val[b] = calloc(n, sizeof(double));
        L->m[b] = calloc(n, sizeof(double));
        L->v[b] = calloc(n, sizeof(double));
        ok = L->val[b] && L->m[b] && L->v[b];
    }
    if (!ok) learner_free(L, N);
    return ok ? 0 : -1;
}

void learner_free(learner *L, const plast_net *N)
{
    for (int b = 0; b < N->sched.n_buf; b++) {
        if (L->val) free(L->val[b]);
        if (L->m) free(L->m[b]);
        if (L->v) free(L->v[b]);
    }
    free(L->val); free(L->m); free(L->v);
    memset(L, 0, sizeof *L);
}

void learner_copy(learner *dst, const learner *src, const plast_net *N)
{
    for (int b = 0; b < N->sched.n_buf; b++) {
        size_t n = learner_size(N, b) * sizeof(double);
        if (!n) continue;
        memcpy(dst->val[b], src->val[b], n);
        memcpy(dst->m[b], src->m[b], n);
        memcpy(dst->v[b], src->v[b], n);
    }
    dst->t = src->t;
}

/* ---- joint-state.txt ---- */

static void write_state(FILE *f, const learner *L, const meta_state *S, const plast_net *N, long batches)
{
    fputs("plast-joint-state 2\n", f);
    meta_file_write_fingerprint(f, S->fingerprint);
    fprintf(f, "batches %ld\nlearner_adam_steps %ld lr_factor %.17g meta_adam_steps %ld\n",
            batches, L->t, S->lr_factor, S->t);
    fprintf(f, "rules %d\n", N->n_rules);
    for (int r = 0; r < N->n_rules; r++) {
        fprintf(f, "rule %s %d\n", N->rules[r].name, N->rules[r].n_meta);
        for (int k = 0; k < N->rules[r].n_meta; k++)
            fprintf(f, "%d %.17g %.17g %.17g %.17g %.17g\n", k, S->theta[r][k], S->phi[r][k], S->m[r][k], S->v[r][k],
                    S->scale[r][k]);
    }
    int held = 0;
    for (int b = 0; b < N->sched.n_buf; b++) held += learner_size(N, b) > 0;
    fprintf(f, "buffers %d\n", held);
    for (int b = 0; b < N->sched.n_buf; b++) {
        size_t n = learner_size(N, b);
        if (!n) continue;
        fprintf(f, "buffer %s %zu\n", N->sched.buf[b].name, n);
        for (size_t k = 0; k < n; k++) fprintf(f, "%.17g %.17g %.17g\n", L->val[b][k], L->m[b][k], L->v[b][k]);
    }
}

int joint_state_save(const learner *L, const meta_state *S, const plast_net *N, long batches, const char *dir,
                     char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/joint-state.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) { snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno)); return -1; }
    write_state(f, L, S, N, batches);
    int bad = ferror(f);
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* "rules R", then per rule "rule NAME N" and N lines "k theta phi m v scale" */
static int read_rules(meta_reader *R, meta_state *S, const plast_net *N)
{
    long long n;
    if (meta_reader_line(R, "'rules R'") < 0 || meta_reader_int(R, "rules", 0, PLAST_MAX_LAYERS, &n) < 0 ||
        meta_reader_end(R) < 0)
        return -1;
    if (n != N->n_rules) return meta_reader_fail(R, "%lld rules, but the experiment has %d", n, N->n_rules);
    for (int r = 0; r < N->n_rules; r++) {
        const plast_rule *rule = &N->rules[r];
        char *key, *name;
        if (meta_reader_line(R, "'rule NAME N'") < 0) return -1;
        if (!(key = meta_reader_field(R)) || strcmp(key, "rule") || !(name = meta_reader_field(R)))
            return meta_reader_fail(R, "expected 'rule NAME N'");
        if (strcmp(name, rule->name))
            return meta_reader_fail(R, "rule %s, but the experiment's rule %d is %s", name, r + 1, rule->name);
        if (meta_reader_int(R, NULL, rule->n_meta, rule->n_meta, &n) < 0 || meta_reader_end(R) < 0) return -1;
        for (int k = 0; k < rule->n_meta; k++) {
            long long idx;
            const char *mn = rule->meta_name ? rule->meta_name[k] : rule->name;
            if (meta_reader_line(R, "a meta-parameter's line") < 0 || meta_reader_int(R, NULL, k, k, &idx) < 0 ||
                meta_reader_entry(R, &S->theta[r][k], &S->phi[r][k], &S->m[r][k], &S->v[r][k], &S->scale[r][k], mn,
                                  1) < 0 ||
                meta_reader_end(R) < 0)
                return -1;
        }
    }
    return 0;
}

/* "value m v" of element K of buffer NAME: finite, v >= 0 */
static int read_element(meta_reader *R, const char *name, size_t k, double *val, double *m, double *v)
{
    char what[300];
    snprintf(what, sizeof what, "%s[%zu]", name, k);
    if (meta_reader_line(R, "a learner value's line") < 0 || meta_reader_real(R, "the value", what, val) < 0 ||
        meta_reader_real(R, "the Adam first moment", what, m) < 0 ||
        meta_reader_real(R, "the Adam second moment", what, v) < 0 || meta_reader_end(R) < 0)
        return -1;
    return *v < 0 ? meta_reader_fail(R, "the Adam second moment of %s is %g; expected a value >= 0", what, *v) : 0;
}

/* "buffers K", then per buffer the learner holds "buffer NAME N" and its N elements */
static int read_buffers(meta_reader *R, learner *L, const plast_net *N)
{
    long long held = 0, n;
    for (int b = 0; b < N->sched.n_buf; b++) held += learner_size(N, b) > 0;
    if (meta_reader_line(R, "'buffers K'") < 0 || meta_reader_int(R, "buffers", held, held, &n) < 0 ||
        meta_reader_end(R) < 0)
        return -1;
    for (int b = 0; b < N->sched.n_buf; b++) {
        size_t size = learner_size(N, b);
        const char *want = N->sched.buf[b].name;
        char *key, *name;
        if (!size) continue;
        if (meta_reader_line(R, "'buffer NAME N'") < 0) return -1;
        if (!(key = meta_reader_field(R)) || strcmp(key, "buffer") || !(name = meta_reader_field(R)))
            return meta_reader_fail(R, "expected 'buffer NAME N'");
        if (strcmp(name, want)) return meta_reader_fail(R, "buffer %s, but the learner's next buffer is %s", name, want);
        if (meta_reader_int(R, NULL, (long long)size, (long long)size, &n) < 0 || meta_reader_end(R) < 0) return -1;
        for (size_t k = 0; k < size; k++)
            if (read_element(R, want, k, &L->val[b][k], &L->m[b][k], &L->v[b][k]) < 0) return -1;
    }
    return 0;
}

/* "batches B" and "learner_adam_steps T lr_factor F meta_adam_steps T'" (T, T' <= B) */
static int read_counts(meta_reader *R, learner *L, meta_state *S, long *batches)
{
    long long b, lt, mt;
    if (meta_reader_line(R, "'batches B'") < 0 || meta_reader_int(R, "batches", 0, 1000000000, &b) < 0 ||
        meta_reader_end(R) < 0)
        return -1;
    if (meta_reader_line(R, "'learner_adam_steps T lr_factor F meta_adam_steps T'") < 0 ||
        meta_reader_int(R, "learner_adam_steps", 0, b, &lt) < 0 || meta_reader_lr_factor(R, &S->lr_factor) < 0 ||
        meta_reader_int(R, "meta_adam_steps", 0, b, &mt) < 0 || meta_reader_end(R) < 0)
        return -1;
    *batches = (long)b;
    L->t = (long)lt;
    S->t = (long)mt;
    return 0;
}

int joint_state_load(learner *L, meta_state *S, const plast_net *N, long *batches, const char *dir, char *err,
                     size_t errlen)
{
    char path[4096];
    meta_reader R;
    int version;
    long done = 0;   /* *batches is left alone unless the whole file is good */
    if (meta_reader_open(&R, dir, "joint-state.txt", path, sizeof path, err, errlen) < 0) return -1;
    int rc = meta_reader_header(&R, "plast-joint-state", &version) < 0 ||
             (version >= 2 && meta_reader_fingerprint(&R, NULL) < 0) || read_counts(&R, L, S, &done) < 0 ||
             read_rules(&R, S, N) < 0 || read_buffers(&R, L, N) < 0 ? -1 : 0;
    R.line++;
    if (rc == 0 && fgets(R.text, sizeof R.text, R.f) && R.text[strspn(R.text, " \t\n")])
        rc = meta_reader_fail(&R, "unexpected text after the last buffer");
    fclose(R.f);
    if (rc < 0) return -1;
    *batches = done;
    S->episode = (int)done;
    S->has_prev = 0;
    return 0;
}

/* ---- the logs ---- */

/* Keeps the header and the rows before minibatch count FIRST (a killed run
 * may have logged minibatches after its last saved state, or cut a row). */
static FILE *reopen_cut(const char *path, long first, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r+");
    if (!f) { snprintf(err, errlen, "cannot resume: %s: %s", path, strerror(errno)); return NULL; }
    char line[65536];
    long keep = 0;
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strchr(line, '\n')) break;
        if (lineno++ > 0 && atol(line) >= first) break;
        keep = ftell(f);
    }
    if (ftruncate(fileno(f), keep) != 0 || fseek(f, keep, SEEK_SET) != 0) {
        snprintf(err, errlen, "cannot resume: %s: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    return f;
}

static FILE *open_log(const char *dir, const char *name, const char *header, int resume, long first, char *err,
                      size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (resume) return reopen_cut(path, first, err, errlen);
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)); return NULL; }
    fputs(header, f);
    return f;
}

int joint_log_open(joint_log *J, const plast_net *N, const char *dir, int resume, long first, char *err,
                   size_t errlen)
{
    memset(J, 0, sizeof *J);
    for (int r = 0; r < N->n_rules; r++)
        for (int k = 0; k < N->rules[r].n_meta && J->n_cols < 256; k++) {
            if (strchr(N->rules[r].meta_name[k], '.')) continue;   /* an mlp weight */
            J->col_rule[J->n_cols] = r;
            J->col_k[J->n_cols++] = k;
        }
    if (!dir) return 0;
    snprintf(J->dir, sizeof J->dir, "%s", dir);
    char header[16384];
    int n = snprintf(header, sizeof header, "batch,epoch,samples,loss,accuracy,grad_norm,learner_grad_norm,clipped,lr,seconds");
    for (int c = 0; c < J->n_cols && n < (int)sizeof header - 256; c++) {
        const plast_rule *R = &N->rules[J->col_rule[c]];
        n += snprintf(header + n, sizeof header - (size_t)n, N->n_rules > 1 ? ",%s.%s" : ",%.0s%s", R->name,
                      R->meta_name[J->col_k[c]]);
    }
    snprintf(header + n, sizeof header - (size_t)n, "\n");
    /* both count minibatches done: the rows up to FIRST were logged before the state was saved */
    J->batches = open_log(dir, "log.csv", header, resume, first + 1, err, errlen);
    J->tests = J->batches ? open_log(dir, "test.csv", "batch,samples,test_loss,test_accuracy\n", resume, first + 1,
                                     err, errlen) : NULL;
    if (J->batches && J->tests) return 0;
    joint_log_close(J);
    return -1;
}

/* The row just written reached the file (flushed: a kill loses no row). */
static int row_written(const joint_log *J, FILE *f, const char *name, char *err, size_t errlen)
{
    if (fflush(f) == 0 && !ferror(f)) return 0;
    snprintf(err, errlen, "cannot write %s/%s: %s", J->dir, name, strerror(errno));
    return -1;
}

int joint_log_batch(joint_log *J, const meta_state *S, const joint_row *r, char *err, size_t errlen)
{
    if (!J->batches) return 0;
    fprintf(J->batches, "%ld,%d,%ld,%.10g,%.6g,%.6g,%.6g,%d,%.6g,%.4f", r->batch, r->epoch, r->samples, r->loss,
            r->accuracy, r->grad_norm, r->learner_grad_norm, r->clipped, r->lr, r->seconds);
    for (int c = 0; c < J->n_cols; c++) fprintf(J->batches, ",%.10g", S->theta[J->col_rule[c]][J->col_k[c]]);
    fputc('\n', J->batches);
    return row_written(J, J->batches, "log.csv", err, errlen);
}

int joint_log_test(joint_log *J, long batch, long samples, double loss, double accuracy, char *err, size_t errlen)
{
    if (!J->tests) return 0;
    fprintf(J->tests, "%ld,%ld,%.10g,%.6g\n", batch, samples, loss, accuracy);
    return row_written(J, J->tests, "test.csv", err, errlen);
}

void joint_log_close(joint_log *J)
{
    if (J->batches) fclose(J->batches);
    if (J->tests) fclose(J->tests);
    J->batches = J->tests = NULL;
}
