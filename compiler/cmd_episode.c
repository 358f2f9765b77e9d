/* cmd_episode — plastcc episode: one episode from a saved state, for
 * cross-checking the meta-gradient with other implementations.
 *
 * State folder (.npy): one file per STATE, PARAM and CONST buffer of the
 * experiment's schedule (`plastcc emit-c --dump=schedule`): W1..WL float64
 * [n_l, n_{l-1}]; B1..BL [n_{l-1}, n_l] (for direct feedback [n_{l-1}, n_L];
 * none for symmetric); x_train [N, n_0], y_train int64 [N] (one sample per
 * step, in order; -1: unlabelled); x_query, y_query; and a file per
 * meta-parameter named after it (theta.npy; RULE.PARAM.npy when two rules
 * share a name), per meta-MLP its weight vector (hat_net.npy, layout of
 * docs/language.md 4.8) or per layer (gu_net.W1.npy [out, in], gu_net.b1.npy
 * [out]; RULE.gu_net.W1.npy likewise; a layer's file overrides the vector).
 * Top-down and lateral projections are Wtop0.., Wlat0.. [rows, cols] as the
 * schedule prints them.  Output folder: meta_loss.npy, grad_<param>.npy,
 * grad_<mlp>.npy and grad_<mlp>.W1.npy ..., and per STATE and PARAM buffer
 * (weights W1.., biases bias1..) its final value (W1.npy) and gradient
 * (grad_W1.npy).  For an experiment with `train joint` the query is the
 * training batch itself (one step of the joint scheme) unless x_query.npy is
 * given.
 */
#include "config.h"
#include "bind.h"
#include "plast.h"
#include "driver.h"
#include "state_npy.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: plastcc episode FILE --experiment NAME --state DIR --out DIR [--backend jit|c]\n"
    "                       [--sweep-states N | --checkpoint K] [--batch B]\n"
    "                       [--precision double|single] [--boundary FILE.svg] [--repeat N]\n"
    "\n"
    "Runs one episode of experiment NAME from the weights, feedback matrices,\n"
    "data and meta-parameters saved in DIR (.npy files: W1..WL [n_l, n_{l-1}],\n"
    "Wrec<l> [n_l, n_l] for a recurrent layer l, biases bias1..biasL of the layers\n"
    "with `bias`, B1..BL, with topdown; and lateral; Wtop0..Wtop(L-1)\n"
    "[n_l, n_(l+1)] and Wlat0..WlatL [n_l, n_l], x_train, y_train (-1: unlabelled),\n"
    "x_query, y_query, one file per meta-parameter, e.g. theta.npy, and per meta-MLP\n"
    "its whole weight vector, e.g. hat_net.npy, or per layer NET.W1.npy [out, in]\n"
    "and NET.b1.npy; missing ones keep their initial values), and writes to --out\n"
    "meta_loss.npy, grad_<param>.npy, grad_<mlp>.npy, grad_<mlp>.W1.npy ..., and\n"
    "for every weight matrix and bias its final value (W1.npy) and the gradient of\n"
    "its initial value (grad_W1.npy, grad_bias1.npy; a rule's neighbour shifts\n"
    "P<l>_m1.. are made, not read).  Buffer names: `plastcc emit-c FILE\n"
    "--dump=schedule`.  With `train joint` (paper 001) x_train is one minibatch and\n"
    "the query defaults to it: one step of the joint scheme (the rule-updated\n"
    "weights, the batch's masked loss, every gradient).\n"
    "With the experiment's `diagnostics alignment orthonormality;`, also\n"
    "alignment.npy (alpha_0..alpha_{L-1}, degrees) and orthonormality.npy.\n"
    "\n"
    "  --sweep-states N   the copies of the state (W) the inner loop and the reverse\n"
    "                     sweep may hold, N >= 2; the sweep then runs as few steps\n"
    "                     forward again as N allows (binomial checkpointing).  Default:\n"
    "                     the fewest with which no step runs forward more than 3 times\n"
    "                     on average, with leaves of at most 8 MB of states (003's\n"
    "                     network, 250 steps: 11 in double, 10 in single); N >= steps\n"
    "                     runs each step once\n"
    "  --checkpoint K     instead, two levels: checkpoint W every K steps, and keep the\n"
    "                     K states of each part as it is swept\n"
    "  --batch B          samples per inner step (default: the experiment's)\n"
    "  --precision P      double or single: the kernels, the inner loop and the reverse\n"
    "                     sweep in that type (default: the experiment's `precision`);\n"
    "                     the state and the results are float64 either way\n"
    "  --boundary F.svg   draw the decision regions of the final network (2 inputs)\n"
    "                     with the training and query samples\n"
    "  --repeat N         run the episode N times (default 1), the later runs in the\n"
    "                     buffers of the first as a meta-training run's episodes are,\n"
    "                     and report the median time of those; every run must give\n"
    "                     the same meta-loss and meta-gradient, bit for bit\n";

