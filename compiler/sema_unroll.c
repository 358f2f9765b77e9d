/* sema_unroll — recurrent layers in models, experiments and rules.
 *
 * A layer `recurrent N act steps T` runs x_1 = act(W_l x_0) and then
 * x_{s+1} = act(Wrec_l x_s), s = 1..T, with the tied recurrent weights
 * Wrec_l, a projection of its own ("Wrec<l>" in `rule R on ...`).  Its
 * states x_1 .. x_{T+1} are what a rule reads as pre.y[s] / post.y[s] (and
 * z[s]) at an end of a projection that touches the layer; without a step, a
 * signal is the one of the projection's own transmission: for W_l the
 * presynaptic layer's output and x_1, for Wrec_l x_T and x_{T+1}, for
 * W_{l+1} x_{T+1} (the layer's output); e[s] is the error of x_s (the
 * feedback pathway runs back through the steps).  A read pre[d].y is the
 * neuron d places away from j (cyclic in the layer).  This file checks what
 * depends on the model: which ends have steps, how many, how wide they are.
 */
#include "config.h"
#include "sema_impl.h"

#include <stdlib.h>
#include <string.h>

int sema_layer_states(const sema_model *m, int k)
{
    if (k < 1 || k > m->n_layers || m->layers[k - 1].kind != LAYER_RECURRENT) return 0;
    return m->layers[k - 1].steps + 1;
}

void sema_projection_ends(const sema_model *m, int l, int recurrent, int *pre, int *post)
{
    (void)m;
    *post = l + 1;
    *pre = recurrent ? l + 1 : l;
}

/* 'Wrec<l>', l = 1..64 */
int sema_recurrent_name(const ast_item *it, unsigned long long *bits, src_span *at)
{
    if (it->kind != IT_WORD || strncmp(it->text, "Wrec", 4)) return 0;
    char *end = NULL;
    long l = it->text[4] >= '0' && it->text[4] <= '9' ? strtol(it->text + 4, &end, 10) : 0;
    if (!end || *end || l < 1 || l > 64) {
        diag_error(it->span, "expected a recurrent projection name Wrec1, Wrec2, ... (Wrec_l: the recurrent "
                   "weights of layer l)");
        return -1;
    }
    if (*bits >> (l - 1) & 1) {
        diag_error(it->span, "Wrec%ld is named twice in this statement", l);
        return -1;
    }
    *bits |= 1ull << (l - 1);
    at[l - 1] = it->span;
    return 1;
}

/* Errors flow back through the unrolled steps through Wrec_l (symmetric) or
 * a fixed Brec_l (random); a direct projection from the output has no
 * steps to follow, so direct feedback is refused with a recurrent layer. */
void sema_check_recurrent_model(const sema_model *m)
{
    if (m->feedback != FB_DIRECT) return;
    for (int l = 0; l < m->n_layers; l++) {
        if (m->layers[l].kind != LAYER_RECURRENT) continue;
        diag_error(m->layers[l].span, "layer %d is recurrent, and direct feedback (a projection of the output "
                   "error to each layer) has no steps to follow; expected 'feedback symmetric;' (backprop through "
                   "the steps), 'feedback random;' or 'feedback none;'", l + 1);
        return;
    }
}

src_span rule_statement_of(const sema_experiment *x, int rule)
{
    for (int a = 0; a < x->n_assigns; a++)
        if (x->assigns[a].rule == rule) return x->assigns[a].span;
    return x->span;
}

