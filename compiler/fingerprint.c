/* fingerprint — what decides a run's numbers, as "key value" lines that the
 * meta-state keeps (plast_train_opts.fingerprint), so that a resume can say
 * what changed (fingerprint.h).
 *
 *   experiment NAME
 *   model NAME input 2 dense 16 softplus(10) ... loss L feedback F init I(A)
 *                                               (sema's enums as numbers)
 *   mlp NAME in N dense W act(arg) ...          every mlp a rule calls
 *   rule NAME text:HASH                         FNV-1a of the rule's canonical text
 *   projections W1:RULE W2:RULE ...
 *   data, tasks, inner, meta, scale RULE.PARAM, seed, precision, diagnostics
 *   episodes E                                  not compared (a resume may run longer)
 *   cli --seed S ...                            options of the run's command line
 *
 * Values are the effective ones (the command line's --seed, not the file's).
 * The episode count enters the comparison only through a cosine schedule,
 * whose learning rates depend on it. */
#include "config.h"
#include "fingerprint.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct text { char *s; size_t len, cap; } text;

static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = 2 * (t->len + (size_t)n + 1);
        char *s = realloc(t->s, cap);
        if (!s) return;
        t->s = s, t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static const char *act_name(sema_act a)
{
    static const char *const names[] = { "identity", "relu", "tanh", "sigmoid", "softplus", "softmax", "kcap" };   /* sema_act */
    return (unsigned)a < sizeof names / sizeof *names ? names[a] : "act";
}

static void add_model(text *t, const sema_model *m)
{
    add(t, "model %s input %d", m->name, m->n_input);
    for (int l = 0; l < m->n_layers; l++) {
        const sema_layer *L = &m->layers[l];
        add(t, " %s %d %s(%.17g)", L->kind == LAYER_RECURRENT ? "recurrent" : L->kind == LAYER_READOUT ? "readout" : "dense",
            L->size, act_name(L->act), L->act_arg);
        if (L->kind == LAYER_RECURRENT) add(t, " steps %d", L->steps);
    }
    add(t, " loss %d feedback %d init %d(%.17g) topdown %d lateral %d\n", (int)m->loss, (int)m->feedback, (int)m->init,
        m->init_arg, m->topdown, m->lateral);
}

static void add_mlp(text *t, const sema_mlp *n)
{
    add(t, "mlp %s in %d", n->name, n->n_in);
    for (int l = 0; l < n->n_layers; l++) add(t, " dense %d %s(%.17g)", n->width[l], act_name(n->act[l]), n->act_arg[l]);
    add(t, "\n");
}

/* FNV-1a (64 bits) of the rule's canonical text (ast_dump_decl). */
static uint64_t rule_hash(const sema_rule *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    uint64_t h = 0xcbf29ce484222325ull;
    if (!f) return 0;
    ast_dump_decl(f, r->decl);
    fclose(f);
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ull;
    free(buf);
    return h;
}

/* The rule of projection K of X: the model's projections (sema_projection_count),
 * then Wrec<l> of each layer; -1 for none. */
static int rule_at(const sema_model *m, const sema_experiment *x, int k)
{
    int P = sema_projection_count(m);
    return k < P ? x->rule_of_projection[k] : x->rule_of_recurrent ? x->rule_of_recurrent[k - P] : -1;
}

/* The rules (each once, in projection order) and which projection has which:
 * W1..WL as ever, then top-down, lateral and recurrent ones where the model
 * has them, so that a feed-forward run's text is what it always was. */
static void add_rules(text *t, const sema_program *p, const sema_experiment *x)
{
    const sema_model *m = p->models[x->model];
    int n = sema_projection_count(m) + m->n_layers;
    for (int k = 0; k < n; k++) {
        int r = rule_at(m, x, k), first = r >= 0;
        for (int j = 0; j < k && first; j++) first = rule_at(m, x, j) != r;
        if (!first) continue;
        const sema_rule *R = p->rules[r];
        for (int i = 0; i < R->n_mlps; i++) add_mlp(t, p->mlps[R->mlps[i]]);
        add(t, "rule %s text:%016llx\n", R->name, (unsigned long long)rule_hash(R));
    }
    add(t, "projections");
    for (int k = 0; k < n; k++) {
        int r = rule_at(m, x, k);
        char name[32];
        if (k < sema_projection_count(m)) sema_projection_name(m, k, name, sizeof name);
        else snprintf(name, sizeof name, "Wrec%d", k - sema_projection_count(m) + 1);
        if (r >= 0) add(t, " %s:%s", name, p->rules[r]->name);
    }
    add(t, "\n");
    if (x->weights_from) {
        add(t, "weights from \"");
        for (const char *c = x->weights_from; *c; c++) add(t, "%c", *c == '\n' ? ' ' : *c);
        add(t, "\" on");
        for (int k = 0; k < x->n_weights_names; k++) add(t, " %s", x->weights_names[k]);
        add(t, "\n");
    }
}

static void add_data(text *t, const sema_data *D)
{
    static const char *const kinds[] = { "fashion_mnist", "idx", "npy", "moons", "circles", "blobs" };
    add(t, "data %s", kinds[D->kind]);
    for (int i = 0; (D->kind == DATA_IDX || D->kind == DATA_NPY) && i < 2; i++) {
        add(t, " \"");
        for (const char *c = D->path[i]; *c; c++) add(t, "%c", *c == '\n' ? ' ' : *c);   /* one line per key */
        add(t, "\"");
    }
    if (D->kind == DATA_FASHION_MNIST) add(t, " %s", D->test_split ? "test" : "train");
    else if (D->kind != DATA_IDX && D->kind != DATA_NPY) add(t, " n %d noise %.17g factor %.17g centers %d std %.17g", D->n, D->noise, D->factor, D->centers, D->std);
    if (D->random) add(t, " random");
    if (D->standardise) add(t, " standardise");
    add(t, " project %d\n", D->project);
}

