/* bind — an experiment as runtime inputs: kernels, data, options (bind.h). */
#include "config.h"
#include "bind.h"
#include "rng.h"
#include "jit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const plast_kdesc *find(backend_module *m, const char *base, const char *suffix, char *err, size_t errlen)
{
    char name[160];
    snprintf(name, sizeof name, "%s_%s", base, suffix);
    const plast_kdesc *k = backend_find(m, name);
    if (!k) snprintf(err, errlen, "kernel %s is missing from the compiled module", name);
    return k;
}

/* Initial meta vector: the params' initial values, then each mlp's weights:
 * its `weights [..]` when given, else drawn deterministically (uniform
 * +-1/sqrt(fan_in), the output layer's times `init output G`, a fixed LCG
 * seeded by the weight's position) with zero biases. */
void bind_rule_init(const sema_program *p, const sema_rule *r, double *v)
{
    for (int i = 0; i < r->n_params; i++)
        for (int e = 0; e < (r->params[i].size ? r->params[i].size : 1); e++)
            v[r->params[i].offset + e] = r->params[i].init[e];
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int m = 0; m < r->n_mlps; m++) {
        const sema_mlp *net = p->mlps[r->mlps[m]];
        int off = r->mlp_offset[m], width = net->n_in;
        for (int l = 0; l < net->n_layers; l++) {
            /* the output layer times `init output G` (the draws stay the same) */
            double a = 1 / sqrt((double)width) * (l == net->n_layers - 1 ? net->out_gain : 1);
            for (int w = 0; w < net->width[l] * width; w++) v[off++] = a * (2 * plast_lcg_uniform(&state) - 1);
            for (int o = 0; o < net->width[l]; o++) v[off++] = 0;   /* biases start at 0 */
            width = net->width[l];
        }
        if (net->weights)   /* `weights [..]`: learned values */
            memcpy(v + r->mlp_offset[m], net->weights, (size_t)net->n_weights * sizeof(double));
    }
}

int bind_learned_meta(const char *learned, const bound_net *bn, double **meta)
{
    for (int r = 0; r < bn->net.n_rules; r++) {
        meta[r] = calloc((size_t)bn->rules[r].n_meta + 1, sizeof(double));
        if (!meta[r]) { fprintf(stderr, "plastcc: cannot allocate the meta-parameters\n"); return -1; }
        memcpy(meta[r], bn->rules[r].init, (size_t)bn->rules[r].n_meta * sizeof(double));
    }
    if (!learned) return 0;
    int before = diag_error_count();
    sema_program *p = sema_load(learned);
    if (diag_error_count() != before) { sema_program_free(p); return -1; }   /* its diagnostics were printed */
    int rc = 0;
    for (int r = 0; rc == 0 && r < bn->net.n_rules; r++) {
        const sema_rule *mine = bn->compiled[r]->rule;
        int k = sema_find_rule(p, mine->name);
        const sema_rule *theirs = k >= 0 ? p->rules[k] : NULL;
        int same = theirs && theirs->n_meta == mine->n_meta && theirs->n_params == mine->n_params;
        for (int i = 0; same && i < mine->n_params; i++)
            same = !strcmp(theirs->params[i].name, mine->params[i].name) && theirs->params[i].size == mine->params[i].size;
        if (!theirs) fprintf(stderr, "plastcc: %s has no rule '%s'\n", learned, mine->name);
        else if (!same)
            fprintf(stderr, "plastcc: rule '%s' of %s declares other parameters than the experiment's (%d values "
                    "against %d)\n", mine->name, learned, theirs->n_meta, mine->n_meta);
        else bind_rule_init(p, theirs, meta[r]);
        rc = theirs && same ? 0 : -1;
    }
    sema_program_free(p);
    return rc;
}

/* Rule R's meta vector as the runtime sees it (slot K of B): initial
 * values, l1 and fixed flags, ranges. */
