/* pipeline — the passes after the front end (see pipeline.h). */
#include "config.h"
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

static void compile_rule(const sema_program *p, const sema_rule *r, compiled_rule *cr)
{
    cr->rule = r;
    build_rule(p, r, &cr->rk);
    lower_kernel_build(&cr->rk.fwd, &cr->fwd);
    lower_kernel_build(&cr->rk.adj, &cr->adj);
    lower_kernel_build(&cr->rk.step, &cr->step);
}

static void lower_pair(compiled_model *cm, model_kernel *k)
{
    if (!k->d) return;
    lower_kernel_build(&k->fwd, &cm->lowered[cm->n_lowered++]);
    lower_kernel_build(&k->adj, &cm->lowered[cm->n_lowered++]);
}

static void compile_model(const sema_model *m, compiled_model *cm)
{
    cm->model = m;
    build_model(m, &cm->mk);
    cm->lowered = calloc((size_t)(4 * m->n_layers + 2), sizeof *cm->lowered);
    for (int l = 0; l < m->n_layers; l++) lower_pair(cm, &cm->mk.dense[l]);
    for (int l = 0; l < m->n_layers; l++) lower_pair(cm, &cm->mk.error[l]);
    lower_pair(cm, &cm->mk.loss);
}

int pipeline_kernels(const compiled_unit *u, const lower_kernel ***out)
{
    int n = 3 * u->n_rules;
    for (int m = 0; m < u->n_models; m++) n += u->models[m].n_lowered;
    const lower_kernel **list = malloc((size_t)(n + 1) * sizeof *list);
    n = 0;
    for (int r = 0; r < u->n_rules; r++) {
        list[n++] = &u->rules[r].fwd;
        list[n++] = &u->rules[r].adj;
        list[n++] = &u->rules[r].step;
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
    for (int i = 0; i < p->n_rules; i++) {
        int used = 0;
        for (int l = 0; l < p->models[e->model]->n_layers; l++) used |= e->rule_of_projection[l] == i;
        if (!used) continue;
        compile_rule(p, p->rules[i], &u->rules[u->n_rules++]);
    }
    u->models = calloc(1, sizeof *u->models);
    compile_model(p->models[e->model], &u->models[u->n_models++]);
    return u;
}

compiled_unit *pipeline_compile(const char *path, int main_only)
{
    int before = diag_error_count();
    sema_program *p = sema_load(path);
    if (diag_error_count() != before) { sema_program_free(p); return NULL; }
    compiled_unit *u = calloc(1, sizeof *u);
    u->prog = p;
    u->rules = calloc((size_t)(p->n_rules ? p->n_rules : 1), sizeof *u->rules);
    for (int i = 0; i < p->n_rules; i++) {
        if (main_only && p->rules[i]->span.file != p->main_file) continue;
        compile_rule(p, p->rules[i], &u->rules[u->n_rules++]);
    }
    u->models = calloc((size_t)(p->n_models ? p->n_models : 1), sizeof *u->models);
    for (int i = 0; i < p->n_models; i++) {
        const sema_model *m = p->models[i];
        if (main_only && m->span.file != p->main_file) continue;
        compile_model(m, &u->models[u->n_models++]);
    }
    return u;
}

void pipeline_free(compiled_unit *u)
{
    if (!u) return;
    for (int i = 0; i < u->n_rules; i++) {
        lower_kernel_free(&u->rules[i].fwd);
        lower_kernel_free(&u->rules[i].adj);
        lower_kernel_free(&u->rules[i].step);
        rule_kernels_free(&u->rules[i].rk);
    }
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
