/* parser — the grammar of .rule files.
 *
 *   unit        -> decl*
 *   decl        -> 'import' STRING ';'
 *                | ('model' | 'mlp' | 'experiment') IDENT '{' config* '}'
 *                | 'rule' IDENT '{' rule_stmt* '}'
 *   config      -> head item* ';'           (sema checks the words)
 *   rule_stmt   -> 'param' IDENT ('[' expr ']')? '=' (expr | '[' expr,* ']') item* ';'
 *                | 'neuron' IDENT '=' expr ';' | 'neuron' '(' IDENT,+ ')' '=' expr ';'
 *                | 'let' IDENT '=' expr ';' | IDENT IDENT? '=' expr ';'
 *   expr        -> the usual + - * / with unary minus, '^' binding tightest
 *                  (right-associative, so -x^2 is -(x^2)), calls, pre./post. fields
 *   field       -> IDENT ('[' expr ']')? '.' IDENT ('[' expr ']')?
 *                  (pre[-1].y[2]: the neighbour before, at unrolled step 2)
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
#include <stdlib.h>
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

/* Later passes walk expressions recursively; a tree deeper than
 * PLAST_MAX_EXPR_DEPTH (a 100 000-term sum, say) is reported once per file
 * and cut off, so nothing downstream can run out of C stack. */
