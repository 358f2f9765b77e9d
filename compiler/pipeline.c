/* pipeline — the passes after the front end (see pipeline.h). */
#include "config.h"
#include "pipeline.h"
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

/* Does a model of P (or only model ONLY) carry value NAME top-down? */
static int carried(const sema_program *p, const sema_model *only, const char *name)
{
    for (int i = 0; i < p->n_models; i++) {
        const sema_model *m = p->models[i];
        if ((!only || m == only) && m->topdown && m->carried_signal < 0 && !strcmp(m->carried, name)) return 1;
    }
    return 0;
}

static void lower_neuron(compiled_neuron *cn)
{
    lower_kernel_build(&cn->k.fwd, &cn->fwd);
    lower_kernel_build(&cn->k.adj, &cn->adj);
}

/* RULE_neurons (the values of meta-MLPs), and RULE_neuron_X for a value X
 * that a model carries top-down and that is no meta-MLP's. */
static void compile_neurons(const sema_program *p, const sema_rule *r, const sema_model *only, compiled_rule *cr)
{
    cr->neuron = calloc((size_t)r->n_values + 2, sizeof *cr->neuron);
    int any_mlp = 0;
    for (int v = 0; v < r->n_values; v++) any_mlp |= build_value_is_mlp(r, v);
    if (any_mlp) {
        compiled_neuron *cn = &cr->neuron[cr->n_neuron++];
        build_neurons_kernel(p, r, &cn->k);
        lower_neuron(cn);
    }
    for (int v = 0; v < r->n_values; v++) {
        if (build_value_is_mlp(r, v) || !carried(p, only, r->values[v].name)) continue;
        compiled_neuron *cn = &cr->neuron[cr->n_neuron++];
        cn->value = r->values[v].name;
        build_neuron_kernel(p, r, v, &cn->k);
        lower_neuron(cn);
    }
}

/* R's kernels; its neuron-value kernels for the models of P (or model ONLY);
 * with experiment X (of model ONLY) whose schedule fuses the updates with
 * the next step's dense calls, RULE_step_M_denseL for each layer R updates
 * (built on the rule's DAG before any of its kernels is lowered). */
static void compile_rule(const sema_program *p, const sema_rule *r, const sema_model *only,
                         const sema_experiment *x, compiled_rule *cr)
{
    cr->rule = r;
    build_rule(p, r, &cr->rk);
    if (x && cr->rk.kind == DW_FORWARD && sched_fuses_dense(p, x)) {
        cr->fused = calloc((size_t)only->n_layers, sizeof *cr->fused);
        cr->fused_lowered = calloc((size_t)only->n_layers, sizeof *cr->fused_lowered);
        for (int l = 0; l < only->n_layers; l++)
            if (p->rules[x->rule_of_projection[l]] == r) build_rule_step_dense(only, l, &cr->rk, &cr->fused[cr->n_fused++]);
    }
    for (int k = 0; k < cr->n_fused; k++) lower_kernel_build(&cr->fused[k], &cr->fused_lowered[k]);
    if (x && cr->rk.kind == DW_FORWARD && sched_adj_input(p, x, r)) {
        build_rule_adj_input(&cr->rk, &cr->adj_input);
        lower_kernel_build(&cr->adj_input, &cr->adj_input_lowered);
        cr->has_adj_input = 1;
    }
    lower_kernel_build(&cr->rk.fwd, &cr->fwd);
    lower_kernel_build(&cr->rk.adj, &cr->adj);
    lower_kernel_build(&cr->rk.step, &cr->step);
    for (int k = cr->rk.kind + 1; k < DW_KINDS; k++) {
        if (!r->dw_of[k]) continue;
        compiled_dw *cd = &cr->more[cr->n_more++];
        build_rule_dw(p, r, k, &cd->rk);
        lower_kernel_build(&cd->rk.fwd, &cd->fwd);
        lower_kernel_build(&cd->rk.adj, &cd->adj);
        lower_kernel_build(&cd->rk.step, &cd->step);
    }
    compile_neurons(p, r, only, cr);
}

static void free_rule(compiled_rule *cr)
{
    lower_kernel_free(&cr->fwd);
    lower_kernel_free(&cr->adj);
    lower_kernel_free(&cr->step);
    rule_kernels_free(&cr->rk);
    for (int k = 0; k < cr->n_more; k++) {
        lower_kernel_free(&cr->more[k].fwd);
        lower_kernel_free(&cr->more[k].adj);
        lower_kernel_free(&cr->more[k].step);
        rule_kernels_free(&cr->more[k].rk);
    }
    for (int k = 0; k < cr->n_neuron; k++) {
        lower_kernel_free(&cr->neuron[k].fwd);
        lower_kernel_free(&cr->neuron[k].adj);
        model_kernel_free(&cr->neuron[k].k);
    }
    free(cr->neuron);
    for (int k = 0; k < cr->n_fused; k++) lower_kernel_free(&cr->fused_lowered[k]);
    free(cr->fused_lowered);
    if (cr->has_adj_input) {
        lower_kernel_free(&cr->adj_input_lowered);
        kern_copy_free(&cr->adj_input);
    }
    free(cr->fused);
}

static void lower_pair(compiled_model *cm, model_kernel *k)
{
    if (!k->d) return;
    lower_kernel_build(&k->fwd, &cm->lowered[cm->n_lowered++]);
    lower_kernel_build(&k->adj, &cm->lowered[cm->n_lowered++]);
}

