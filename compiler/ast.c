/* ast — arena, constructors and the --dump=ast printer.
 * The arena is a list of 64 KiB chunks; nothing is freed before the end of a
 * compilation, which keeps the parser's error paths free of ownership rules. */
#include "config.h"
#include "ast.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk { struct chunk *next; size_t used, cap; max_align_t data[]; } chunk;
static chunk *arena;

void *ast_alloc(size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!arena || arena->cap - arena->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        chunk *c = malloc(sizeof *c + cap);
        if (!c) { fputs("plastcc: out of memory\n", stderr); abort(); }
        c->next = arena;
        c->used = 0;
        c->cap = cap;
        arena = c;
    }
    void *p = (char *)arena->data + arena->used;
    arena->used += size;
    memset(p, 0, size);
    return p;
}

const char *ast_strdup(const char *s, size_t n)
{
    char *p = ast_alloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ast_arena_free(void)
{
    while (arena) {
        chunk *next = arena->next;
        free(arena);
        arena = next;
    }
}

void ast_vec_push(ast_vec *vec, void *p)
{
    if (vec->n == vec->cap) {
        int cap = vec->cap ? 2 * vec->cap : 4;
        void **v = ast_alloc((size_t)cap * sizeof *v);
        if (vec->n) memcpy(v, vec->v, (size_t)vec->n * sizeof *v);
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = p;
}

static ast_expr *new_expr(ast_expr_kind k, src_span at)
{
    ast_expr *e = ast_alloc(sizeof *e);
    e->kind = k;
    e->span = at;
    e->name_span = at;
    e->ref = -1;
    e->depth = 1;
    return e;
}

ast_expr *ast_num(src_span at, double v)
{
    ast_expr *e = new_expr(EX_NUM, at);
    e->num = v;
    return e;
}

ast_expr *ast_name(src_span at, const char *name)
{
    ast_expr *e = new_expr(EX_NAME, at);
    e->name = name;
    return e;
}

ast_expr *ast_field(src_span at, const char *base, src_span base_span, const char *field)
{
    ast_expr *e = new_expr(EX_FIELD, at);
    e->name = base;
    e->name_span = base_span;
    e->field = field;
    return e;
}

ast_expr *ast_field_at(src_span at, const char *base, src_span base_span, ast_expr *nb, const char *field,
                       src_span field_span, ast_expr *step)
{
    ast_expr *e = ast_field(at, base, base_span, field);
    e->name_span = field_span;
    e->nb_ix = nb;
    e->step_ix = step;
    int d = nb ? nb->depth : 0;
    if (step && step->depth > d) d = step->depth;
    e->depth = d + 1;
    return e;
}

ast_expr *ast_index(src_span at, const char *name, src_span name_span, ast_expr *index)
{
    ast_expr *e = new_expr(EX_INDEX, at);
    e->name = name;
    e->name_span = name_span;
    e->rhs = index;
    e->depth = index->depth + 1;
    return e;
}

ast_expr *ast_call(src_span at, const char *name, src_span name_span, ast_expr **args, int n)
{
    ast_expr *e = new_expr(EX_CALL, at);
    e->name = name;
    e->name_span = name_span;
    e->args = args;
    e->n_args = n;
    for (int i = 0; i < n; i++)
        if (args[i]->depth >= e->depth) e->depth = args[i]->depth + 1;
    return e;
}

ast_expr *ast_neg(src_span at, ast_expr *x)
{
    ast_expr *e = new_expr(EX_NEG, at);
    e->lhs = x;
    e->depth = x->depth + 1;
    return e;
}

ast_expr *ast_bin(src_span at, char op, ast_expr *a, ast_expr *b)
{
    ast_expr *e = new_expr(EX_BIN, at);
    e->op = op;
    e->lhs = a;
    e->rhs = b;
    e->depth = (a->depth > b->depth ? a->depth : b->depth) + 1;
    return e;
}

/* ---- printer: fully parenthesised, so the dump shows how the parser grouped ---- */

void ast_print_expr(FILE *out, const ast_expr *e)
{
    switch (e->kind) {
    case EX_NUM: fprintf(out, "%.17g", e->num); break;
    case EX_NAME: fputs(e->name, out); break;
    case EX_FIELD:
        fputs(e->name, out);
        if (e->nb_ix) { fputc('[', out); ast_print_expr(out, e->nb_ix); fputc(']', out); }
        fprintf(out, ".%s", e->field);
        if (e->step_ix) { fputc('[', out); ast_print_expr(out, e->step_ix); fputc(']', out); }
        break;
    case EX_INDEX:
        fprintf(out, "%s[", e->name);
        ast_print_expr(out, e->rhs);
        fputc(']', out);
        break;
    case EX_CALL:
        fprintf(out, "%s(", e->name);
        for (int i = 0; i < e->n_args; i++) {
            if (i) fputs(", ", out);
            ast_print_expr(out, e->args[i]);
        }
        fputc(')', out);
        break;
    case EX_NEG:
        fputs("(-", out);
        ast_print_expr(out, e->lhs);
        fputc(')', out);
        break;
    case EX_BIN:
        fputc('(', out);
        ast_print_expr(out, e->lhs);
        fprintf(out, " %c ", e->op);
        ast_print_expr(out, e->rhs);
        fputc(')', out);
        break;
    }
}

static void print_item(FILE *out, const ast_item *it)
{
    switch (it->kind) {
    case IT_NUM: fprintf(out, "%.17g", it->num); break;
    case IT_WORD: fputs(it->text, out); break;
    case IT_STRING: fprintf(out, "\"%s\"", it->text); break;
    case IT_CALL:
    case IT_LIST:
        fputs(it->kind == IT_CALL ? it->text : "", out);
        fputc(it->kind == IT_CALL ? '(' : '[', out);
        for (int i = 0; i < it->n_args; i++) {
            if (i) fputs(", ", out);
            print_item(out, it->args[i]);
        }
        fputc(it->kind == IT_CALL ? ')' : ']', out);
        break;
    }
}

const char *ast_decl_kind_name(ast_decl_kind k)
{
    static const char *const names[] = { "import", "model", "mlp", "rule", "experiment" };
    return names[k];
}

static void dump_stmt(FILE *out, const ast_stmt *s)
{
    fputs("  ", out);
    switch (s->kind) {
    case ST_CONFIG:
        fputs(s->name, out);
        for (int i = 0; i < s->n_items; i++) { fputc(' ', out); print_item(out, s->items[i]); }
        break;
    case ST_PARAM:
        fprintf(out, "param %s", s->name);
        if (s->size) { fputc('[', out); ast_print_expr(out, s->size); fputc(']', out); }
        fputs(" = ", out);
        if (s->init_is_list) fputc('[', out);
        for (int i = 0; i < s->n_init; i++) {
            if (i) fputs(", ", out);
            ast_print_expr(out, s->init[i]);
        }
        if (s->init_is_list) fputc(']', out);
        for (int i = 0; i < s->n_attrs; i++) { fputc(' ', out); print_item(out, s->attrs[i]); }
        break;
    case ST_NEURON:
        fputs("neuron (", out);
        for (int i = 0; i < s->n_names; i++) fprintf(out, "%s%s", i ? ", " : "", s->names[i]);
        fputs(") = ", out);
        ast_print_expr(out, s->value);
        break;
    case ST_LET:
    case ST_ASSIGN:
        fprintf(out, "%s%s%s%s = ", s->kind == ST_LET ? "let " : "", s->name, s->qual ? " " : "", s->qual ? s->qual : "");
        ast_print_expr(out, s->value);
        break;
    }
    fputs(";\n", out);
}

void ast_dump_decl(FILE *out, const ast_decl *d)
{
    if (d->kind == DECL_IMPORT) {
        fprintf(out, "import \"%s\";\n", d->name);
        return;
    }
    fprintf(out, "%s %s {\n", ast_decl_kind_name(d->kind), d->name);
    for (const ast_stmt *s = d->body; s; s = s->next) dump_stmt(out, s);
    fputs("}\n", out);
}

void ast_dump_unit(FILE *out, const ast_unit *u)
{
    for (const ast_decl *d = u->decls; d; d = d->next) ast_dump_decl(out, d);
}
