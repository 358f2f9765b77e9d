/* sema — loading a program (a file and its imports) and checking it.
 *
 * Imports are followed depth-first, relative to the importing file; a file
 * imported twice (a diamond) is read once, and a file that imports itself
 * through a chain is an error that prints the chain.  All declarations share
 * one namespace per kind.
 */
#include "config.h"
#include "sema_impl.h"
#include "parse.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void *sema_grow(void *arr, int n, size_t elem)
{
    /* capacity is the next power of two >= n+1, so appends are amortised O(1) */
    if (n & (n - 1) && n > 1) return arr;
    size_t cap = n < 1 ? 1 : (size_t)n * 2;
    void *p = realloc(arr, cap * elem);
    if (!p) { fputs("plastcc: out of memory\n", stderr); abort(); }
    return p;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *sema_closest(const char *name, const char *const *cand, int n)
{
    const char *best = NULL;
    /* Suggest only what is closer to NAME than to nothing: no edit for one
     * letter (q is not a typo of e), one for names up to 3 letters. */
    size_t len = strlen(name);
    size_t best_d = len <= 1 ? 0 : len <= 3 ? 1 : 2;
    for (int i = 0; i < n; i++) {
        size_t d = edit_distance(name, cand[i]);
        if (d <= best_d && strcmp(name, cand[i])) { best = cand[i]; best_d = d; }
        if (d == 0) return NULL;
    }
    return best;
}

const char *const sema_dw_kind_names[DW_KINDS] = { "forward", "topdown", "lateral" };

int sema_projection_count(const sema_model *m)
{
    int L = m->n_layers;
    return L + (m->topdown ? L : 0) + (m->lateral ? L + 1 : 0);
}

/* W_l: post l, pre l-1;  Wtop_l: post l, pre l+1;  Wlat_l: post and pre l. */
void sema_projection(const sema_model *m, int p, int *kind, int *layer, int *post, int *pre)
{
    int L = m->n_layers, k = DW_FORWARD, l = p + 1, from = p;
    if (p >= L) {
        p -= L;
        k = m->topdown ? DW_TOPDOWN : DW_LATERAL;
        if (k == DW_TOPDOWN && p >= L) { p -= L; k = DW_LATERAL; }
        l = p;
        from = k == DW_TOPDOWN ? l + 1 : l;
    }
    *kind = k;
    *layer = l;
    *post = l;
    *pre = from;
}

void sema_projection_name(const sema_model *m, int p, char *buf, size_t len)
{
    static const char *const prefix[DW_KINDS] = { "W", "Wtop", "Wlat" };
    int kind, layer, post, pre;
    sema_projection(m, p, &kind, &layer, &post, &pre);
    snprintf(buf, len, "%s%d", prefix[kind], layer);
}

int sema_find_rule(const sema_program *p, const char *name)
{
    for (int i = 0; i < p->n_rules; i++) if (!strcmp(p->rules[i]->name, name)) return i;
    return -1;
}
int sema_find_model(const sema_program *p, const char *name)
{
    for (int i = 0; i < p->n_models; i++) if (!strcmp(p->models[i]->name, name)) return i;
    return -1;
}
int sema_find_mlp(const sema_program *p, const char *name)
{
    for (int i = 0; i < p->n_mlps; i++) if (!strcmp(p->mlps[i]->name, name)) return i;
    return -1;
}
int sema_find_experiment(const sema_program *p, const char *name)
{
    for (int i = 0; i < p->n_experiments; i++) if (!strcmp(p->experiments[i]->name, name)) return i;
    return -1;
}

int sema_rule_fits_model(const sema_program *p, const sema_rule *r, const sema_model *m, src_span at)
{
    (void)p;
    unsigned offered = (1u << SIG_Y) | (1u << SIG_Z);
    if (m->feedback != FB_NONE) offered |= 1u << SIG_E;
    if (m->topdown) offered |= 1u << SIG_ZTOP;
    if (m->lateral) offered |= 1u << SIG_ZLAT;
    static const char *const why[SIG_COUNT] = { "", "",
        "it has 'feedback none' (expected symmetric, random or direct feedback)",
        "it has no 'topdown;' statement", "it has no 'lateral;' statement" };
    int ok = 1;
    for (int side = 0; side < 2; side++) {
        unsigned used = side == 0 ? r->pre_signals : r->post_signals;
        for (int s = 0; s < SIG_COUNT; s++) {
            if (!(used & ~offered & (1u << s))) continue;
            const char *end = side == 0 ? "pre" : "post";
            if (r->signal_via[side][s])
                diag_error(r->signal_use[side][s], "rule '%s' reads %s through %s.%s, which model '%s' cannot "
                           "provide: %s", r->name, sema_signal_names[s], end, r->signal_via[side][s], m->name, why[s]);
            else
                diag_error(r->signal_use[side][s], "rule '%s' reads %s.%s, which model '%s' cannot provide: %s",
                           r->name, end, sema_signal_names[s], m->name, why[s]);
            diag_note(at, "the rule is used with model '%s' here", m->name);
            ok = 0;
        }
    }
    return ok;
}

/* ---- loading ---- */

typedef struct loader {
    sema_program *p;
    char *stack[64];         /* canonical paths of the files being imported, for cycles */
    char *shown[64];         /* the same files as the user named them, for messages */
    int depth;
    char **seen;             /* canonical paths already loaded */
    int n_seen;
} loader;

static void load_unit(loader *L, int file);

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup("");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 2);
    memcpy(d, path, n);
    d[n] = '\0';
    if (!n) strcpy(d, "/");
    return d;
}