static void init_meta(const sema_program *p, const sema_rule *r, bound_net *b, int k)
{
    int n = r->n_meta > 0 ? r->n_meta : 1;
    b->init[k] = calloc((size_t)n, sizeof(double));
    b->l1[k] = calloc((size_t)n, 1);
    b->fixed[k] = calloc((size_t)n, 1);
    b->lo[k] = malloc((size_t)n * sizeof(double));
    b->hi[k] = malloc((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) { b->lo[k][i] = -INFINITY; b->hi[k][i] = INFINITY; }
    for (int i = 0; i < r->n_params; i++) {
        const sema_param *prm = &r->params[i];
        for (int e = 0; e < (prm->size ? prm->size : 1); e++) {
            int at = prm->offset + e;
            b->l1[k][at] = (unsigned char)prm->l1;
            b->fixed[k][at] = (unsigned char)prm->fixed;
            b->lo[k][at] = prm->lo;
            b->hi[k][at] = prm->hi;
        }
    }
    bind_rule_init(p, r, b->init[k]);
}

/* The net's rule index of R: rules are numbered in the order the schedule's
 * calls first use them. */
static int rule_index(const compiled_unit *u, backend_module *m, bound_net *b, const sema_rule *r, char *err,
                      size_t errlen)
{
    for (int k = 0; k < b->net.n_rules; k++) if (b->compiled[k]->rule == r) return k;
    const compiled_rule *cr = NULL;
    for (int i = 0; i < u->n_rules; i++) if (u->rules[i].rule == r) cr = &u->rules[i];
    if (!cr) { snprintf(err, errlen, "rule %s was not compiled", r->name); return -1; }
    int k = b->net.n_rules;
    b->compiled[k] = cr;
    init_meta(u->prog, r, b, k);
    plast_rule *pr = &b->rules[k];
    pr->name = r->name;
    pr->n_meta = r->n_meta;
    pr->init = b->init[k]; pr->l1 = b->l1[k]; pr->fixed = b->fixed[k];
    pr->lo = b->lo[k]; pr->hi = b->hi[k];
    pr->meta_name = (const char *const *)cr->rk.d->meta_name;
    char base[64];
    build_rule_kernel_name(base, sizeof base, r, cr->rk.kind);
    if (!(pr->fwd = find(m, base, "fwd", err, errlen)) || !(pr->adj = find(m, base, "adj", err, errlen))
        || !(pr->step = find(m, base, "step", err, errlen)))
        return -1;
    b->net.n_rules++;
    return k;
}

static const plast_kdesc *find_named(backend_module *m, const char *name, char *err, size_t errlen)
{
    if (!name[0]) return NULL;
    const plast_kdesc *k = backend_find(m, name);
    if (!k) snprintf(err, errlen, "kernel %s is missing from the compiled module", name);
    return k;
}

/* The calls of the plan with their kernels and bindings resolved. */
static int bind_calls(const compiled_unit *u, backend_module *m, bound_net *b, const sched_call *in, int n,
                      plast_call *out, plast_bind **next_bind, char *err, size_t errlen)
{
    for (int c = 0; c < n; c++) {
        const sched_call *C = &in[c];
        plast_call *P = &out[c];
        P->fwd = find_named(m, C->fwd, err, errlen);
        P->adj = find_named(m, C->adj, err, errlen);
        P->dw = find_named(m, C->dw, err, errlen);
        P->fused = find_named(m, C->fused, err, errlen);
        P->fuses = C->fuses;
        if (!P->fwd || (C->adj[0] && !P->adj) || (C->dw[0] && !P->dw) || (C->fused[0] && !P->fused)) return -1;
        P->n_pre = C->n_pre;
        P->n_post = C->n_post;
        P->update = C->update;
        P->rule = C->rule ? rule_index(u, m, b, C->rule, err, errlen) : -1;
        if (C->rule && P->rule < 0) return -1;
        P->bind = *next_bind;
        P->n_bind = C->n_bind;
        for (int k = 0; k < C->n_bind; k++)
            (*next_bind)[k] = (plast_bind){ C->bind[k].arg, C->bind[k].buf, C->bind[k].next };
        *next_bind += C->n_bind;
    }
    return 0;
}

/* The schedule's buffers as the runtime sees them. */
static void bind_buffers(bound_net *b)
{
    const sched_plan *P = &b->plan;
    for (int i = 0; i < P->n_buf; i++) {
        const sched_buf *s = &P->buf[i];
        b->bufs[i] = (plast_buf){ s->name, s->kind, s->rows, s->cols, s->init, s->init_arg, s->fan_in, s->fan_out,
                                  s->stream };
    }
}

/* The layered view of a feed-forward model, for the diagnostics. */
static int bind_layers(const sema_model *model, backend_module *m, bound_net *b, char *err, size_t errlen)
{
    plast_net *N = &b->net;
    N->n_layers = model->n_layers;
    N->size[0] = model->n_input;
    static const int fb[] = { PLAST_FB_SYMMETRIC, PLAST_FB_RANDOM, PLAST_FB_DIRECT, PLAST_FB_NONE };
    N->feedback = fb[model->feedback];
    for (int l = 0; l < model->n_layers; l++) {
        char base[128];
        N->size[l + 1] = model->layers[l].size;
        N->w_buf[l] = b->plan.w_buf[l];
        N->fb_buf[l] = b->plan.fb_buf[l];
        snprintf(base, sizeof base, "%s_dense%d", model->name, l + 1);
        if (!(N->dense_fwd[l] = find(m, base, "fwd", err, errlen))) return -1;
        if (model->feedback == FB_NONE) continue;
        snprintf(base, sizeof base, "%s_error%d", model->name, l + 1);
        if (!(N->error_fwd[l] = find(m, base, "fwd", err, errlen))) return -1;
    }
    char base[128];
    snprintf(base, sizeof base, "%s_loss", model->name);
    return (N->loss_fwd = find(m, base, "fwd", err, errlen)) ? 0 : -1;
}

/* 'weights from "DIR" on NAME, ...': DIR/NAME.npy, [rows, cols] as the
 * schedule has the buffer (a bias may be 1-D), for net.start. */
static int bind_start(const sema_experiment *x, bound_net *b, char *err, size_t errlen)
{
    const sched_plan *P = &b->plan;
    b->start = calloc((size_t)P->n_buf + 1, sizeof *b->start);
    if (!b->start) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int k = 0; k < x->n_weights_names; k++) {
        int buf = -1;
        for (int i = 0; i < P->n_buf; i++) if (!strcmp(P->buf[i].name, x->weights_names[k])) buf = i;
        if (buf < 0) { snprintf(err, errlen, "the network has no buffer %s", x->weights_names[k]); return -1; }
        const sched_buf *B = &P->buf[buf];
        char path[4096], why[512];
        snprintf(path, sizeof path, "%s/%s.npy", x->weights_from, B->name);
        plast_array a;
        memset(&a, 0, sizeof a);
        if (plast_npy_read(path, &a, why, sizeof why) < 0) { snprintf(err, errlen, "weights from: %s", why); return -1; }
        size_t rows = (size_t)B->rows, cols = (size_t)B->cols;
        int fits = (a.ndim == 2 && a.shape[0] == rows && a.shape[1] == cols) ||
                   (a.ndim == 1 && rows == 1 && a.shape[0] == cols);
        if (!fits) {
            snprintf(err, errlen, "weights from: %s has shape (%zu%s%zu), but %s is %zu x %zu", path, a.shape[0],
                     a.ndim == 2 ? ", " : ",", a.ndim == 2 ? a.shape[1] : 0, B->name, rows, cols);
            plast_array_free(&a);
            return -1;
        }
        b->start[buf] = a.data;   /* the array's one allocation */
    }
    b->net.start = (const double *const *)b->start;
    return 0;
}

