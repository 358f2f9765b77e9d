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

/* State shared by the bison parser and its token hook. */
typedef struct plast_parse_ctx {
    void *scanner;        /* flex yyscan_t */
    int file;
    ast_decl *decls, *last;
    /* For messages: the first token of the statement being parsed, and the
     * open braces, so an error can say "after the parameter declaration" or
     * "to close the '{' of rule 'pool' at line 3". */
    int stmt_head_token;
    src_span stmt_head_span;
    int prev_token;
    src_span prev_span, cur_span;   /* the last two tokens read */
    src_span brace_open[64];
    int n_brace;
    const char *block_name;
    int block_kind;
} plast_parse_ctx;

/* Parses source file FILE (already in the diag table).  Returns a unit (never
 * NULL); syntax errors are reported through diag and counted there. */
ast_unit *parse_file(int file);

#endif
