/* parse — from a loaded source file to an AST unit (flex + bison).
 * Imports are not followed here; sema does that, relative to the importer. */
#ifndef PLAST_PARSE_H
#define PLAST_PARSE_H

#include "ast.h"

/* What the scanner carries between tokens. */
struct lex_extra {
    int file;             /* source table index */
    unsigned offset;      /* byte offset of the next token */
};

/* An open '(' '[' or '{' that the parser has not seen closed yet. */
typedef struct plast_open_delim {
    int tok;              /* '(', '[' or '{' */
    src_span at;
    char what[64];        /* for a block's '{': "rule 'pool'" (else "") */
} plast_open_delim;

enum { PLAST_MAX_OPEN = 64 };       /* delimiters remembered for messages */
enum { PLAST_MAX_EXPR_DEPTH = 1000 };   /* deeper expressions are an error */

/* State shared by the bison parser and its token hook. */
typedef struct plast_parse_ctx {
    void *scanner;        /* flex yyscan_t */
    int file;
    ast_decl *decls, *last;
    /* For messages: the first token of the statement being parsed, and the
     * open delimiters, so an error can say "after the parameter declaration"
     * or "expected '}' to close rule 'pool'" with a note at its '{'. */
    int stmt_head_token;
    src_span stmt_head_span;
    int prev_token, prev2_token;    /* the two tokens before the current one */
    const char *prev_ident;         /* text of the last identifier read */
    src_span prev_span, cur_span;   /* the last two tokens read */
    plast_open_delim open[PLAST_MAX_OPEN];
    int n_open;                     /* nesting depth (may exceed PLAST_MAX_OPEN) */
    int unmatched_close;            /* the last token read closed nothing */
    int too_deep;                   /* "nested too deeply" was reported */
} plast_parse_ctx;

/* Parses source file FILE (already in the diag table).  Returns a unit (never
 * NULL); syntax errors are reported through diag and counted there. */
ast_unit *parse_file(int file);

#endif