static void add_scales(text *t, const sema_experiment *x)
{
    for (int i = 0; i < x->n_scales; i++) {
        const sema_scale *sc = &x->scales[i];
        const sema_param *prm = &sc->rule_ptr->params[sc->param];
        add(t, "scale %s.%s", sc->rule_ptr->name, prm->name);
        for (int k = 0; !sc->is_auto && k < (prm->size ? prm->size : 1); k++) add(t, " %.17g", sc->values[k]);
        add(t, "%s\n", sc->is_auto ? " auto" : "");
    }
}

char *fingerprint_experiment(const sema_program *p, const sema_experiment *x, const plast_train_opts *o, int single,
                             const char *cli)
{
    text t = { 0 };
    add(&t, "experiment %s\n", x->name);
    add_model(&t, p->models[x->model]);
    add_rules(&t, p, x);
    add_data(&t, &x->data);
    add(&t, "tasks ways %d train %d query %d\n", o->ways, o->k_train, o->q_query);
    add(&t, "inner batch %d steps %d\n", o->batch, o->steps);
    add(&t, "meta lr %.17g l1 %.17g prox %d clip %.17g batch %d schedule %d", o->lr, o->l1, o->l1_prox, o->clip,
        o->meta_batch, o->schedule);
    if (o->schedule == PLAST_SCHEDULE_STEP) add(&t, "(%d, %.17g)", o->sched_every, o->sched_gamma);
    if (o->schedule == PLAST_SCHEDULE_COSINE) add(&t, "(over %d episodes)", o->episodes);
    add(&t, " warmup %d nonfinite %d\n", o->warmup, o->nonfinite_skip);
    add_scales(&t, x);
    add(&t, "seed %llu\nprecision %s\ndiagnostics alignment %d orthonormality %d\n", (unsigned long long)o->seed,
        single ? "single" : "double", o->diag_alignment, o->diag_orthonormality);
    add(&t, "episodes %d\n", o->episodes);
    if (cli && *cli) add(&t, "cli %s\n", cli);
    return t.s;
}

/* ---- comparing ---- */

/* The key of a line: its first word, or two for the keys that repeat. */
static size_t key_length(const char *line)
{
    size_t n = strcspn(line, " \n");
    if ((!strncmp(line, "rule ", 5) || !strncmp(line, "mlp ", 4) || !strncmp(line, "scale ", 6) ||
         !strncmp(line, "model ", 6)) && line[n] == ' ')
        n += 1 + strcspn(line + n + 1, " \n");
    return n;
}

/* The line of TEXT with the key of LINE (its first KEY bytes), or NULL. */
static const char *find_key(const char *text, const char *line, size_t key)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (key_length(p) == key && !strncmp(p, line, key)) return p;
    return NULL;
}

static int ignored(const char *line)
{
    return !strncmp(line, "episodes ", 9) || !strncmp(line, "cli ", 4);
}

/* Adds to WHAT how LINE (of FROM) differs from its key's line in OTHER. */
static void differ(const char *line, const char *other, int line_is_stored, text *what)
{
    size_t key = key_length(line), len = strcspn(line, "\n");
    const char *o = find_key(other, line, key);
    size_t olen = o ? strcspn(o, "\n") : 0;
    if (o && olen == len && !strncmp(o, line, len)) return;
    if (o && !line_is_stored) return;   /* reported from the stored side */
    if (!o) add(what, "  %.*s: %s\n", (int)key, line, line_is_stored ? "in the run, not now" : "now, not in the run");
    else if (memmem(line, len, " text:", 6)) add(what, "  %.*s: its text differs from the run's\n", (int)key, line);
    else add(what, "  %.*s: '%.*s' in the run, '%.*s' now\n", (int)key, line, (int)(len - key - (len > key)),
             line + key + (len > key), (int)(olen - key - (olen > key)), o + key + (olen > key));
}

char *fingerprint_compare(const char *stored, const char *now)
{
    text what = { 0 };
    for (int side = 0; side < 2; side++) {
        const char *from = side ? now : stored, *other = side ? stored : now;
        for (const char *p = from; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
            if (!ignored(p) && *p != '\n') differ(p, other, !side, &what);
    }
    return what.s;
}

const char *fingerprint_cli(const char *text, const char *option, char *buf, size_t len)
{
    const char *line = text ? strstr(text, "\ncli ") : NULL;
    size_t n = strlen(option);
    for (const char *at = line ? line + 4 : NULL; at && *at && *at != '\n'; at += strcspn(at, " \n"), at += *at == ' ') {
        if (strncmp(at, option, n) || at[n] != ' ') continue;
        snprintf(buf, len, "%.*s", (int)strcspn(at + n + 1, " \n"), at + n + 1);
        return buf;
    }
    return NULL;
}

const char *fingerprint_experiment_name(const char *text, char *buf, size_t len)
{
    if (!text || strncmp(text, "experiment ", 11)) return NULL;
    snprintf(buf, len, "%.*s", (int)strcspn(text + 11, "\n"), text + 11);
    return buf;
}