static ast_expr *bounded(plast_parse_ctx *ctx, ast_expr *e)
{
    if (e->depth <= PLAST_MAX_EXPR_DEPTH) return e;
    if (!ctx->too_deep)
        diag_error(e->span, "expression nested more than %d levels deep; split it with 'let'",
                   PLAST_MAX_EXPR_DEPTH);
    ctx->too_deep = 1;
    return ast_num(e->span, 0);
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
    | IDENT IDENT '=' expr ';'
        { $$ = new_stmt(ST_ASSIGN, @$, $1, @1); $$->value = $4;
          $$->qual = $2; $$->qual_span = @2; }
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
    : expr '+' expr         { $$ = bounded(ctx, ast_bin(@$, '+', $1, $3)); }
    | expr '-' expr         { $$ = bounded(ctx, ast_bin(@$, '-', $1, $3)); }
    | expr '*' expr         { $$ = bounded(ctx, ast_bin(@$, '*', $1, $3)); }
    | expr '/' expr         { $$ = bounded(ctx, ast_bin(@$, '/', $1, $3)); }
    | expr '^' expr         { $$ = bounded(ctx, ast_bin(@$, '^', $1, $3)); }
    | '-' expr %prec NEG    { $$ = bounded(ctx, ast_neg(@$, $2)); }
    | '+' expr %prec NEG    { $$ = $2; }
    | primary               { $$ = $1; }
    ;

primary
    : NUMBER                { $$ = ast_num(@$, $1); }
    | IDENT                 { $$ = ast_name(@$, $1); }
    | IDENT '.' IDENT       { $$ = ast_field(@$, $1, @1, $3); $$->name_span = @3; }
    | IDENT '.' IDENT '[' expr ']'
        { $$ = bounded(ctx, ast_field_at(@$, $1, @1, NULL, $3, @3, $5)); }
    | IDENT '[' expr ']' '.' IDENT
        { $$ = bounded(ctx, ast_field_at(@$, $1, @1, $3, $6, @6, NULL)); }
    | IDENT '[' expr ']' '.' IDENT '[' expr ']'
        { $$ = bounded(ctx, ast_field_at(@$, $1, @1, $3, $6, @6, $8)); }
    | IDENT '[' expr ']'    { $$ = bounded(ctx, ast_index(@$, $1, @1, $3)); }
    | IDENT '(' args ')'    { $$ = bounded(ctx, ast_call(@$, $1, @1, (ast_expr **)$3.v, $3.n)); }
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

/* ---- the token hook: statement heads and open delimiters, for messages ---- */

int plast_yylex(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);

static int closer_of(int tok) { return tok == '(' ? ')' : tok == '[' ? ']' : '}'; }

static int is_block_keyword(int tok)
{
    return tok == IMPORT || tok == MODEL || tok == MLP || tok == RULE || tok == EXPERIMENT;
}

/* '(' '[' '{' are pushed, closers pop (when they match nothing, the next
 * message says "unmatched").  A block's '{' remembers "rule 'pool'". */
static void track_delimiters(plast_parse_ctx *ctx, int tok, src_span at)
{
    ctx->unmatched_close = 0;
    if (tok == '(' || tok == '[' || tok == '{') {
        if (ctx->n_open < PLAST_MAX_OPEN) {
            plast_open_delim *o = &ctx->open[ctx->n_open];
            o->tok = tok;
            o->at = at;
            o->what[0] = '\0';
            if (tok == '{' && ctx->prev_token == IDENT && is_block_keyword(ctx->prev2_token) && ctx->prev_ident)
                snprintf(o->what, sizeof o->what, "%s '%.40s'", ast_decl_kind_name(
                         ctx->prev2_token == MODEL ? DECL_MODEL : ctx->prev2_token == MLP ? DECL_MLP :
                         ctx->prev2_token == RULE ? DECL_RULE : DECL_EXPERIMENT), ctx->prev_ident);
        }
        ctx->n_open++;
    } else if (tok == ')' || tok == ']' || tok == '}') {
        const plast_open_delim *o = ctx->n_open > 0 && ctx->n_open <= PLAST_MAX_OPEN
                                    ? &ctx->open[ctx->n_open - 1] : NULL;
        if (ctx->n_open > 0 && (!o || closer_of(o->tok) == tok)) ctx->n_open--;
        else ctx->unmatched_close = 1;
    }
}

int yylex(YYSTYPE *lval, YYLTYPE *lloc, plast_parse_ctx *ctx)
{
    int tok = plast_yylex(lval, lloc, ctx->scanner);
    if (tok == 0) {   /* end of file: an empty span just after the last token */
        lloc->file = ctx->file;
        lloc->begin = lloc->end = ctx->prev_token == -1 ? 0 : ctx->cur_span.end;
    }
    ctx->prev_span = ctx->cur_span;
    ctx->cur_span = *lloc;
    int p = ctx->prev_token;
    if (p == ';' || p == '{' || p == '}' || p == -1) {
        ctx->stmt_head_token = tok;
        ctx->stmt_head_span = *lloc;
    }
    track_delimiters(ctx, tok, *lloc);
    ctx->prev2_token = ctx->prev_token;
    ctx->prev_token = tok;
    if (tok == IDENT) ctx->prev_ident = lval->str;
    return tok;
}

/* Bison calls this only for "memory exhausted" (nesting deeper than YYMAXDEPTH). */
static void yyerror(YYLTYPE *loc, plast_parse_ctx *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
    diag_error(*loc, "the input is nested too deeply (more than %d open parentheses and operators); "
               "expected at most a few hundred levels", YYMAXDEPTH);
}

/* ---- syntax errors: "expected X or Y after <what>, found <token>" ---- */

#define SYM(c) ((yysymbol_kind_t)YYTRANSLATE(c))

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

/* Describes the offending token: "identifier 'foo'", "number '1e3'", "an unmatched ')'". */
static void describe_token(const plast_parse_ctx *ctx, char *buf, size_t len, yysymbol_kind_t kind,
                           src_span at)
{
    const src_file *f = diag_file(at.file);
    const char *name = yysymbol_name(kind);
    if (ctx->unmatched_close && (kind == SYM(')') || kind == SYM(']') || kind == SYM('}'))) {
        snprintf(buf, len, "an unmatched %s", name);
        return;
    }
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

/* The expected tokens as words, with the usual groups folded:
 *   number identifier '(' '+' '-'              -> "an expression"
 *   number '-' identifier ... string '['       -> "a value (number, word, string or [list])"
 *   '+' '-' '*' '/' '^'                        -> "an operator"
 * and "end of file" left out when something else would do. */
typedef struct expected_set {
    const char *word[YYNTOKENS];
    int n;
    char has[YYNTOKENS];
} expected_set;

static int in_group(yysymbol_kind_t k, const int *group)
{
    for (; *group >= 0; group++) if ((int)k == *group) return 1;
    return 0;
}

static void expected_words(expected_set *es, const yysymbol_kind_t *kinds, int n)
{
    const int value_group[] = { YYSYMBOL_NUMBER, YYSYMBOL_IDENT, YYSYMBOL_STRING, YYSYMBOL_L1, YYSYMBOL_FIXED,
                                YYSYMBOL_RANGE, SYM('-'), SYM('['), -1 };
    const int expr_group[] = { YYSYMBOL_NUMBER, YYSYMBOL_IDENT, SYM('('), SYM('+'), SYM('-'), -1 };
    const int op_group[] = { SYM('+'), SYM('-'), SYM('*'), SYM('/'), SYM('^'), -1 };
    memset(es, 0, sizeof *es);
    for (int i = 0; i < n; i++) es->has[kinds[i]] = 1;
    const char *h = es->has;
    int value = h[YYSYMBOL_STRING] && h[YYSYMBOL_NUMBER] && h[YYSYMBOL_IDENT];
    int expr = !value && h[YYSYMBOL_NUMBER] && h[YYSYMBOL_IDENT] && h[SYM('(')];
    int ops = !expr && h[SYM('+')] && h[SYM('-')] && h[SYM('*')] && h[SYM('/')] && h[SYM('^')];
    int done_value = 0, done_expr = 0, done_ops = 0;
    for (int i = 0; i < n; i++) {
        yysymbol_kind_t k = kinds[i];
        if (k == YYSYMBOL_YYEOF && n > 1) continue;
        if (ops && k == SYM('[')) continue;   /* after an operand: pre.y[2] is possible, but never the fix */
        if (value && in_group(k, value_group)) {
            if (!done_value++) es->word[es->n++] = "a value (number, word, string or [list])";
        } else if (expr && in_group(k, expr_group)) {
            if (!done_expr++) es->word[es->n++] = "an expression";
        } else if (ops && in_group(k, op_group)) {
            if (!done_ops++) es->word[es->n++] = "an operator";
        } else {
            es->word[es->n++] = yysymbol_name(k);
        }
    }
}

/* The open delimiter SKIP levels out from the innermost, if remembered. */
static const plast_open_delim *open_delim(const plast_parse_ctx *ctx, int skip)
{
    int i = ctx->n_open - 1 - skip;
    return i >= 0 && ctx->n_open <= PLAST_MAX_OPEN ? &ctx->open[i] : NULL;
}

static void note_open(const plast_open_delim *o)
{
    if (o->what[0]) diag_note(o->at, "%s starts here", o->what);
    else diag_note(o->at, "to close this '%c'", o->tok);
}

/* The file ended inside a block or parentheses, or the next block began
 * inside a block whose '}' is missing:
 *   expected '}' to close rule 'pool', found end of file  (+ a note at its '{') */
static int report_unclosed(const plast_parse_ctx *ctx, const expected_set *es, yysymbol_kind_t got,
                           src_span at, const char *found)
{
    const plast_open_delim *o;
    if (got == YYSYMBOL_YYEOF) {
        o = open_delim(ctx, 0);
        if (!o || !es->has[SYM(closer_of(o->tok))]) return 0;
    } else if (got == YYSYMBOL_IMPORT || got == YYSYMBOL_MODEL
               || got == YYSYMBOL_MLP || got == YYSYMBOL_RULE || got == YYSYMBOL_EXPERIMENT) {
        /* `rule b {` read where a statement of block a was expected */
        o = open_delim(ctx, 0);
        if (!o || o->tok != '{' || !o->what[0] || ctx->n_open != 1 || !es->has[SYM('}')]) return 0;
    } else if (got == SYM('{') && is_block_keyword(ctx->stmt_head_token) && ctx->n_open == 2) {
        /* `rule b {` in a model or experiment reads as a statement 'rule b' until its '{' */
        o = open_delim(ctx, 1);
        if (!o || o->tok != '{' || !o->what[0]) return 0;
        at = ctx->stmt_head_span;
        found = "the start of another block";
    } else {
        return 0;
    }
    if (o->what[0]) diag_error(at, "expected '}' to close %s, found %s", o->what, found);
    else diag_error(at, "expected '%c', found %s", closer_of(o->tok), found);
    note_open(o);
    return 1;
}

static int yyreport_syntax_error(const yypcontext_t *pc, plast_parse_ctx *ctx)
{
    enum { MAX_LISTED = 6, MAX_EXPECTED = 64 };
    yysymbol_kind_t expected[MAX_EXPECTED];
    int n = yypcontext_expected_tokens(pc, expected, MAX_EXPECTED);
    if (n < 0) n = 0;
    yysymbol_kind_t got = yypcontext_token(pc);
    src_span at = *yypcontext_location(pc);
    char msg[512] = "", found[96];
    expected_set es;
    expected_words(&es, expected, n);
    describe_token(ctx, found, sizeof found, got, at);
    if (report_unclosed(ctx, &es, got, at, found)) return 0;
    const src_file *f = diag_file(at.file);
    if (got == YYSYMBOL_NUMBER && f && at.begin < f->len && f->text[at.begin] == '.'
        && ctx->prev2_token == IDENT && ctx->prev_span.end == at.begin) {
        /* pre.1 scans as 'pre' and the number .1 */
        diag_error(at, "expected a signal or neuron value name after '.', found '%.*s'",
                   (int)(at.end - at.begin - 1 > 32 ? 32 : at.end - at.begin - 1), f->text + at.begin + 1);
        return 0;
    }
    if (ctx->stmt_head_token == IMPORT && es.has[YYSYMBOL_STRING]) {
        diag_error(at, "expected the imported file's path in double quotes, as in import \"pool.rule\";, "
                   "found %s", found);
        return 0;
    }
    const char *what = head_description(ctx);
    if (es.has[SYM(';')] && what) {
        if (ctx->stmt_head_token == PARAM && es.has[YYSYMBOL_L1] && got == YYSYMBOL_IDENT
            && !on_later_line(ctx->prev_span, at)) {
            diag_error(at, "unknown parameter attribute '%s'; expected 'l1', 'fixed', 'range(lo, hi)' or ';'",
                       ctx->prev_ident);
            return 0;
        }
        snprintf(msg, sizeof msg, "expected ';' after %s", what);
        if (on_later_line(ctx->prev_span, at)) {
            src_span end = { at.file, ctx->prev_span.end, ctx->prev_span.end };
            diag_error(end, "%s", msg);
            return 0;
        }
    } else if (es.n > 0 && es.n <= MAX_LISTED) {
        append(msg, sizeof msg, "expected ");
        for (int i = 0; i < es.n; i++) {
            if (i) append(msg, sizeof msg, i == es.n - 1 ? " or " : ", ");
            append(msg, sizeof msg, es.word[i]);
        }
    } else {
        append(msg, sizeof msg, "unexpected ");
        append(msg, sizeof msg, found);
        diag_error(at, "%s", msg);
        return 0;
    }
    append(msg, sizeof msg, ", found ");
    append(msg, sizeof msg, found);
    diag_error(at, "%s", msg);
    const plast_open_delim *o = open_delim(ctx, 0);
    if (o && o->tok != '{' && es.has[SYM(closer_of(o->tok))] && !es.has[SYM(';')])
        note_open(o);
    return 0;
}

/* ---- entry point ---- */

int plast_yylex_init_extra(struct lex_extra *extra, void **scanner);
int plast_yylex_destroy(void *scanner);
void *plast_yy_scan_buffer(char *base, size_t size, void *scanner);

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
    /* flex reserves NUL for the end of its buffer: each NUL inside a token
     * makes it rescan the token, so a run of NULs would take quadratic time.
     * The scanner reads a copy with NULs as 0x01 (an invalid byte as well);
     * messages quote the original bytes. */
    char *copy = malloc(f->len + 2);
    if (!copy) { fputs("plastcc: out of memory\n", stderr); abort(); }
    for (size_t i = 0; i < f->len; i++) copy[i] = f->text[i] ? f->text[i] : '\001';
    copy[f->len] = copy[f->len + 1] = '\0';
    plast_yy_scan_buffer(copy, f->len + 2, ctx.scanner);
    yyparse(&ctx);
    plast_yylex_destroy(ctx.scanner);
    free(copy);
    u->decls = ctx.decls;
    return u;
}
