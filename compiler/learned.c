/* learned — writing a rule back with its learned meta-parameters, and a
 * run's learned.rule and meta.csv (learned.h). */
#include "config.h"
#include "learned.h"
#include "bind.h"
#include "outdir.h"

#include <math.h>
#include <string.h>

/* The mlps a rule's text calls under another name in learned.rule. */
typedef struct renames { const char *from[64], *to[64]; int n; } renames;

static int ident_char(char c, int first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

/* The source text of S, with the identifiers of R renamed. */
static void put_span(FILE *out, src_span s, const renames *R)
{
    const src_file *f = diag_file(s.file);
    if (!f || s.end > f->len) return;
    const char *t = f->text + s.begin, *end = f->text + s.end;
    while (t < end) {
        const char *w = t;
        if (ident_char(*t, 1)) while (t < end && ident_char(*t, 0)) t++;
        else t++;
        int hit = -1;
        for (int i = 0; R && ident_char(*w, 1) && i < R->n && hit < 0; i++)
            if (strlen(R->from[i]) == (size_t)(t - w) && !strncmp(w, R->from[i], (size_t)(t - w))) hit = i;
        if (hit >= 0) fputs(R->to[hit], out);
        else fwrite(w, 1, (size_t)(t - w), out);
    }
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
        fprintf(out, "%s%.17g", k ? ", " : "", meta[prm->offset + k]);
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

static void write_dw(FILE *out, const sema_rule *r, int kind, const double *meta, const renames *R)
{
    const ast_expr *terms[256];
    int signs[256];
    int n = flatten(r->dw_of[kind], 1, terms, signs, 0, 256), kept = 0;
    for (int i = 0; i < n; i++) {
        int k = coefficient_of(r, terms[i]);
        if (k >= 0 && meta[k] == 0) {
            fprintf(out, "  # dropped (coefficient exactly 0): %c ", signs[i] < 0 ? '-' : '+');
            put_span(out, terms[i]->span, R);
            fputc('\n', out);
        }
    }
    fprintf(out, "  dw%s%s =", kind ? " " : "", kind ? sema_dw_kind_names[kind] : "");
    for (int i = 0; i < n; i++) {
        int k = coefficient_of(r, terms[i]);
        if (k >= 0 && meta[k] == 0) continue;
        fprintf(out, "%s%s ", kept ? "\n       " : "", signs[i] < 0 ? " -" : kept ? " +" : "");
        put_span(out, terms[i]->span, R);
        kept++;
    }
    if (!kept) fputs(" 0", out);
    fputs(";\n", out);
}

/* An mlp block as NAME with its layers and the weights W (all of them, in
 * the meta vector's layout), %.17g: importing it starts exactly there. */
static void write_mlp(FILE *out, const sema_mlp *net, const char *name, const double *w)
{
    fprintf(out, "mlp %s {\n  in %d;\n", name, net->n_in);
    for (int l = 0; l < net->n_layers; l++) {
        fprintf(out, "  dense %d", net->width[l]);
        if (net->act[l] == ACT_SOFTPLUS) fprintf(out, " softplus(%.17g)", net->act_arg[l]);
        else if (net->act[l] != ACT_IDENTITY) fprintf(out, " %s", sema_act_names[net->act[l]]);
        fputs(";\n", out);
    }
    fputs("  weights [", out);
    for (int k = 0; k < net->n_weights; k++) fprintf(out, "%s%.17g", k % 6 ? ", " : k ? ",\n    " : "\n    ", w[k]);
    fputs("];\n}\n", out);
}

/* Rule R with META; the mlps it calls written first, each named NAMES[m]
 * (NULL: its own name). */
static void write_rule_as(FILE *out, const sema_program *p, const sema_rule *r, const double *meta, double tol,
                          const char *const *names)
{
    renames R = { { 0 }, { 0 }, 0 };
    for (int m = 0; m < r->n_mlps && m < 64; m++) {
        const sema_mlp *net = p->mlps[r->mlps[m]];
        const char *name = names && names[m] ? names[m] : net->name;
        write_mlp(out, net, name, meta + r->mlp_offset[m]);
        if (strcmp(name, net->name)) { R.from[R.n] = net->name; R.to[R.n++] = name; }
    }
    fprintf(out, "rule %s {\n", r->name);
    int next_param = 0;
    for (const ast_stmt *s = r->decl->body; s; s = s->next) {
        if (s->kind == ST_PARAM && next_param < r->n_params) write_param(out, &r->params[next_param++], meta, tol);
        else if (s->kind == ST_ASSIGN) {
            int kind = DW_FORWARD;
            while (s->qual && kind + 1 < DW_KINDS && strcmp(s->qual, sema_dw_kind_names[kind])) kind++;
            write_dw(out, r, kind, meta, &R);
        }
        else if (s->kind != ST_PARAM) { fputs("  ", out); put_span(out, s->span, &R); fputc('\n', out); }
    }
    fputs("}\n", out);
}

void learned_write_rule(FILE *out, const sema_program *p, const sema_rule *r, const double *meta, double tol)
{
    write_rule_as(out, p, r, meta, tol, NULL);
}

/* Every rule of BN into OUT; an mlp that several of them call is written
 * once per rule, as RULE_MLP (each rule learned its own weights). */
static void write_rules(FILE *out, const sema_program *p, const bound_net *bn, double *const *meta)
{
    for (int r = 0; r < bn->net.n_rules; r++) {
        const sema_rule *sr = bn->compiled[r]->rule;
        char buf[64][160];
        const char *names[64] = { 0 };
        for (int m = 0; m < sr->n_mlps && m < 64; m++) {
            int users = 0;
            for (int q = 0; q < bn->net.n_rules; q++) {
                const sema_rule *o = bn->compiled[q]->rule;
                for (int k = 0; k < o->n_mlps; k++) users += o->mlps[k] == sr->mlps[m];
            }
            if (users < 2) continue;
            snprintf(buf[m], sizeof buf[m], "%s_%s", sr->name, p->mlps[sr->mlps[m]]->name);
            names[m] = buf[m];
        }
        write_rule_as(out, p, sr, meta[r], 1e-6, names);
    }
}

/* A CSV field, quoted only when it must be (an MLP weight's name such as
 * W1[0,2] holds a comma), so that plain names stay greppable. */
static void write_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) { fputs(s, f); return; }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"') putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
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
    write_rules(f, p, bn, meta);
    if (plast_file_commit(&out, err, errlen) < 0) return -1;
    snprintf(path, sizeof path, "%s/meta.csv", dir);
    if (!(f = plast_file_create(&out, path, err, errlen))) return -1;
    fputs("rule,name,value,scale\n", f);
    for (int r = 0; r < bn->net.n_rules; r++)
        for (int k = 0; k < bn->rules[r].n_meta; k++) {
            fprintf(f, "%s,", bn->rules[r].name);
            write_csv_field(f, bn->rules[r].meta_name[k]);
            fprintf(f, ",%.17g,%.6g\n", meta[r][k], scale[r][k]);
        }
    return plast_file_commit(&out, err, errlen);
}