static void report_cycle(loader *L, const ast_decl *imp, const char *canon)
{
    char chain[2048] = "";
    size_t used = 0;
    int start = 0;
    while (start < L->depth && strcmp(L->stack[start], canon)) start++;
    for (int i = start; i <= L->depth && used < sizeof chain; i++) {
        const char *name = i < L->depth ? L->shown[i] : start < L->depth ? L->shown[start] : canon;
        int n = snprintf(chain + used, sizeof chain - used, "%s%s", i > start ? " -> " : "", name);
        if (n < 0) break;
        used += (size_t)n;
    }
    diag_error(imp->name_span, "import cycle: %s; expected files that do not import each other", chain);
}

static void follow_import(loader *L, const ast_decl *imp)
{
    const src_file *from = diag_file(imp->file);
    char *dir = dir_of(from ? from->path : "");
    size_t n = strlen(dir) + strlen(imp->name) + 2;
    char *path = malloc(n);
    if (imp->name[0] == '/' || !dir[0]) snprintf(path, n, "%s", imp->name);
    else snprintf(path, n, "%s/%s", dir, imp->name);
    free(dir);
    char canon[PATH_MAX];
    if (!realpath(path, canon)) {
        if (strcmp(path, imp->name))
            diag_error(imp->name_span, "cannot import '%s': %s (looked for '%s'; a path is relative to the "
                       "importing file)", imp->name, strerror(errno), path);
        else
            diag_error(imp->name_span, "cannot import '%s': %s", imp->name, strerror(errno));
        free(path);
        return;
    }
    for (int i = 0; i < L->depth; i++) {
        if (!strcmp(L->stack[i], canon)) { report_cycle(L, imp, canon); free(path); return; }
    }
    for (int i = 0; i < L->n_seen; i++)
        if (!strcmp(L->seen[i], canon)) { free(path); return; }
    if (L->depth == 64) { diag_error(imp->name_span, "imports nested more than 64 deep"); free(path); return; }
    int file = diag_load_file(path);
    if (file < 0) diag_error(imp->name_span, "cannot read '%s': %s", imp->name, diag_load_strerror(errno));
    free(path);
    if (file < 0) return;
    L->shown[L->depth] = strdup(diag_file(file)->path);
    L->stack[L->depth++] = strdup(canon);
    load_unit(L, file);
    free(L->stack[--L->depth]);
    free(L->shown[L->depth]);
}

static void remember(loader *L, int file)
{
    char canon[PATH_MAX];
    const src_file *f = diag_file(file);
    if (!f || !realpath(f->path, canon)) return;
    L->seen = sema_grow(L->seen, L->n_seen, sizeof *L->seen);
    L->seen[L->n_seen++] = strdup(canon);
}

/* Parses FILE, then its imports (so imported declarations come first). */
static void load_unit(loader *L, int file)
{
    remember(L, file);
    ast_unit *u = parse_file(file);
    for (ast_decl *d = u->decls; d; d = d->next)
        if (d->kind == DECL_IMPORT) follow_import(L, d);
    *SEMA_PUSH(L->p->units, L->p->n_units) = u;
}

