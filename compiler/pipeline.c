/* pipeline — the passes after the front end (see pipeline.h). */
#include "config.h"
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

static int in_main_file(const sema_program *p, const sema_rule *r)
{
    return r->span.file == p->main_file;
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
        if (main_only && !in_main_file(p, p->rules[i])) continue;
        compiled_rule *cr = &u->rules[u->n_rules++];
        cr->rule = p->rules[i];
        build_rule(p, p->rules[i], &cr->rk);
        lower_kernel_build(&cr->rk.fwd, &cr->fwd);
        lower_kernel_build(&cr->rk.adj, &cr->adj);
    }
    return u;
}

void pipeline_free(compiled_unit *u)
{
    if (!u) return;
    for (int i = 0; i < u->n_rules; i++) {
        lower_kernel_free(&u->rules[i].fwd);
        lower_kernel_free(&u->rules[i].adj);
        rule_kernels_free(&u->rules[i].rk);
    }
    free(u->rules);
    sema_program_free(u->prog);
    free(u);
}

void pipeline_emit_c(FILE *out, const compiled_unit *u, const char *source, emit_precision prec)
{
    emit_c_prelude(out, source, prec);
    for (int i = 0; i < u->n_rules; i++) {
        emit_c_kernel(out, &u->rules[i].fwd, prec);
        emit_c_kernel(out, &u->rules[i].adj, prec);
    }
}
