/* fuzz_frontend — libFuzzer target for the whole front end.
 *
 * Each input is one .rule file: lexed, parsed, checked (imports resolve
 * against the current directory), then everything is freed, so an input can
 * neither crash nor leak into the next one.  Messages go to /dev/null.
 *
 *   build/tests/fuzz/fuzz_frontend -max_total_time=60 CORPUS_DIR
 */
#include "config.h"
#include "ast.h"
#include "diag.h"
#include "sema.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");   /* opened once, kept for the run */
    diag_set_stream(devnull);
    sema_program *p = sema_load_buffer("fuzz.rule", (const char *)data, size);
    sema_program_free(p);
    diag_reset();
    ast_arena_free();
    return 0;
}
