/* ast — the syntax tree of .rule files, with source spans.
 *
 * Nodes live in one arena per compilation (ast_arena_free releases them all).
 * Expressions are trees here; the symbolic core turns them into a hash-consed
 * DAG.  Model, mlp and experiment bodies are "config statements" — a head word
 * and a list of items — checked structurally by sema, which gives better
 * messages than a grammar with a production per keyword.
 */
#ifndef PLAST_AST_H
#define PLAST_AST_H

#include "diag.h"

typedef struct ast_expr ast_expr;
typedef struct ast_item ast_item;
typedef struct ast_stmt ast_stmt;
typedef struct ast_decl ast_decl;

typedef enum {
    EX_NUM,      /* 1.5 */
    EX_NAME,     /* theta, w, y, n_pre, a let or neuron value */
    EX_FIELD,    /* pre.y, post.g: base "pre"/"post", field name; pre.y[2] (an unrolled
                    step), pre[-1].y (a neighbour of the neuron), pre[-1].y[2] */
    EX_INDEX,    /* theta[3] */
    EX_CALL,     /* tanh(x), sum_post(x), hat_net(a, b, c) */
    EX_NEG,      /* -x */
    EX_BIN       /* x + y, x - y, x * y, x / y, x ^ y */
} ast_expr_kind;

struct ast_expr {
    ast_expr_kind kind;
    src_span span;
    src_span name_span;   /* the identifier alone (NAME, FIELD, INDEX, CALL) */
    double num;           /* EX_NUM */
    const char *name;     /* NAME/INDEX/CALL: identifier; FIELD: "pre"/"post" */
    const char *field;    /* EX_FIELD: the signal or neuron value */
    char op;              /* EX_BIN: '+', '-', '*', '/', '^' */
    ast_expr *lhs, *rhs;  /* EX_BIN operands; EX_NEG and EX_INDEX use lhs/rhs too */
    ast_expr **args;      /* EX_CALL */
    int n_args;
    /* filled by sema: */
    int space;            /* index space, see sema.h (SP_*) */
    int ref_kind;         /* what the name resolved to (sema.h REF_*) */
    int ref;              /* which one: parameter, signal, let, op, mlp index */
    int side;             /* FIELD and neuron values: SIDE_PRE, SIDE_POST, SIDE_SELF */
    int index;            /* INDEX: the constant element index */
    int depth;            /* height of this subtree (1 for a leaf); the parser bounds it */
    /* EX_FIELD of a recurrent layer's unrolled steps and of neighbours: */
    ast_expr *step_ix;    /* the [s] after the field, or NULL */
    ast_expr *nb_ix;      /* the [d] after pre/post, or NULL */
    int step;             /* filled by sema: s (0: the projection's own transmission) */
    int nb;               /* filled by sema: d (0: the neuron itself) */
};

typedef enum {
    IT_NUM,      /* 170, 1e-3 */
    IT_WORD,     /* softplus, adam, on, W1 */
    IT_STRING,   /* "train-images-idx3-ubyte.gz" */
    IT_CALL,     /* softplus(10), kcap(8), mse(input) */
    IT_LIST      /* [1, 0.5, auto] */
} ast_item_kind;

struct ast_item {
    ast_item_kind kind;
    src_span span;
    double num;
    const char *text;     /* WORD, CALL name, STRING contents (unescaped) */
    ast_item **args;      /* CALL arguments, LIST elements */
    int n_args;
};

typedef enum {
    ST_CONFIG,   /* model/mlp/experiment body: head item item ... ; */
    ST_PARAM,    /* param name[size] = init attr... ; */
    ST_NEURON,   /* neuron g = e;   neuron (a, b) = net(z, ztop); */
    ST_LET,      /* let x = e; */
    ST_ASSIGN    /* dw = e;  dw topdown = e; */
} ast_stmt_kind;

struct ast_stmt {
    ast_stmt_kind kind;
    src_span span;
    src_span name_span;
    const char *name;     /* CONFIG head, PARAM/LET/ASSIGN name */
    /* CONFIG */
    ast_item **items;
    int n_items;
    /* PARAM */
    ast_expr *size;       /* NULL for a scalar */
    ast_expr **init;      /* one expr, or the elements of [ ... ] */
    int n_init;
    int init_is_list;
    src_span init_span;
    ast_item **attrs;     /* l1, fixed, ... as items */
    int n_attrs;
    /* NEURON */
    const char **names;
    src_span *name_spans;
    int n_names;
    /* ASSIGN: the word between the name and '=' (dw topdown = e;), or NULL */
    const char *qual;
    src_span qual_span;
    /* NEURON, LET, ASSIGN */
    ast_expr *value;
    ast_stmt *next;
};

typedef enum { DECL_IMPORT, DECL_MODEL, DECL_MLP, DECL_RULE, DECL_EXPERIMENT } ast_decl_kind;

struct ast_decl {
    ast_decl_kind kind;
    src_span span;        /* the whole block */
    src_span name_span;
    const char *name;     /* block name, or the import path */
    ast_stmt *body;       /* linked list in source order */
    int file;             /* source file index */
    ast_decl *next;
};

/* One parsed file: its declarations in order. */
typedef struct ast_unit {
    int file;
    ast_decl *decls;
} ast_unit;

/* ---- arena ---- */
void *ast_alloc(size_t size);                 /* zeroed; aborts only on OOM */
const char *ast_strdup(const char *s, size_t n);
void ast_arena_free(void);

/* ---- constructors used by the parser ---- */
ast_expr *ast_num(src_span at, double v);
ast_expr *ast_name(src_span at, const char *name);
ast_expr *ast_field(src_span at, const char *base, src_span base_span, const char *field);
/* pre[NB].field[STEP], either index NULL when absent. */
ast_expr *ast_field_at(src_span at, const char *base, src_span base_span, ast_expr *nb, const char *field,
                       src_span field_span, ast_expr *step);
ast_expr *ast_index(src_span at, const char *name, src_span name_span, ast_expr *index);
ast_expr *ast_call(src_span at, const char *name, src_span name_span, ast_expr **args, int n);
ast_expr *ast_neg(src_span at, ast_expr *x);
ast_expr *ast_bin(src_span at, char op, ast_expr *a, ast_expr *b);

/* Growable pointer vector used while parsing lists. */
typedef struct ast_vec { void **v; int n, cap; } ast_vec;
void ast_vec_push(ast_vec *vec, void *p);

/* ---- printing (--dump=ast) ---- */
void ast_dump_unit(FILE *out, const ast_unit *u);
/* One block, as ast_dump_unit prints it: its canonical text (the same for
 * any spacing, comments or redundant parentheses of the source). */
void ast_dump_decl(FILE *out, const ast_decl *d);
void ast_print_expr(FILE *out, const ast_expr *e);
const char *ast_decl_kind_name(ast_decl_kind k);

#endif