/* The rule of Wrec_{l+1} for each recurrent layer l of M, one per projection. */
void sema_assign_recurrent(sema_program *p, sema_experiment *x, const sema_model *m, const src_span *rec_at)
{
    x->rule_of_recurrent = malloc((size_t)m->n_layers * sizeof *x->rule_of_recurrent);
    for (int l = 0; l < m->n_layers; l++) x->rule_of_recurrent[l] = -1;
    for (int a = 0; a < x->n_assigns; a++) {
        const sema_assign *as = &x->assigns[a];
        const src_span *at = rec_at + (size_t)a * 64;
        int used = 0;
        for (int l = 0; l < 64; l++) {
            if (!(as->recurrent >> l & 1)) continue;
            int named = as->recurrent != ~0ull;
            if (l >= m->n_layers || m->layers[l].kind != LAYER_RECURRENT) {
                if (named && l >= m->n_layers)
                    diag_error(at[l], "model '%s' has %d layers; there is no Wrec%d", m->name, m->n_layers, l + 1);
                else if (named)
                    diag_error(at[l], "layer %d of model '%s' is not recurrent, so there is no Wrec%d; expected "
                               "'recurrent N act steps T;' for that layer", l + 1, m->name, l + 1);
                continue;
            }
            if (x->rule_of_recurrent[l] >= 0) {
                diag_error(at[l], "projection Wrec%d already has rule '%s'; expected one rule per projection", l + 1,
                           p->rules[x->rule_of_recurrent[l]]->name);
                continue;
            }
            x->rule_of_recurrent[l] = as->rule;
            used = 1;
            char name[16];
            snprintf(name, sizeof name, "Wrec%d", l + 1);
            sema_rule_fits_projection(p->rules[as->rule], m, l, 1, name, as->span);
        }
        if (used && !as->all && !as->n_named) sema_rule_fits_model(p, p->rules[as->rule], m, as->span);
    }
}

/* "the presynaptic end of W1 is the input" */
static void describe_end(char *buf, size_t len, const sema_model *m, int k)
{
    if (k == 0) snprintf(buf, len, "the input");
    else snprintf(buf, len, "layer %d (%s)", k, m->layers[k - 1].kind == LAYER_RECURRENT ? "recurrent" :
                  m->layers[k - 1].kind == LAYER_READOUT ? "readout" : "dense");
}

static int read_fits(const sema_rule *r, const sema_read *rd, const sema_model *m, int k, const char *name,
                     src_span at)
{
    const char *end = rd->side == SIDE_PRE ? "pre" : "post";
    char what[64], layer[48];
    if (rd->nb) snprintf(what, sizeof what, "%s[%d].%s", end, rd->nb, sema_signal_names[rd->signal]);
    else snprintf(what, sizeof what, "%s.%s", end, sema_signal_names[rd->signal]);
    if (rd->step) snprintf(what + strlen(what), sizeof what - strlen(what), "[%d]", rd->step);
    describe_end(layer, sizeof layer, m, k);
    int states = sema_layer_states(m, k), width = k ? m->layers[k - 1].size : m->n_input;
    const char *via = rd->via ? " (through neuron value '" : "", *via_name = rd->via ? rd->via : "",
               *via_end = rd->via ? "')" : "";
    int ok = 1;
    if (rd->step && !states) {
        diag_error(rd->at, "rule '%s' reads %s%s%s%s, but the %ssynaptic end of %s is %s, which has no unrolled "
                   "steps; expected a step only at an end that is a recurrent layer", r->name, what, via, via_name,
                   via_end, end, name, layer);
        ok = 0;
    } else if (rd->step > states) {
        diag_error(rd->at, "rule '%s' reads %s%s%s%s, but the %ssynaptic end of %s is %s, whose states are x_1 to "
                   "x_%d (steps %d); expected a step from 1 to %d", r->name, what, via, via_name, via_end, end, name,
                   layer, states, states - 1, states);
        ok = 0;
    } else if (rd->nb >= width || -rd->nb >= width) {
        diag_error(rd->at, "rule '%s' reads %s%s%s%s, but the %ssynaptic end of %s is %s, of %d neuron%s; expected "
                   "a neighbour d with |d| below %d", r->name, what, via, via_name, via_end, end, name, layer, width,
                   width == 1 ? "" : "s", width);
        ok = 0;
    }
    if (!ok) diag_note(at, "the rule is used on %s here", name);
    return ok;
}

int sema_rule_fits_projection(const sema_rule *r, const sema_model *m, int l, int recurrent, const char *name,
                              src_span at)
{
    int pre, post, bad[3] = { 0, 0, 0 };   /* one error per end: the first read that does not fit */
    sema_projection_ends(m, l, recurrent, &pre, &post);
    for (int i = 0; i < r->n_reads; i++) {
        const sema_read *rd = &r->reads[i];
        if (!bad[rd->side]) bad[rd->side] = !read_fits(r, rd, m, rd->side == SIDE_PRE ? pre : post, name, at);
    }
    return !bad[SIDE_PRE] && !bad[SIDE_POST];
}
