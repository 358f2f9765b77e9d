/* parser — the grammar of .rule files.
 *
 *   unit        -> decl*
 *   decl        -> 'import' STRING ';'
 *                | ('model' | 'mlp' | 'experiment') IDENT '{' config* '}'
 *                | 'rule' IDENT '{' rule_stmt* '}'
 *   config      -> head item* ';'           (sema checks the words)
 *   rule_stmt   -> 'param' IDENT ('[' expr ']')? '=' (expr | '[' expr,* ']') item* ';'
 *                | 'neuron' IDENT '=' expr ';' | 'neuron' '(' IDENT,+ ')' '=' expr ';'
 *                | 'let' IDENT '=' expr ';' | IDENT '=' expr ';'
 *   expr        -> the usual + - * / with unary minus, '^' binding tightest
 *                  (right-associative, so -x^2 is -(x^2)), calls, pre./post. fields
 */
%code top {
#include "config.h"
}
%code requires {
#include "ast.h"
#include "parse.h"
#define YYLTYPE src_span
#define YYLTYPE_IS_DECLARED 1
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                    \
    do {                                                               \
        if (N) {                                                       \
            (Cur).file = YYRHSLOC(Rhs, 1).file;                        \
            (Cur).begin = YYRHSLOC(Rhs, 1).begin;                      \
            (Cur).end = YYRHSLOC(Rhs, N).end;                          \
        } else {                                                       \
            (Cur).file = YYRHSLOC(Rhs, 0).file;                        \
            (Cur).begin = (Cur).end = YYRHSLOC(Rhs, 0).end;            \
        }                                                              \
    } while (0)
}
%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, plast_parse_ctx *ctx);
}
%code {
static void yyerror(YYLTYPE *loc, plast_parse_ctx *ctx, const char *msg);
}

%define api.pure full
%define parse.error custom
%define parse.lac full
%locations
%param {plast_parse_ctx *ctx}
%expect 0

%union {
    double num;
    const char *str;
    ast_expr *expr;
    ast_item *item;
    ast_stmt *stmt;
    ast_vec vec;
}

%token <num> NUMBER "number"
%token <str> IDENT "identifier"
%token <str> STRING "string"
%token IMPORT "'import'" MODEL "'model'" MLP "'mlp'" RULE "'rule'"
%token EXPERIMENT "'experiment'" PARAM "'param'" NEURON "'neuron'" LET "'let'"
%token L1 "'l1'" FIXED "'fixed'" RANGE "'range'"
%token END 0 "end of file"

%type <expr> expr primary size_opt
%type <item> item attr
%type <stmt> config_stmt rule_stmt
%type <vec> config_stmts rule_stmts items attrs item_list item_list1 expr_list args ident_list
%type <str> config_head word

%left '+' '-'
%left '*' '/'
%precedence NEG
%right '^'

%{
#include <string.h>

static void add_decl(plast_parse_ctx *ctx, ast_decl_kind k, src_span at, const char *name,
                     src_span name_at, ast_vec body)
{
    ast_decl *d = ast_alloc(sizeof *d);
    d->kind = k;
    d->span = at;
    d->name = name;
    d->name_span = name_at;
    d->file = ctx->file;
    ast_stmt **tail = &d->body;
    for (int i = 0; i < body.n; i++) {
        ast_stmt *s = body.v[i];
        if (!s) continue;
        *tail = s;
        tail = &s->next;
    }
    if (ctx->last) ctx->last->next = d; else ctx->decls = d;
    ctx->last = d;
}

static ast_stmt *new_stmt(ast_stmt_kind k, src_span at, const char *name, src_span name_at)
{
    ast_stmt *s = ast_alloc(sizeof *s);
    s->kind = k;
    s->span = at;
    s->name = name;
    s->name_span = name_at;
    return s;
}

static ast_item *new_item(ast_item_kind k, src_span at)
{
    ast_item *it = ast_alloc(sizeof *it);
    it->kind = k;
    it->span = at;
    return it;
}

static ast_vec vec_empty(void) { ast_vec v = { 0, 0, 0 }; return v; }
static ast_vec vec_one(void *p) { ast_vec v = vec_empty(); ast_vec_push(&v, p); return v; }
%}

%%

unit
    : %empty
    | unit decl
    ;

decl
    : IMPORT STRING ';'        { ast_vec none = vec_empty();
                                 add_decl(ctx, DECL_IMPORT, @$, $2, @2, none); }
    | MODEL IDENT '{' config_stmts '}'      { add_decl(ctx, DECL_MODEL, @$, $2, @2, $4); }
    | MLP IDENT '{' config_stmts '}'        { add_decl(ctx, DECL_MLP, @$, $2, @2, $4); }
    | EXPERIMENT IDENT '{' config_stmts '}' { add_decl(ctx, DECL_EXPERIMENT, @$, $2, @2, $4); }
    | RULE IDENT '{' rule_stmts '}'         { add_decl(ctx, DECL_RULE, @$, $2, @2, $4); }
    | error '}'
    | error ';'
    ;