int bind_net(const compiled_unit *u, backend_module *m, const sema_experiment *x, bound_net *b,
             char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    const sema_model *model = u->prog->models[x->model];
    if (u->n_models < 1 || u->models[0].model != model) {
        snprintf(err, errlen, "model %s was not compiled", model->name);
        return -1;
    }
    if (sched_build(u->prog, x, &b->plan, err, errlen) < 0) return -1;
    const sched_plan *P = &b->plan;
    int n_bind = 0;
    for (int c = 0; c < P->n_step; c++) n_bind += P->step[c].n_bind;
    for (int c = 0; c < P->n_eval; c++) n_bind += P->eval[c].n_bind;
    b->bufs = calloc((size_t)P->n_buf + 1, sizeof *b->bufs);
    b->calls = calloc((size_t)(P->n_step + P->n_eval) + 1, sizeof *b->calls);
    b->binds = calloc((size_t)n_bind + 1, sizeof *b->binds);
    if (!b->bufs || !b->calls || !b->binds) { snprintf(err, errlen, "out of memory"); return -1; }
    bind_buffers(b);
    plast_net *N = &b->net;
    N->precision = backend_real_size(m) == 4 ? PLAST_SINGLE : PLAST_DOUBLE;
    N->rules = b->rules;
    /* rules numbered by their first projection, W1 first (log columns, meta-state order) */
    for (int p = 0; p < sema_projection_count(model); p++)
        if (x->rule_of_projection[p] >= 0 && rule_index(u, m, b, u->prog->rules[x->rule_of_projection[p]], err, errlen) < 0)
            return -1;
    plast_bind *next = b->binds;
    if (bind_calls(u, m, b, P->step, P->n_step, b->calls, &next, err, errlen) < 0 ||
        bind_calls(u, m, b, P->eval, P->n_eval, b->calls + P->n_step, &next, err, errlen) < 0)
        return -1;
    N->sched = (plast_schedule){ P->n_buf, b->bufs, P->n_step, b->calls, P->n_eval, b->calls + P->n_step,
                                 P->x, P->target, P->mask, P->loss, P->output };
    if (x->weights_from && bind_start(x, b, err, errlen) < 0) return -1;
    return P->n_layers ? bind_layers(model, m, b, err, errlen) : 0;
}