/* SHIFT: the model's M_shift too (a rule of the program reads neighbours). */
static void compile_model(const sema_model *m, compiled_model *cm, int shift)
{
    cm->model = m;
    build_model(m, &cm->mk);
    if (shift) build_model_shift(m, &cm->mk);
    cm->lowered = calloc((size_t)(6 * m->n_layers + 6), sizeof *cm->lowered);
    for (int l = 0; l < m->n_layers; l++) lower_pair(cm, &cm->mk.dense[l]);
    for (int l = 0; l < m->n_layers; l++) lower_pair(cm, &cm->mk.error[l]);
    for (int l = 0; l < m->n_layers; l++) lower_pair(cm, &cm->mk.recerror[l]);
    lower_pair(cm, &cm->mk.loss);
    lower_pair(cm, &cm->mk.shift);
    lower_pair(cm, &cm->mk.linear);
}

int pipeline_kernels(const compiled_unit *u, const lower_kernel ***out)
{
    int n = 0;
    for (int r = 0; r < u->n_rules; r++)
        n += 3 * (1 + u->rules[r].n_more) + 2 * u->rules[r].n_neuron + u->rules[r].n_fused + u->rules[r].has_adj_input;
    for (int m = 0; m < u->n_models; m++) n += u->models[m].n_lowered;
    const lower_kernel **list = malloc((size_t)(n + 1) * sizeof *list);
    n = 0;
    for (int r = 0; r < u->n_rules; r++) {
        const compiled_rule *cr = &u->rules[r];
        list[n++] = &cr->fwd;
        list[n++] = &cr->adj;
        list[n++] = &cr->step;
        for (int k = 0; k < cr->n_fused; k++) list[n++] = &cr->fused_lowered[k];
        if (cr->has_adj_input) list[n++] = &cr->adj_input_lowered;
        for (int k = 0; k < cr->n_more; k++) {
            list[n++] = &cr->more[k].fwd;
            list[n++] = &cr->more[k].adj;
            list[n++] = &cr->more[k].step;
        }
        for (int k = 0; k < cr->n_neuron; k++) {
            list[n++] = &cr->neuron[k].fwd;
            list[n++] = &cr->neuron[k].adj;
        }
    }
    for (int m = 0; m < u->n_models; m++)
        for (int k = 0; k < u->models[m].n_lowered; k++) list[n++] = &u->models[m].lowered[k];
    *out = list;
    return n;
}

compiled_unit *pipeline_compile_experiment(const char *path, const char *name, int *not_found)
{
    *not_found = 0;
    int before = diag_error_count();
    sema_program *p = sema_load(path);
    if (diag_error_count() != before) { sema_program_free(p); return NULL; }
    int x = sema_find_experiment(p, name);
    if (x < 0) { *not_found = 1; sema_program_free(p); return NULL; }
    const sema_experiment *e = p->experiments[x];
    compiled_unit *u = calloc(1, sizeof *u);
    u->prog = p;
    u->rules = calloc((size_t)(p->n_rules ? p->n_rules : 1), sizeof *u->rules);
    const sema_model *m = p->models[e->model];
    int shift = 0;
    for (int i = 0; i < p->n_rules; i++) {
        int used = 0;
        for (int k = 0; k < sema_projection_count(m); k++) used |= e->rule_of_projection[k] == i;
        for (int l = 0; l < m->n_layers; l++) used |= e->rule_of_recurrent[l] == i;
        if (!used) continue;
        compile_rule(p, p->rules[i], m, e, &u->rules[u->n_rules++]);
        for (int k = 0; k < p->rules[i]->n_reads; k++) shift |= p->rules[i]->reads[k].nb != 0;
    }
    u->models = calloc(1, sizeof *u->models);
    compile_model(p->models[e->model], &u->models[u->n_models++], shift);
    return u;
}

/* Every rule and model of the checked program P (of its main file only when
 * MAIN_ONLY), built and lowered; NULL (P freed) when the front end reported
 * errors since BEFORE. */
static compiled_unit *compile_program(sema_program *p, int before, int main_only)
{
    if (diag_error_count() != before) { sema_program_free(p); return NULL; }
    compiled_unit *u = calloc(1, sizeof *u);
    u->prog = p;
    u->rules = calloc((size_t)(p->n_rules ? p->n_rules : 1), sizeof *u->rules);
    for (int i = 0; i < p->n_rules; i++) {
        if (main_only && p->rules[i]->span.file != p->main_file) continue;
        compile_rule(p, p->rules[i], NULL, NULL, &u->rules[u->n_rules++]);
    }
    u->models = calloc((size_t)(p->n_models ? p->n_models : 1), sizeof *u->models);
    for (int i = 0; i < p->n_models; i++) {
        const sema_model *m = p->models[i];
        if (main_only && m->span.file != p->main_file) continue;
        compile_model(m, &u->models[u->n_models++], build_program_reads_neighbours(p));
    }
    return u;
}

compiled_unit *pipeline_compile(const char *path, int main_only)
{
    int before = diag_error_count();
    return compile_program(sema_load(path), before, main_only);
}

compiled_unit *pipeline_compile_buffer(const char *name, const char *text, size_t len)
{
    int before = diag_error_count();
    return compile_program(sema_load_buffer(name, text, len), before, 0);
}

void pipeline_free(compiled_unit *u)
{
    if (!u) return;
    for (int i = 0; i < u->n_rules; i++) free_rule(&u->rules[i]);
    free(u->rules);
    for (int m = 0; m < u->n_models; m++) {
        for (int k = 0; k < u->models[m].n_lowered; k++) lower_kernel_free(&u->models[m].lowered[k]);
        free(u->models[m].lowered);
        model_kernels_free(&u->models[m].mk);
    }
    free(u->models);
    sema_program_free(u->prog);
    free(u);
}

void pipeline_emit_c(FILE *out, const compiled_unit *u, const char *source, lower_precision prec)
{
    const lower_kernel **list;
    int n = pipeline_kernels(u, &list);
    emit_c_file(out, list, n, source, prec);
    free(list);
}