config_stmts
    : %empty                    { $$ = vec_empty(); }
    | config_stmts config_stmt  { $$ = $1; ast_vec_push(&$$, $2); }
    ;

config_stmt
    : config_head items ';'
        { $$ = new_stmt(ST_CONFIG, @$, $1, @1);
          $$->items = (ast_item **)$2.v; $$->n_items = $2.n; }
    | error ';'                 { $$ = NULL; }
    ;

config_head
    : IDENT     { $$ = $1; }
    | MODEL     { $$ = "model"; }
    | RULE      { $$ = "rule"; }
    | MLP       { $$ = "mlp"; }
    ;

items
    : %empty            { $$ = vec_empty(); }
    | items item        { $$ = $1; ast_vec_push(&$$, $2); }
    | items ',' item    { $$ = $1; ast_vec_push(&$$, $3); }
    ;

item
    : NUMBER            { $$ = new_item(IT_NUM, @$); $$->num = $1; }
    | '-' NUMBER        { $$ = new_item(IT_NUM, @$); $$->num = -$2; }
    | word              { $$ = new_item(IT_WORD, @$); $$->text = $1; }
    | STRING            { $$ = new_item(IT_STRING, @$); $$->text = $1; }
    | IDENT '(' item_list ')'
        { $$ = new_item(IT_CALL, @$); $$->text = $1;
          $$->args = (ast_item **)$3.v; $$->n_args = $3.n; }
    | '[' item_list ']'
        { $$ = new_item(IT_LIST, @$);
          $$->args = (ast_item **)$2.v; $$->n_args = $2.n; }
    ;

/* Parameter attributes are keywords, but in config items they are plain words
 * (meta adam lr 1e-3 l1 1e-4). */
word
    : IDENT     { $$ = $1; }
    | L1        { $$ = "l1"; }
    | FIXED     { $$ = "fixed"; }
    | RANGE     { $$ = "range"; }
    ;

item_list
    : %empty            { $$ = vec_empty(); }
    | item_list1        { $$ = $1; }
    ;

item_list1
    : item                  { $$ = vec_one($1); }
    | item_list1 ',' item   { $$ = $1; ast_vec_push(&$$, $3); }
    ;

rule_stmts
    : %empty                { $$ = vec_empty(); }
    | rule_stmts rule_stmt  { $$ = $1; ast_vec_push(&$$, $2); }
    ;

rule_stmt
    : PARAM IDENT size_opt '=' expr attrs ';'
        { $$ = new_stmt(ST_PARAM, @$, $2, @2); $$->size = $3;
          $$->init = ast_alloc(sizeof *$$->init); $$->init[0] = $5; $$->n_init = 1;
          $$->init_span = @5;
          $$->attrs = (ast_item **)$6.v; $$->n_attrs = $6.n; }
    | PARAM IDENT size_opt '=' '[' expr_list ']' attrs ';'
        { $$ = new_stmt(ST_PARAM, @$, $2, @2); $$->size = $3;
          $$->init = (ast_expr **)$6.v; $$->n_init = $6.n; $$->init_is_list = 1;
          $$->init_span = span_join(@5, @7);
          $$->attrs = (ast_item **)$8.v; $$->n_attrs = $8.n; }
    | NEURON IDENT '=' expr ';'
        { $$ = new_stmt(ST_NEURON, @$, $2, @2); $$->value = $4;
          $$->names = ast_alloc(sizeof *$$->names); $$->names[0] = $2;
          $$->name_spans = ast_alloc(sizeof *$$->name_spans); $$->name_spans[0] = @2;
          $$->n_names = 1; }
    | NEURON '(' ident_list ')' '=' expr ';'
        { $$ = new_stmt(ST_NEURON, @$, NULL, @3); $$->value = $6;
          $$->n_names = $3.n;
          $$->names = ast_alloc((size_t)$3.n * sizeof *$$->names);
          $$->name_spans = ast_alloc((size_t)$3.n * sizeof *$$->name_spans);
          for (int i = 0; i < $3.n; i++) {
              ast_expr *id = $3.v[i];
              $$->names[i] = id->name;
              $$->name_spans[i] = id->span;
          } }
    | LET IDENT '=' expr ';'
        { $$ = new_stmt(ST_LET, @$, $2, @2); $$->value = $4; }
    | IDENT '=' expr ';'
        { $$ = new_stmt(ST_ASSIGN, @$, $1, @1); $$->value = $3; }
    | error ';'             { $$ = NULL; }
    ;