void bind_free(bound_net *b)
{
    for (int k = 0; k < b->net.n_rules; k++) {
        free(b->init[k]); free(b->l1[k]); free(b->fixed[k]); free(b->lo[k]); free(b->hi[k]);
    }
    for (int i = 0; b->start && i < b->plan.n_buf; i++) free(b->start[i]);
    free(b->start);
    free(b->bufs); free(b->calls); free(b->binds);
    sched_free(&b->plan);
    memset(b, 0, sizeof *b);
}

backend_module *bind_load(const compiled_unit *u, const char *source, const sema_experiment *x, int use_c,
                          int prec, char *err, size_t errlen)
{
    lower_precision p = (prec < 0 ? x->single : prec) ? PREC_SINGLE : PREC_DOUBLE;
    /* LLVM's code pages that loading it touched (the shared libLLVM's
     * relocation and symbol tables share its code's mapping and its static
     * constructors are spread over it: ~35 MB; linked statically, the
     * constructors' pages of plastcc's own file: ~20 MB) go before the
     * compilation, which faults back only what it runs: the process's peak
     * was the compilation's (74 -> 55 MB for the 003 pool's episode in
     * single precision, 74 -> 66 in double, with the shared library). */
    jit_release_compiler_memory();
    backend_module *m = use_c ? backend_load_c(u, source, p, err, errlen) : backend_load_jit(u, source, p, err, errlen);
    if (m) jit_release_compiler_memory();
    return m;
}

/* A task family: every task its own random problem (data moons random, ...). */
static int load_family(const sema_data *D, plast_dataset *d, char *err, size_t errlen)
{
    plast_task_family f = { D->kind == DATA_MOONS ? PLAST_FAMILY_MOONS : PLAST_FAMILY_GAUSSIANS, D->noise, D->std,
                            D->centers, D->project };
    if (plast_family_dataset(&f, d) == 0) return 0;
    snprintf(err, errlen, "cannot make the task family (check the data options)");
    return -1;
}

