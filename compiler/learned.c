/* learned — writing a rule back with its learned meta-parameters, and a
 * run's learned.rule and meta.csv (learned.h). */
#include "config.h"
#include "learned.h"
#include "outdir.h"

#include <math.h>
#include <string.h>

static void put_span(FILE *out, src_span s)
{
    const src_file *f = diag_file(s.file);
    if (f && s.end <= f->len) fwrite(f->text + s.begin, 1, s.end - s.begin, out);
}

/* The meta index of a param element this term is a product with, or -1. */
static int coefficient_of(const sema_rule *r, const ast_expr *e)
{
    while (e->kind == EX_NEG) e = e->lhs;
    if (e->ref_kind == REF_PARAM_ELEM) return r->params[e->ref].offset + e->index;
    if (e->ref_kind == REF_PARAM) return r->params[e->ref].offset;
    if (e->kind == EX_BIN && (e->op == '*' || e->op == '/')) {
        int k = coefficient_of(r, e->lhs);
        return k >= 0 || e->op == '/' ? k : coefficient_of(r, e->rhs);
    }
    return -1;
}

/* Flattens dw's top-level sums: TERMS[i] with the sign it is added with. */
static int flatten(const ast_expr *e, int sign, const ast_expr **terms, int *signs, int n, int cap)
{
    if (e->kind == EX_BIN && (e->op == '+' || e->op == '-')) {
        n = flatten(e->lhs, sign, terms, signs, n, cap);
        return flatten(e->rhs, e->op == '-' ? -sign : sign, terms, signs, n, cap);
    }
    if (n < cap) { terms[n] = e; signs[n] = sign; n++; }
    return n;
}

static void write_param(FILE *out, const sema_param *prm, const double *meta, double tol)
{
    fprintf(out, "  param %s", prm->name);
    if (prm->size) fprintf(out, "[%d]", prm->size);
    fputs(" = ", out);
    if (prm->size) fputc('[', out);
    for (int k = 0; k < (prm->size ? prm->size : 1); k++)
        fprintf(out, "%s%.10g", k ? ", " : "", meta[prm->offset + k]);
    if (prm->size) fputc(']', out);
    if (prm->l1) fputs(" l1", out);
    if (prm->fixed) fputs(" fixed", out);
    if (isfinite(prm->lo) || isfinite(prm->hi)) fprintf(out, " range(%.17g, %.17g)", prm->lo, prm->hi);
    fputs(";", out);
    int pruned = 0;
    for (int k = 0; k < (prm->size ? prm->size : 1); k++) {
        double v = meta[prm->offset + k];
        if (fabs(v) >= tol) continue;
        fprintf(out, "%s%s", pruned++ ? ", " : "   # pruned (|value| < tolerance): ", prm->name);
        if (prm->size) fprintf(out, "[%d]", k);
    }
    fputc('\n', out);
}

static void write_dw(FILE *out, const sema_rule *r, int kind, const double *meta)
{
    const ast_expr *terms[256];
    int signs[256];
    int n = flatten(r->dw_of[kind], 1, terms, signs, 0, 256), kept = 0;
    for (int i = 0; i < n; i++) {
        int k = coefficient_of(r, terms[i]);
        if (k >= 0 && meta[k] == 0) {
            fprintf(out, "  # dropped (coefficient exactly 0): %c ", signs[i] < 0 ? '-' : '+');
            put_span(out, terms[i]->span);
            fputc('\n', out);
        }
    }
    fprintf(out, "  dw%s%s =", kind ? " " : "", kind ? sema_dw_kind_names[kind] : "");
    for (int i = 0; i < n; i++) {
        int k = coefficient_of(r, terms[i]);
        if (k >= 0 && meta[k] == 0) continue;
        fprintf(out, "%s%s ", kept ? "\n       " : "", signs[i] < 0 ? " -" : kept ? " +" : "");
        put_span(out, terms[i]->span);
        kept++;
    }
    if (!kept) fputs(" 0", out);
    fputs(";\n", out);
}

void learned_write_rule(FILE *out, const sema_program *p, const sema_rule *r, const double *meta, double tol)
{
    for (int m = 0; m < r->n_mlps; m++) {
        const sema_mlp *net = p->mlps[r->mlps[m]];
        put_span(out, net->span);
        fprintf(out, "\n# the learned weights of %s are in meta.csv\n", net->name);
    }
    fprintf(out, "rule %s {\n", r->name);
    int next_param = 0;
    for (const ast_stmt *s = r->decl->body; s; s = s->next) {
        if (s->kind == ST_PARAM && next_param < r->n_params) write_param(out, &r->params[next_param++], meta, tol);
        else if (s->kind == ST_ASSIGN) {
            int kind = DW_FORWARD;
            while (s->qual && kind + 1 < DW_KINDS && strcmp(s->qual, sema_dw_kind_names[kind])) kind++;
            write_dw(out, r, kind, meta);
        }
        else if (s->kind != ST_PARAM) { fputs("  ", out); put_span(out, s->span); fputc('\n', out); }
    }
    fputs("}\n", out);
}

int learned_write_files(const char *dir, const sema_program *p, const bound_net *bn, double *const *meta,
                        double *const *scale, const char *header, char *err, size_t errlen)
{
    char path[4096];
    plast_file out;
    snprintf(path, sizeof path, "%s/learned.rule", dir);
    FILE *f = plast_file_create(&out, path, err, errlen);
    if (!f) return -1;
    fprintf(f, "# %s\n", header);
    for (int r = 0; r < bn->net.n_rules; r++) learned_write_rule(f, p, bn->compiled[r]->rule, meta[r], 1e-6);
    if (plast_file_commit(&out, err, errlen) < 0) return -1;
    snprintf(path, sizeof path, "%s/meta.csv", dir);
    if (!(f = plast_file_create(&out, path, err, errlen))) return -1;
    fputs("rule,name,value,scale\n", f);
    for (int r = 0; r < bn->net.n_rules; r++)
        for (int k = 0; k < bn->rules[r].n_meta; k++)
            fprintf(f, "%s,%s,%.17g,%.6g\n", bn->rules[r].name, bn->rules[r].meta_name[k], meta[r][k], scale[r][k]);
    return plast_file_commit(&out, err, errlen);
}