typedef struct state {
    plast_array *buf;          /* [n_buf]: the files of STATE, PARAM and CONST buffers */
    plast_array x_train, y_train, x_query, y_query;
} state;

/* Class indices; -1 marks an unlabelled sample. */
static int32_t *labels(const plast_array *a, long n_out, const char *name)
{
    int32_t *y = malloc(a->shape[0] * sizeof *y + 1);
    for (size_t k = 0; k < a->shape[0]; k++) {
        double v = a->data[k];
        if (v < -1 || (n_out > 0 && v >= n_out) || v != (int32_t)v) {
            fprintf(stderr, "plastcc: %s.npy[%zu] = %g is not a class of the %ld-neuron output layer (nor -1, "
                    "unlabelled)\n", name, k, v, n_out);
            free(y);
            return NULL;
        }
        y[k] = (int32_t)v;
    }
    return y;
}

/* x_query, y_query; a joint experiment's query is by default the training
 * batch itself (copied, so that each array is freed once). */
static int read_query(const char *dir, int joint, state *S)
{
    int rc = state_read_npy(dir, "x_query", &S->x_query, !joint);
    if (rc == 0) return state_read_npy(dir, "y_query", &S->y_query, 1);
    if (rc < 0) return -1;
    for (int q = 0; q < 2; q++) {
        const plast_array *src = q ? &S->y_train : &S->x_train;
        plast_array *dst = q ? &S->y_query : &S->x_query;
        size_t n = 1;
        for (int k = 0; k < src->ndim; k++) n *= src->shape[k];
        *dst = *src;
        dst->data = malloc((n ? n : 1) * sizeof(double));
        if (!dst->data) { fprintf(stderr, "plastcc: out of memory\n"); return -1; }
        memcpy(dst->data, src->data, n * sizeof(double));
    }
    return 0;
}

/* The part of rule R's meta vector named NAME (a param, or an mlp's whole
 * weight vector) from DIR/RULE.NAME.npy, else DIR/NAME.npy; 1 when neither
 * exists.  WANT values at DST. */
static int load_meta_part(const char *dir, const sema_rule *sr, const char *kind, const char *what, size_t want,
                          double *dst)
{
    char name[512];
    plast_array a;
    snprintf(name, sizeof name, "%s.%s", sr->name, what);
    int rc = state_read_npy(dir, name, &a, 0);
    int own = rc == 0;   /* RULE.NAME.npy, not NAME.npy */
    if (rc == 1) rc = state_read_npy(dir, what, &a, 0);
    if (rc != 0) return rc;
    size_t have = 1;
    for (int k = 0; k < a.ndim; k++) have *= a.shape[k];
    if (have != want) {
        fprintf(stderr, "plastcc: %s.npy has %zu values, but %s '%s' has %zu\n", own ? name : what, have, kind, what,
                want);
        plast_array_free(&a);
        return -1;
    }
    memcpy(dst, a.data, want * sizeof(double));
    plast_array_free(&a);
    return 0;
}