/* Parameter attributes: l1, fixed, range(lo, hi). */
attrs
    : %empty            { $$ = vec_empty(); }
    | attrs attr        { $$ = $1; ast_vec_push(&$$, $2); }
    ;

attr
    : L1                { $$ = new_item(IT_WORD, @$); $$->text = "l1"; }
    | FIXED             { $$ = new_item(IT_WORD, @$); $$->text = "fixed"; }
    | RANGE '(' item_list ')'
        { $$ = new_item(IT_CALL, @$); $$->text = "range";
          $$->args = (ast_item **)$3.v; $$->n_args = $3.n; }
    ;

ident_list
    : IDENT                 { $$ = vec_one(ast_name(@1, $1)); }
    | ident_list ',' IDENT  { $$ = $1; ast_vec_push(&$$, ast_name(@3, $3)); }
    ;

size_opt
    : %empty                { $$ = NULL; }
    | '[' expr ']'          { $$ = $2; }
    ;

expr
    : expr '+' expr         { $$ = ast_bin(@$, '+', $1, $3); }
    | expr '-' expr         { $$ = ast_bin(@$, '-', $1, $3); }
    | expr '*' expr         { $$ = ast_bin(@$, '*', $1, $3); }
    | expr '/' expr         { $$ = ast_bin(@$, '/', $1, $3); }
    | expr '^' expr         { $$ = ast_bin(@$, '^', $1, $3); }
    | '-' expr %prec NEG    { $$ = ast_neg(@$, $2); }
    | '+' expr %prec NEG    { $$ = $2; }
    | primary               { $$ = $1; }
    ;

primary
    : NUMBER                { $$ = ast_num(@$, $1); }
    | IDENT                 { $$ = ast_name(@$, $1); }
    | IDENT '.' IDENT       { $$ = ast_field(@$, $1, @1, $3); $$->name_span = @3; }
    | IDENT '[' expr ']'    { $$ = ast_index(@$, $1, @1, $3); }
    | IDENT '(' args ')'    { $$ = ast_call(@$, $1, @1, (ast_expr **)$3.v, $3.n); }
    | '(' expr ')'          { $$ = $2; $$->span = @$; }
    ;

args
    : %empty                { $$ = vec_empty(); }
    | expr_list             { $$ = $1; }
    ;

expr_list
    : expr                  { $$ = vec_one($1); }
    | expr_list ',' expr    { $$ = $1; ast_vec_push(&$$, $3); }
    ;

%%

/* ---- the token hook: remembers statement heads and open braces ---- */

int plast_yylex(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);

int yylex(YYSTYPE *lval, YYLTYPE *lloc, plast_parse_ctx *ctx)
{
    int tok = plast_yylex(lval, lloc, ctx->scanner);
    if (tok == 0) {   /* end of file: an empty span just past the last byte */
        const src_file *f = diag_file(ctx->file);
        lloc->file = ctx->file;
        lloc->begin = lloc->end = f ? (unsigned)f->len : 0;
    }
    ctx->prev_span = ctx->cur_span;
    ctx->cur_span = *lloc;
    int p = ctx->prev_token;
    if (p == ';' || p == '{' || p == '}' || p == -1) {
        ctx->stmt_head_token = tok;
        ctx->stmt_head_span = *lloc;
    }
    if (tok == '{' && ctx->n_brace < 64) ctx->brace_open[ctx->n_brace++] = *lloc;
    if (tok == '}' && ctx->n_brace > 0) ctx->n_brace--;
    ctx->prev_token = tok;
    return tok;
}

/* Bison calls this only for "memory exhausted" (nesting deeper than YYMAXDEPTH). */
static void yyerror(YYLTYPE *loc, plast_parse_ctx *ctx, const char *msg)
{
    (void)ctx;
    diag_error(*loc, "%s: the input is nested too deeply", msg);
}

/* ---- syntax errors: "expected X or Y after <what>, found <token>" ---- */

static const char *head_description(const plast_parse_ctx *ctx)
{
    static char buf[64];
    const src_file *f = diag_file(ctx->stmt_head_span.file);
    src_span h = ctx->stmt_head_span;
    switch (ctx->stmt_head_token) {
    case PARAM: return "the parameter declaration";
    case NEURON: return "the neuron definition";
    case LET: return "the let definition";
    case IMPORT: return "the import";
    case IDENT: case MODEL: case RULE: case MLP:
        if (f && h.end > h.begin && h.end - h.begin < 40) {
            snprintf(buf, sizeof buf, "the '%.*s' statement", (int)(h.end - h.begin), f->text + h.begin);
            return buf;
        }
        return "the statement";
    default: return NULL;
    }
}

