/* bind — compiled kernels of an experiment as a runtime network (bind.h). */
#include "config.h"
#include "bind.h"
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

/* Initial meta vector: the params' initial values, then each mlp's weights
 * drawn deterministically (uniform +-1/sqrt(fan_in), a fixed LCG seeded by
 * the weight's position) and zero biases. */
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
            b->init[k][at] = prm->init[e];
            b->l1[k][at] = (unsigned char)prm->l1;
            b->fixed[k][at] = (unsigned char)prm->fixed;
            b->lo[k][at] = prm->lo;
            b->hi[k][at] = prm->hi;
        }
    }
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int m = 0; m < r->n_mlps; m++) {
        const sema_mlp *net = p->mlps[r->mlps[m]];
        int off = r->mlp_offset[m], width = net->n_in;
        for (int l = 0; l < net->n_layers; l++) {
            double a = 1 / sqrt((double)width);
            for (int w = 0; w < net->width[l] * width; w++) {
                state = state * 6364136223846793005ull + 1442695040888963407ull;
                b->init[k][off++] = a * (2 * ((double)(state >> 11) / 9007199254740992.0) - 1);
            }
            off += net->width[l];   /* biases start at 0 */
            width = net->width[l];
        }
    }
}

static int bind_rules(const compiled_unit *u, backend_module *m, const sema_experiment *x, bound_net *b,
                      char *err, size_t errlen)
{
    const sema_model *model = u->prog->models[x->model];
    for (int l = 0; l < model->n_layers; l++) {
        const sema_rule *r = u->prog->rules[x->rule_of_projection[l]];
        int k = 0;
        while (k < b->net.n_rules && b->compiled[k]->rule != r) k++;
        if (k == b->net.n_rules) {
            const compiled_rule *cr = NULL;
            for (int i = 0; i < u->n_rules; i++) if (u->rules[i].rule == r) cr = &u->rules[i];
            if (!cr) { snprintf(err, errlen, "rule %s was not compiled", r->name); return -1; }
            b->compiled[k] = cr;
            init_meta(u->prog, r, b, k);
            plast_rule *pr = &b->rules[k];
            pr->name = r->name;
            pr->n_meta = r->n_meta;
            pr->init = b->init[k]; pr->l1 = b->l1[k]; pr->fixed = b->fixed[k];
            pr->lo = b->lo[k]; pr->hi = b->hi[k];
            pr->meta_name = (const char *const *)cr->rk.d->meta_name;
            if (!(pr->fwd = find(m, r->name, "fwd", err, errlen)) || !(pr->adj = find(m, r->name, "adj", err, errlen))
                || !(pr->step = find(m, r->name, "step", err, errlen)))
                return -1;
            b->net.n_rules++;
        }
        b->net.rule_of[l] = k;
    }
    return 0;
}

/* What the compiler has kernels for but the runtime cannot train: the
 * episode loop runs each layer once, feed-forward, against one-hot labels.
 * (Dense and readout layers with kcap train: kcap's error path is the
 * straight-through surrogate.) */
static int refuse_model(const sema_model *m, char *err, size_t errlen)
{
    for (int l = 0; l < m->n_layers; l++) {
        if (m->layers[l].kind != LAYER_RECURRENT) continue;
        snprintf(err, errlen, "model %s: layer %d is recurrent (steps %d), which the runtime cannot train yet: "
                 "it runs each layer once; its kernels (%s_dense%d, one step) are compiled, the loop over the "
                 "steps and the recurrent weights are not", m->name, l + 1, m->layers[l].steps, m->name, l + 1);
        return -1;
    }
    if (m->loss == LOSS_MSE_INPUT) {
        snprintf(err, errlen, "model %s: loss mse(input) (autoencoding) is not supported by the runtime yet: "
                 "its targets are the one-hot labels", m->name);
        return -1;
    }
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
    if (refuse_model(model, err, errlen) < 0) return -1;
    plast_net *N = &b->net;
    N->n_layers = model->n_layers;
    N->size[0] = model->n_input;
    static const int fb[] = { PLAST_FB_SYMMETRIC, PLAST_FB_RANDOM, PLAST_FB_DIRECT, PLAST_FB_NONE };
    N->feedback = fb[model->feedback];
    N->precision = backend_real_size(m) == 4 ? PLAST_SINGLE : PLAST_DOUBLE;
    for (int l = 0; l < model->n_layers; l++) {
        char base[128];
        N->size[l + 1] = model->layers[l].size;
        snprintf(base, sizeof base, "%s_dense%d", model->name, l + 1);
        if (!(N->dense_fwd[l] = find(m, base, "fwd", err, errlen)) || !(N->dense_adj[l] = find(m, base, "adj", err, errlen)))
            return -1;
        if (model->feedback == FB_NONE) continue;
        snprintf(base, sizeof base, "%s_error%d", model->name, l + 1);
        if (!(N->error_fwd[l] = find(m, base, "fwd", err, errlen)) || !(N->error_adj[l] = find(m, base, "adj", err, errlen)))
            return -1;
    }
    char base[128];
    snprintf(base, sizeof base, "%s_loss", model->name);
    if (!(N->loss_fwd = find(m, base, "fwd", err, errlen)) || !(N->loss_adj = find(m, base, "adj", err, errlen)))
        return -1;
    N->rules = b->rules;
    return bind_rules(u, m, x, b, err, errlen);
}

void bind_free(bound_net *b)
{
    for (int k = 0; k < b->net.n_rules; k++) {
        free(b->init[k]); free(b->l1[k]); free(b->fixed[k]); free(b->lo[k]); free(b->hi[k]);
    }
    memset(b, 0, sizeof *b);
}

backend_module *bind_load(const compiled_unit *u, const char *source, const sema_experiment *x, int use_c,
                          int prec, char *err, size_t errlen)
{
    lower_precision p = (prec < 0 ? x->single : prec) ? PREC_SINGLE : PREC_DOUBLE;
    backend_module *m = use_c ? backend_load_c(u, source, p, err, errlen) : backend_load_jit(u, source, p, err, errlen);
    if (m) jit_release_compiler_memory();
    return m;
}