/* The file name NET.Wl or NET.bl of layer L of mlp M of rule R, and where
 * that layer's weights (or biases) start in the meta vector and how many. */
static void mlp_layer_slot(const sema_program *p, const sema_rule *r, int m, int l, int bias, char *name, size_t len,
                           int *off, int *n)
{
    const sema_mlp *net = p->mlps[r->mlps[m]];
    int at = r->mlp_offset[m], width = net->n_in;
    for (int k = 0; k < l; k++) { at += net->width[k] * width + net->width[k]; width = net->width[k]; }
    *off = at + (bias ? net->width[l] * width : 0);
    *n = bias ? net->width[l] : net->width[l] * width;
    snprintf(name, len, "%s.%c%d", net->name, bias ? 'b' : 'W', l + 1);
}

/* The weights of each meta-MLP rule R calls, per layer, where files give them. */
static int load_mlp_weights(const char *dir, const sema_program *p, const sema_rule *sr, double *meta)
{
    for (int m = 0; m < sr->n_mlps; m++)
        for (int l = 0; l < p->mlps[sr->mlps[m]]->n_layers; l++)
            for (int bias = 0; bias < 2; bias++) {
                char name[300];
                int off, n;
                mlp_layer_slot(p, sr, m, l, bias, name, sizeof name, &off, &n);
                if (load_meta_part(dir, sr, "meta-MLP layer", name, (size_t)n, meta + off) < 0) return -1;
            }
    return 0;
}

/* Meta-parameters from DIR (per param; per mlp its weight vector in the
 * layout of docs/language.md 4.8, then its layers' files), else initial values. */
static int load_meta(const char *dir, const sema_program *prog, const bound_net *bn, double **meta)
{
    for (int r = 0; r < bn->net.n_rules; r++) {
        const sema_rule *sr = bn->compiled[r]->rule;
        meta[r] = malloc((size_t)(sr->n_meta > 0 ? sr->n_meta : 1) * sizeof(double));
        memcpy(meta[r], bn->rules[r].init, (size_t)sr->n_meta * sizeof(double));
        for (int p = 0; p < sr->n_params; p++) {
            const sema_param *prm = &sr->params[p];
            if (load_meta_part(dir, sr, "parameter", prm->name, (size_t)(prm->size ? prm->size : 1), meta[r] + prm->offset) < 0)
                return -1;
        }
        for (int m = 0; m < sr->n_mlps; m++) {
            const sema_mlp *net = prog->mlps[sr->mlps[m]];
            if (load_meta_part(dir, sr, "meta-MLP", net->name, (size_t)net->n_weights, meta[r] + sr->mlp_offset[m]) < 0) return -1;
        }
        if (load_mlp_weights(dir, prog, sr, meta[r]) < 0) return -1;
    }
    return 0;
}

/* grad_NET.W1.npy [out, in], grad_NET.b1.npy [out], ... per meta-MLP of SR
 * (grad_RULE.NET.W1 when QUALIFY). */
static int write_mlp_grads(const char *dir, const sema_program *prog, const sema_rule *sr, int qualify,
                           const double *grad)
{
    int rc = 0;
    for (int m = 0; m < sr->n_mlps; m++) {
        const sema_mlp *net = prog->mlps[sr->mlps[m]];
        for (int l = 0; l < net->n_layers; l++)
            for (int bias = 0; bias < 2; bias++) {
                char slot[300], name[600];
                int off, n;
                mlp_layer_slot(prog, sr, m, l, bias, slot, sizeof slot, &off, &n);
                if (qualify) snprintf(name, sizeof name, "grad_%s.%s", sr->name, slot);
                else snprintf(name, sizeof name, "grad_%s", slot);
                size_t rows = (size_t)net->width[l];
                rc |= state_write_npy(dir, name, grad + off, bias ? 1 : 2, rows, bias ? 0 : (size_t)n / rows);
            }
    }
    return rc;
}

/* meta_loss, grad_<param> per meta-parameter, and per STATE or PARAM buffer
 * its final value NAME.npy and grad_NAME.npy (d meta_loss / d its initial value). */