/* Two declarations of one kind with one name: the second is an error. */
static int check_unique(sema_program *p, ast_decl *d)
{
    for (int i = 0; i < p->n_units; i++) {
        for (ast_decl *o = p->units[i]->decls; o; o = o->next) {
            if (o == d) return 1;
            if (o->kind != DECL_IMPORT && !strcmp(o->name, d->name)) {
                if (o->kind == d->kind || o->kind == DECL_MLP || d->kind == DECL_MLP) {
                    diag_error(d->name_span, "%s '%s' is already defined", ast_decl_kind_name(d->kind), d->name);
                    diag_note(o->name_span, "previous definition is here");
                    return 0;
                }
            }
        }
    }
    return 1;
}

/* Checks every declaration of one kind across all units. */
static void check_kind(sema_program *p, ast_decl_kind kind)
{
    for (int i = 0; i < p->n_units; i++) {
        for (ast_decl *d = p->units[i]->decls; d; d = d->next) {
            if (d->kind != kind || !check_unique(p, d)) continue;
            switch (kind) {
            case DECL_MLP: *SEMA_PUSH(p->mlps, p->n_mlps) = sema_check_mlp(p, d); break;
            case DECL_MODEL: *SEMA_PUSH(p->models, p->n_models) = sema_check_model(p, d); break;
            case DECL_RULE: *SEMA_PUSH(p->rules, p->n_rules) = sema_check_rule(p, d); break;
            case DECL_EXPERIMENT: *SEMA_PUSH(p->experiments, p->n_experiments) = sema_check_experiment(p, d); break;
            default: break;
            }
        }
    }
}

static sema_program *check_program(int file)
{
    sema_program *p = calloc(1, sizeof *p);
    p->main_file = file;
    loader L;
    memset(&L, 0, sizeof L);
    L.p = p;
    char canon[PATH_MAX];
    const src_file *f = diag_file(file);
    if (f && realpath(f->path, canon)) {
        L.shown[L.depth] = strdup(f->path);
        L.stack[L.depth++] = strdup(canon);
    }
    load_unit(&L, file);
    while (L.depth) {
        free(L.stack[--L.depth]);
        free(L.shown[L.depth]);
    }
    for (int i = 0; i < L.n_seen; i++) free(L.seen[i]);
    free(L.seen);
    int parse_errors = diag_error_count();
    if (parse_errors) return p;   /* no semantic checks on a tree with holes */
    check_kind(p, DECL_MLP);
    check_kind(p, DECL_MODEL);
    check_kind(p, DECL_RULE);
    check_kind(p, DECL_EXPERIMENT);
    return p;
}

sema_program *sema_load(const char *path)
{
    int file = diag_load_file(path);
    if (file < 0) {
        diag_error(span_none, "cannot read '%s': %s", path, diag_load_strerror(errno));
        return calloc(1, sizeof(sema_program));
    }
    return check_program(file);
}

sema_program *sema_load_buffer(const char *name, const char *text, size_t len)
{
    int file = diag_add_buffer(name, text, len);
    return check_program(file);
}

static void free_rule(sema_rule *r)
{
    for (int i = 0; i < r->n_params; i++) free(r->params[i].init);
    free(r->params);
    free(r->neurons);
    for (int i = 0; i < r->n_values; i++) free(r->values[i].reads);
    free(r->values);
    free(r->reads);
    free(r->lets);
    free(r->mlps);
    free(r->mlp_offset);
    free(r);
}

void sema_program_free(sema_program *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_models; i++) { free(p->models[i]->layers); free(p->models[i]); }
    for (int i = 0; i < p->n_mlps; i++) {
        free(p->mlps[i]->width); free(p->mlps[i]->act); free(p->mlps[i]->act_arg); free(p->mlps[i]->weights);
        free(p->mlps[i]);
    }
    for (int i = 0; i < p->n_rules; i++) free_rule(p->rules[i]);
    for (int i = 0; i < p->n_experiments; i++) {
        sema_experiment *x = p->experiments[i];
        for (int k = 0; k < x->n_scales; k++) free(x->scales[k].values);
        free(x->scales);
        for (int a = 0; a < x->n_assigns; a++) free(x->assigns[a].named);
        free(x->assigns);
        free(x->rule_of_projection);
        free(x->rule_of_recurrent);
        free(x->weights_names);
        free(x->weights_at);
        free(x);
    }
    free(p->models); free(p->mlps); free(p->rules); free(p->experiments); free(p->units);
    free(p);
}