int bind_load_data(const sema_experiment *x, uint64_t seed, plast_dataset *d, char *err, size_t errlen)
{
    const sema_data *D = &x->data;
    int rc;
    err[0] = '\0';
    if (D->random) return load_family(D, d, err, errlen);
    switch (D->kind) {
    case DATA_FASHION_MNIST: rc = plast_load_fashion_mnist(D->test_split, d, err, errlen); break;
    case DATA_IDX: rc = plast_load_idx(D->path[0], D->path[1], d, err, errlen); break;
    case DATA_NPY: rc = plast_load_npy_dataset(D->path[0], D->path[1], d, err, errlen); break;
    case DATA_MOONS: rc = plast_gen_moons((size_t)D->n, D->noise, seed, d); break;
    case DATA_CIRCLES: rc = plast_gen_circles((size_t)D->n, D->noise, D->factor, seed, d); break;
    default: rc = plast_gen_blobs((size_t)D->n, D->centers, D->std, seed, d); break;
    }
    if (rc < 0 && !err[0]) snprintf(err, errlen, "cannot generate the data set (check its options)");
    if (rc == 0 && D->standardise) plast_standardise(d);
    if (rc == 0 && D->project > 0 && plast_project(d, (size_t)D->project, seed) < 0) {
        snprintf(err, errlen, "cannot project the data to %d dimensions", D->project);
        rc = -1;
    }
    return rc;
}

void bind_train_opts(const sema_program *p, const sema_experiment *x, plast_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->ways = x->ways; o->k_train = x->k_train; o->q_query = x->q_query;
    o->batch = x->batch; o->steps = x->steps; o->unlabelled = x->unlabelled;
    o->episodes = x->episodes;
    o->meta_batch = x->meta_batch;
    o->lr = x->lr; o->l1 = x->l1; o->l1_prox = x->l1_prox; o->clip = x->clip;
    o->schedule = x->schedule; o->sched_every = x->sched_every; o->sched_gamma = x->sched_gamma; o->warmup = x->warmup;
    o->nonfinite_skip = x->nonfinite_skip;
    o->seed = x->seed;
    o->checkpoint_every = x->checkpoint_every;
    o->diag_alignment = x->diag_alignment;
    o->diag_orthonormality = x->diag_orthonormality;
}

/* The entries of one `scale` statement in rule R's meta vector. */
static void apply_scale(const sema_scale *sc, bound_scales *s, int r)
{
    const sema_param *prm = &sc->rule_ptr->params[sc->param];
    for (int k = 0; k < (prm->size ? prm->size : 1); k++) {
        if (sc->is_auto) s->is_auto[r][prm->offset + k] = 1;
        else s->scale[r][prm->offset + k] = sc->values[k];
    }
}

int bind_scales(const sema_experiment *x, const bound_net *bn, bound_scales *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    for (int r = 0; r < bn->net.n_rules; r++) {
        size_t n = (size_t)bn->rules[r].n_meta + 1;
        s->n_rules = r + 1;
        s->scale[r] = malloc(n * sizeof(double));
        s->is_auto[r] = calloc(n, 1);
        if (!s->scale[r] || !s->is_auto[r]) {
            snprintf(err, errlen, "cannot allocate %.1f MB for the scales of rule %s", 9.0 * n / 1048576, bn->rules[r].name);
            return -1;
        }
        for (size_t k = 0; k < n; k++) s->scale[r][k] = 1;
        for (int i = 0; i < x->n_scales; i++)
            if (bn->compiled[r]->rule == x->scales[i].rule_ptr) apply_scale(&x->scales[i], s, r);
    }
    return 0;
}

void bind_scales_free(bound_scales *s)
{
    for (int r = 0; r < s->n_rules; r++) { free(s->scale[r]); free(s->is_auto[r]); }
    memset(s, 0, sizeof *s);
}