static int write_results(const char *dir, const sema_program *prog, const bound_net *bn, const plast_episode_out *out)
{
    if (plast_mkdirs(dir) != 0) {
        fprintf(stderr, "plastcc: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = state_write_npy(dir, "meta_loss", &out->meta_loss, 0, 0, 0);
    for (int r = 0; r < bn->net.n_rules; r++) {
        const sema_rule *sr = bn->compiled[r]->rule;
        for (int p = 0; p < sr->n_params; p++) {
            const sema_param *prm = &sr->params[p];
            char name[512];
            if (bn->net.n_rules > 1) snprintf(name, sizeof name, "grad_%s.%s", sr->name, prm->name);
            else snprintf(name, sizeof name, "grad_%s", prm->name);
            rc |= state_write_npy(dir, name, out->grad[r] + prm->offset, prm->size ? 1 : 0, (size_t)prm->size, 0);
        }
        for (int m = 0; m < sr->n_mlps; m++) {
            const sema_mlp *net = prog->mlps[sr->mlps[m]];
            char name[512];
            if (bn->net.n_rules > 1) snprintf(name, sizeof name, "grad_%s.%s", sr->name, net->name);
            else snprintf(name, sizeof name, "grad_%s", net->name);
            rc |= state_write_npy(dir, name, out->grad[r] + sr->mlp_offset[m], 1, (size_t)net->n_weights, 0);
        }
        rc |= write_mlp_grads(dir, prog, sr, bn->net.n_rules > 1, out->grad[r]);
    }
    const plast_schedule *sc = &bn->net.sched;
    for (int b = 0; b < sc->n_buf; b++) {
        const plast_buf *B = &sc->buf[b];
        if (B->kind != PLAST_BUF_STATE && B->kind != PLAST_BUF_PARAM) continue;
        char name[64];
        int nd = B->rows == 1 ? 1 : 2;
        size_t d0 = nd == 1 ? (size_t)B->cols : (size_t)B->rows, d1 = (size_t)B->cols;
        rc |= state_write_npy(dir, B->name, out->final[b], nd, d0, d1);
        snprintf(name, sizeof name, "grad_%s", B->name);
        rc |= state_write_npy(dir, name, out->grad_init[b], nd, d0, d1);
    }
    return rc;
}

/* The process's resident memory now (VmRSS), in MB; 0 if unknown. */
static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f)) if (sscanf(line, "VmRSS: %lf", &kb) == 1) break;
    if (f) fclose(f);
    return kb / 1024.0;
}

/* The decision regions of the final network (--boundary): final STATE
 * values, the state's PARAM and CONST values. */