/* Describes the offending token: "identifier 'foo'", "number 1e3", "'}'". */
static void describe_token(char *buf, size_t len, yysymbol_kind_t kind, src_span at)
{
    const src_file *f = diag_file(at.file);
    const char *name = yysymbol_name(kind);
    if (kind == YYSYMBOL_YYEOF || !f || at.end <= at.begin) {
        snprintf(buf, len, "%s", name);
        return;
    }
    int n = (int)(at.end - at.begin);
    if (n > 32) n = 32;
    if (kind == YYSYMBOL_IDENT || kind == YYSYMBOL_NUMBER || kind == YYSYMBOL_STRING)
        snprintf(buf, len, "%s '%.*s%s'", name, n, f->text + at.begin,
                 at.end - at.begin > 32 ? "..." : "");
    else
        snprintf(buf, len, "%s", name);
}

static void append(char *buf, size_t len, const char *s)
{
    size_t used = strlen(buf);
    if (used < len) snprintf(buf + used, len - used, "%s", s);
}

/* Whether B starts on a later line than A ends (the ';' was forgotten at the
 * end of A's line, so that is where the caret belongs). */
static int on_later_line(src_span a, src_span b)
{
    const src_file *f = diag_file(a.file);
    if (!f || a.file != b.file || a.end > b.begin || b.begin > f->len) return 0;
    return memchr(f->text + a.end, '\n', b.begin - a.end) != NULL;
}

static int yyreport_syntax_error(const yypcontext_t *pc, plast_parse_ctx *ctx)
{
    enum { MAX_LISTED = 5, MAX_EXPECTED = 64 };
    yysymbol_kind_t expected[MAX_EXPECTED];
    int n = yypcontext_expected_tokens(pc, expected, MAX_EXPECTED);
    yysymbol_kind_t got = yypcontext_token(pc);
    src_span at = *yypcontext_location(pc);
    char msg[512] = "", found[96];
    int wants_semicolon = 0, wants_brace = 0;
    describe_token(found, sizeof found, got, at);
    for (int i = 0; i < n; i++) {
        if (!strcmp(yysymbol_name(expected[i]), "';'")) wants_semicolon = 1;
        if (!strcmp(yysymbol_name(expected[i]), "'}'")) wants_brace = 1;
    }
    const char *what = head_description(ctx);
    if (wants_semicolon && what) {
        snprintf(msg, sizeof msg, "expected ';' after %s", what);
        if (on_later_line(ctx->prev_span, at)) {
            src_span end = { at.file, ctx->prev_span.end, ctx->prev_span.end };
            diag_error(end, "%s", msg);
            return 0;
        }
        append(msg, sizeof msg, ", found ");
        append(msg, sizeof msg, found);
    } else if (n > 0 && n <= MAX_LISTED) {
        append(msg, sizeof msg, "expected ");
        for (int i = 0; i < n; i++) {
            if (i) append(msg, sizeof msg, i == n - 1 ? " or " : ", ");
            append(msg, sizeof msg, yysymbol_name(expected[i]));
        }
        append(msg, sizeof msg, ", found ");
        append(msg, sizeof msg, found);
    } else {
        append(msg, sizeof msg, "unexpected ");
        append(msg, sizeof msg, found);
    }
    diag_error(at, "%s", msg);
    if (wants_brace && got == YYSYMBOL_YYEOF && ctx->n_brace > 0)
        diag_note(ctx->brace_open[ctx->n_brace - 1], "to close this '{'");
    return 0;
}

/* ---- entry point ---- */

int plast_yylex_init_extra(struct lex_extra *extra, void **scanner);
int plast_yylex_destroy(void *scanner);
void *plast_yy_scan_bytes(const char *bytes, int len, void *scanner);

ast_unit *parse_file(int file)
{
    const src_file *f = diag_file(file);
    ast_unit *u = ast_alloc(sizeof *u);
    u->file = file;
    if (!f) return u;
    if (f->len > 64u * 1024 * 1024) {
        src_span at = { file, 0, 0 };
        diag_error(at, "file is larger than 64 MiB; not a rule file?");
        return u;
    }
    struct lex_extra extra = { file, 0 };
    plast_parse_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.file = file;
    ctx.prev_token = -1;
    if (plast_yylex_init_extra(&extra, &ctx.scanner)) {
        diag_error(span_none, "cannot start the scanner");
        return u;
    }
    plast_yy_scan_bytes(f->text, (int)f->len, ctx.scanner);
    yyparse(&ctx);
    plast_yylex_destroy(ctx.scanner);
    u->decls = ctx.decls;
    return u;
}