static int draw_boundary(const char *path, const plast_net *N, double **init, double **final,
                         const plast_episode_data *d, const sema_experiment *x, double accuracy)
{
    const plast_schedule *sc = &N->sched;
    const double **values = calloc((size_t)sc->n_buf + 1, sizeof *values);
    for (int b = 0; values && b < sc->n_buf; b++) values[b] = sc->buf[b].kind == PLAST_BUF_STATE ? final[b] : init[b];
    char title[300], err[512];
    snprintf(title, sizeof title, "%s: query accuracy %.3f after %d steps", x->name, accuracy, d->steps);
    plast_boundary b = { values, d->x_train, d->y_train, d->steps * d->batch < d->n_train ? d->steps * d->batch
                         : d->n_train, d->x_query, d->y_query, d->n_query, title, 0 };
    int rc = values ? plast_plot_boundary(path, N, &b, err, sizeof err) : -1;
    if (rc < 0) fprintf(stderr, "plastcc: %s\n", values ? err : "out of memory");
    free(values);
    return rc;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs 2..REPEAT of the episode (--repeat), each in the buffers the one
 * before kept (the last hands them back), each checked against the first
 * run's meta-loss and meta-gradient OUT, bit for bit: their median time
 * into *MEDIAN.  0, or 1 with a message. */
static int repeat_episode(const plast_net *N, const bound_net *bn, double **init, double **meta,
                          const plast_episode_data *data, plast_episode_opts opts, const plast_episode_out *out,
                          int repeat, double *median)
{
    double *sec = calloc((size_t)repeat, sizeof *sec), *g[PLAST_MAX_LAYERS] = { 0 };
    int rc = sec ? 0 : 1;
    for (int r = 0; rc == 0 && r < N->n_rules; r++)
        if (!(g[r] = calloc((size_t)bn->rules[r].n_meta + 1, sizeof(double)))) rc = 1;
    if (rc) fprintf(stderr, "plastcc: out of memory\n");
    for (int k = 1; rc == 0 && k < repeat; k++) {
        plast_episode_out o;
        memset(&o, 0, sizeof o);
        o.grad = g;
        opts.keep_buffers = k + 1 < repeat;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (plast_episode(N, (const double *const *)init, (const double *const *)meta, data, &opts, &o) < 0) {
            fprintf(stderr, "plastcc: episode failed (run %d of %d): %s\n", k + 1, repeat, o.what);
            rc = 1;
            break;
        }
        sec[k - 1] = seconds_since(&t0);
        int same = memcmp(&o.meta_loss, &out->meta_loss, sizeof o.meta_loss) == 0;
        for (int r = 0; same && r < N->n_rules; r++)
            same = memcmp(g[r], out->grad[r], (size_t)bn->rules[r].n_meta * sizeof(double)) == 0;
        if (!same) {
            fprintf(stderr, "plastcc: run %d of %d of the episode gave other bits than the first (meta-loss %.17g "
                    "against %.17g)\n", k + 1, repeat, o.meta_loss, out->meta_loss);
            rc = 1;
        }
    }
    if (rc == 0) {
        qsort(sec, (size_t)repeat - 1, sizeof *sec, cmp_double);
        *median = repeat % 2 == 0 ? sec[(repeat - 1) / 2] : 0.5 * (sec[repeat / 2 - 1] + sec[repeat / 2]);
    }
    for (int r = 0; r < PLAST_MAX_LAYERS; r++) free(g[r]);
    free(sec);
    return rc;
}

static int run_episode(const char *state_dir, const char *out_dir, const compiled_unit *u, backend_module *m,
                       const sema_experiment *x, int checkpoint, int sweep_states, int batch, const char *boundary, int repeat)
{
    char err[512];
    bound_net bn;
    if (bind_net(u, m, x, &bn, err, sizeof err) < 0) { fprintf(stderr, "plastcc: %s\n", err); bind_free(&bn); return 1; }
    const plast_net *N = &bn.net;
    const plast_schedule *sc = &N->sched;
    int nb = sc->n_buf;
    state S;
    memset(&S, 0, sizeof S);
    S.buf = calloc((size_t)nb + 1, sizeof *S.buf);
    double **init = calloc((size_t)nb + 1, sizeof *init), **final = calloc((size_t)nb + 1, sizeof *final);
    double **grad_init = calloc((size_t)nb + 1, sizeof *grad_init);
    double *meta[PLAST_MAX_LAYERS] = { 0 }, *grad[PLAST_MAX_LAYERS] = { 0 };
    int32_t *ytr = NULL, *yq = NULL;
    int rc = 1;
    size_t n0 = (size_t)sc->buf[sc->x].cols;
    long n_out = sc->target >= 0 ? sc->buf[sc->target].cols : 0;
    if (state_load_buffers(state_dir, N, S.buf, init) < 0 || load_meta(state_dir, u->prog, &bn, meta) < 0) goto done;
    if (state_read_npy(state_dir, "x_train", &S.x_train, 1) < 0 || state_read_npy(state_dir, "y_train", &S.y_train, 1) < 0 ||
        read_query(state_dir, x->joint, &S) < 0)
        goto done;
    if (state_expect_shape("x_train", &S.x_train, 2, S.x_train.shape[0], n0) < 0 ||
        state_expect_shape("y_train", &S.y_train, 1, S.x_train.shape[0], 0) < 0 ||
        state_expect_shape("x_query", &S.x_query, 2, S.x_query.shape[0], n0) < 0 ||
        state_expect_shape("y_query", &S.y_query, 1, S.x_query.shape[0], 0) < 0) goto done;
    if (!(ytr = labels(&S.y_train, n_out, "y_train")) || !(yq = labels(&S.y_query, n_out, "y_query"))) goto done;
    for (int r = 0; r < N->n_rules; r++) grad[r] = calloc((size_t)bn.rules[r].n_meta + 1, sizeof(double));
    for (int b = 0; b < nb; b++) {
        const plast_buf *B = &sc->buf[b];
        if (B->kind != PLAST_BUF_STATE && B->kind != PLAST_BUF_PARAM) continue;
        final[b] = malloc((size_t)B->rows * (size_t)B->cols * sizeof(double));
        grad_init[b] = calloc((size_t)B->rows * (size_t)B->cols, sizeof(double));
    }
    plast_episode_data data = { S.x_train.data, ytr, (int)S.x_train.shape[0], S.x_query.data, yq,
                                (int)S.x_query.shape[0], batch > 0 ? batch : x->batch, 0 };
    data.steps = data.n_train / data.batch;
    if (data.steps < 1) {
        fprintf(stderr, "plastcc: a batch of %d is larger than the %d training samples of %s/x_train.npy: no inner "
                "step would run\n", data.batch, data.n_train, state_dir);
        goto done;
    }
    plast_episode_opts opts = { .checkpoint_every = checkpoint, .want_grad = 1, .keep_buffers = repeat > 1,
                                .sweep_states = sweep_states };
    plast_episode_out out;
    memset(&out, 0, sizeof out);
    out.grad = grad;
    out.final = final;
    out.grad_init = grad_init;
    struct timespec t0;
    double rss0 = rss_mb();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (plast_episode(N, (const double *const *)init, (const double *const *)meta, &data, &opts, &out) < 0) {
        fprintf(stderr, "plastcc: episode failed: %s\n", out.what);
        goto done;
    }
    double first = seconds_since(&t0), median = 0;
    if (repeat > 1 && repeat_episode(N, &bn, init, meta, &data, opts, &out, repeat, &median)) goto done;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);   /* this process alone: not the C compiler it may have run */
    printf("meta-loss %.17g, query accuracy %.4f, %d steps (%lld run forward, %d copies of the state%s), %s, "
           "%.1f MB of episode buffers, peak RSS %.1f MB (%.1f MB before the episode), %.3f s", out.meta_loss,
           out.accuracy, data.steps, out.forward_steps, out.sweep_states, out.in_place ? ", updated in place" : "",
           N->precision == PLAST_SINGLE ? "single" : "double",
           out.peak_bytes / 1048576.0, ru.ru_maxrss / 1024.0, rss0, first);
    if (repeat > 1) printf(" (the first run), %.3f s (median of the %d runs after it, same bits)", median, repeat - 1);
    printf("\n");
    rc = write_results(out_dir, u->prog, &bn, &out) < 0;
    if (rc == 0 && boundary) rc = draw_boundary(boundary, N, init, final, &data, x, out.accuracy) < 0;
    if (rc == 0 && (x->diag_alignment || x->diag_orthonormality)) {   /* the experiment's diagnostics */
        double diag[2 * PLAST_MAX_LAYERS];
        const double *Wl[PLAST_MAX_LAYERS], *Bl[PLAST_MAX_LAYERS];
        int L = N->n_layers;
        for (int l = 0; l < L; l++) {
            Wl[l] = final[N->w_buf[l]];
            Bl[l] = N->fb_buf[l] >= 0 ? init[N->fb_buf[l]] : NULL;
        }
        if (plast_diagnostics(N, Wl, Bl, &data, diag, diag + L, err, sizeof err) < 0) {
            fprintf(stderr, "plastcc: %s\n", err);
            rc = 1;
        } else {
            rc |= x->diag_alignment && state_write_npy(out_dir, "alignment", diag, 1, (size_t)L, 0) < 0;
            rc |= x->diag_orthonormality && L > 1 && state_write_npy(out_dir, "orthonormality", diag + L, 1, (size_t)L - 1, 0) < 0;
        }
    }
done:
    state_free_buffers(N, S.buf, init);
    for (int b = 0; b < nb; b++) {
        free(final[b]);
        free(grad_init[b]);
    }
    for (int r = 0; r < PLAST_MAX_LAYERS; r++) { free(meta[r]); free(grad[r]); }
    free(S.buf); free(init); free(final); free(grad_init);
    plast_array_free(&S.x_train); plast_array_free(&S.y_train); plast_array_free(&S.x_query); plast_array_free(&S.y_query);
    free(ytr); free(yq);
    bind_free(&bn);
    return rc;
}

int cmd_episode(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    const char *file = NULL, *exp = NULL, *state_dir = NULL, *out_dir = NULL, *boundary = NULL;
    int checkpoint = 0, batch = 0, use_c = 0, prec = -1, repeat = 1, sweep_states = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--experiment") && i + 1 < argc) exp = argv[++i];
        else if (!strcmp(argv[i], "--state") && i + 1 < argc) state_dir = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (!strcmp(argv[i], "--boundary") && i + 1 < argc) boundary = argv[++i];
        else if ((!strcmp(argv[i], "--checkpoint") || !strcmp(argv[i], "--batch")) && i + 1 < argc) {
            long long v;
            int is_batch = argv[i][2] == 'b';
            if (driver_parse_int(usage, argv[i], argv[i + 1], is_batch, 1000000000, &v)) return 2;
            *(is_batch ? &batch : &checkpoint) = (int)v;
            i++;
        }
        else if (!strcmp(argv[i], "--sweep-states") && i + 1 < argc) {
            long long v;
            if (driver_parse_int(usage, argv[i], argv[i + 1], 2, 1000000000, &v)) return 2;
            sweep_states = (int)v;
            i++;
        }
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
            long long v;
            if (driver_parse_int(usage, argv[i], argv[i + 1], 1, 1000, &v)) return 2;
            repeat = (int)v;
            i++;
        }
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            if (strcmp(b, "c") && strcmp(b, "jit")) return driver_usage_error(usage, "unknown backend '%s'", b);
            use_c = !strcmp(b, "c");
        } else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            const char *p = argv[++i];
            if (strcmp(p, "double") && strcmp(p, "single")) return driver_usage_error(usage, "unknown precision '%s'", p);
            prec = !strcmp(p, "single");
        } else if (argv[i][0] == '-' && argv[i][1]) return driver_usage_error(usage, "unknown option '%s'", argv[i]);
        else file = argv[i];
    }
    if (!file || !exp || !state_dir || !out_dir)
        return driver_usage_error(usage, "%s", "episode needs FILE, --experiment, --state and --out");
    int not_found;
    compiled_unit *u = pipeline_compile_experiment(file, exp, &not_found);
    if (!u) {
        if (not_found) fprintf(stderr, "plastcc: %s has no experiment '%s'\n", file, exp);
        else driver_report_errors();
        return 1;
    }
    char err[512];
    const sema_experiment *x = u->prog->experiments[sema_find_experiment(u->prog, exp)];
    if ((prec < 0 ? x->single : prec) && (x->diag_alignment || x->diag_orthonormality)) {
        fprintf(stderr, "plastcc: the diagnostics of experiment %s run in double precision only\n", exp);
        pipeline_free(u);
        return 1;
    }
    backend_module *m = bind_load(u, file, x, use_c, prec, err, sizeof err);
    if (!m) { fprintf(stderr, "plastcc: %s\n", err); pipeline_free(u); return 1; }
    int rc = run_episode(state_dir, out_dir, u, m, x, checkpoint, sweep_states, batch, boundary, repeat);
    backend_close(m);
    pipeline_free(u);
    return rc;
}
