/* sema_config — model, mlp and experiment blocks.
 *
 * Their bodies are config statements (a head word and items); each head has a
 * small checker here that reads the items in order and says what it expected
 * where it found something else.
 */
#include "config.h"
#include "sema_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const sema_act_names[] = { "identity", "relu", "tanh", "sigmoid", "softplus", "softmax", "kcap" };

static const char *item_kind_name(const ast_item *it)
{
    switch (it->kind) {
    case IT_NUM: return "a number";
    case IT_WORD: return "a word";
    case IT_STRING: return "a string";
    case IT_CALL: return "a call";
    default: return "a list";
    }
}

int sema_item_num(const ast_item *it, const char *what, double *out)
{
    if (it->kind != IT_NUM) {
        diag_error(it->span, "expected a number for %s, found %s", what, item_kind_name(it));
        return -1;
    }
    *out = it->num;
    return 0;
}

int sema_item_int(const ast_item *it, const char *what, int lo, int hi, int *out)
{
    double v;
    if (sema_item_num(it, what, &v) < 0) return -1;
    if (v != floor(v) || v < lo || v > hi) {
        diag_error(it->span, "%s must be an integer from %d to %d", what, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int is_word(const ast_item *it, const char *w)
{
    return it->kind == IT_WORD && !strcmp(it->text, w);
}

static int expect_count(const ast_stmt *s, int lo, int hi, const char *usage)
{
    if (s->n_items >= lo && s->n_items <= hi) return 0;
    src_span at = s->n_items > hi ? s->items[hi]->span : s->span;
    diag_error(at, "%s '%s' statement; expected: %s", s->n_items > hi ? "too many items in the" : "incomplete",
               s->name, usage);
    return -1;
}

static int in_list(const char *w, const char *const *list)
{
    for (; *list; list++) if (!strcmp(w, *list)) return 1;
    return 0;
}

/* A forgotten ';' at the end of a line makes the next statement's words items
 * of this one (a config statement is a head word and any items):
 *     input 784            <- ';' missing here
 *     dense 100 relu;
 * When an item is a statement word of the block and the first thing on its
 * line (ANYWHERE: or anywhere, for blocks whose items are never such words),
 * the ';' is reported where it belongs and the statement is split there, so
 * both halves are checked as the user meant them. */
static void split_missing_semicolons(ast_decl *d, const char *const *heads, int anywhere)
{
    for (ast_stmt *s = d->body; s; s = s->next) {
        for (int i = 0; i < s->n_items; i++) {
            ast_item *it = s->items[i];
            src_span prev = i ? s->items[i - 1]->span : s->name_span;
            const src_file *f = diag_file(it->span.file);
            if (it->kind != IT_WORD || !in_list(it->text, heads) || !f || prev.end > it->span.begin ||
                it->span.begin > f->len)
                continue;
            if (!anywhere && !memchr(f->text + prev.end, '\n', it->span.begin - prev.end)) continue;
            src_span end = { prev.file, prev.end, prev.end };
            diag_error(end, "expected ';' after the '%s' statement", s->name);
            ast_stmt *t = ast_alloc(sizeof *t);
            t->kind = ST_CONFIG;
            t->name = it->text;
            t->name_span = it->span;
            t->span = span_join(it->span, s->span);
            t->span.begin = it->span.begin;
            t->items = s->items + i + 1;
            t->n_items = s->n_items - i - 1;
            t->next = s->next;
            s->next = t;
            s->n_items = i;
            s->span.end = prev.end;
            break;   /* t is checked next, and split again if need be */
        }
    }
}

static const char *const mlp_heads[] = { "in", "dense", "init", "weights", NULL };
static const char *const model_heads[] = { "input", "dense", "recurrent", "readout", "loss", "init", "feedback",
                                           "topdown", "lateral", NULL };
static const char *const experiment_heads[] = { "data", "tasks", "inner", "meta", "scale", "seed", "precision",
                                                "diagnostics", "checkpoint", "updates", "train", "learner", "weights", NULL };

/* An activation: relu, tanh, sigmoid, identity, softplus(beta), softmax, kcap(k). */
static int parse_act(const ast_item *it, int allow_softmax, int allow_kcap, sema_act *act, double *arg)
{
    *arg = 0;
    const char *name = it->kind == IT_WORD || it->kind == IT_CALL ? it->text : "";
    int nargs = it->kind == IT_CALL ? it->n_args : 0;
    static const sema_act plain[] = { ACT_IDENTITY, ACT_RELU, ACT_TANH, ACT_SIGMOID };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        if (!strcmp(name, sema_act_names[plain[i]]) && it->kind == IT_WORD) { *act = plain[i]; return 0; }
    }
    if (!strcmp(name, "linear") && it->kind == IT_WORD) { *act = ACT_IDENTITY; return 0; }
    if (!strcmp(name, "softplus") && nargs <= 1) {
        *act = ACT_SOFTPLUS;
        *arg = 1;
        if (nargs == 1 && sema_item_num(it->args[0], "softplus's beta", arg) < 0) return -1;
        if (!(*arg > 0)) { diag_error(it->span, "softplus's beta must be positive"); return -1; }
        return 0;
    }
    if (!strcmp(name, "softmax") && it->kind == IT_WORD && allow_softmax) { *act = ACT_SOFTMAX; return 0; }
    if (!strcmp(name, "kcap") && nargs == 1 && allow_kcap) {
        int k;
        if (sema_item_int(it->args[0], "kcap's k", 1, 1 << 20, &k) < 0) return -1;
        *act = ACT_KCAP;
        *arg = k;
        return 0;
    }
    const char *list = allow_softmax && allow_kcap ? "relu, tanh, sigmoid, identity, softplus(beta), softmax or kcap(k)"
                     : allow_kcap ? "relu, tanh, sigmoid, identity, softplus(beta) or kcap(k)"
                     : allow_softmax ? "relu, tanh, sigmoid, identity, softplus(beta) or softmax"
                     : "relu, tanh, sigmoid, identity or softplus(beta)";
    if (it->kind == IT_WORD || it->kind == IT_CALL)
        diag_error(it->span, "unknown activation '%s'; expected %s", it->text, list);
    else
        diag_error(it->span, "expected an activation (%s), found %s", list, item_kind_name(it));
    return -1;
}

/* ---- mlp ---- */

sema_mlp *sema_check_mlp(sema_program *p, ast_decl *d)
{
    sema_mlp *m = calloc(1, sizeof *m);
    m->name = d->name;
    m->span = d->span;
    int have_in = 0, in_stmts = 0, dense_stmts = 0;
    split_missing_semicolons(d, mlp_heads, 1);
    for (ast_stmt *s = d->body; s; s = s->next) {
        in_stmts += !strcmp(s->name, "in");
        dense_stmts += !strcmp(s->name, "dense");
    }
    for (ast_stmt *s = d->body; s; s = s->next) {
        if (!strcmp(s->name, "in")) {
            if (expect_count(s, 1, 1, "in N;") < 0) continue;
            if (have_in) { diag_error(s->span, "mlp '%s' declares 'in' twice", d->name); continue; }
            if (m->n_layers) { diag_error(s->span, "'in' must come before the dense layers"); continue; }
            if (sema_item_int(s->items[0], "the input width", 1, 100000, &m->n_in) == 0) have_in = 1;
        } else if (!strcmp(s->name, "dense")) {
            if (expect_count(s, 1, 2, "dense N [activation];") < 0) continue;
            int width;
            sema_act act = ACT_IDENTITY;
            double arg = 0;
            if (sema_item_int(s->items[0], "the layer width", 1, 100000, &width) < 0) continue;
            if (s->n_items == 2 && parse_act(s->items[1], 0, 0, &act, &arg) < 0) continue;
            m->width = sema_grow(m->width, m->n_layers, sizeof *m->width);
            m->act = sema_grow(m->act, m->n_layers, sizeof *m->act);
            m->act_arg = sema_grow(m->act_arg, m->n_layers, sizeof *m->act_arg);
            m->width[m->n_layers] = width;
            m->act[m->n_layers] = act;
            m->act_arg[m->n_layers] = arg;
            m->n_layers++;
        } else if (!strcmp(s->name, "init") || !strcmp(s->name, "weights")) {
            continue;   /* once the layers are known: sema_mlp_init */
        } else {
            diag_error(s->name_span, "unknown statement '%s' in mlp '%s'; expected 'in N;', 'dense N [activation];', "
                       "'init output G;' or 'weights [...];'", s->name, d->name);
        }
    }
    if (!have_in && !in_stmts) diag_error(d->name_span, "mlp '%s' has no 'in N;' statement; expected one before "
                                         "its layers", d->name);
    else if (have_in && !dense_stmts) diag_error(d->name_span, "mlp '%s' has no dense layer; expected "
                                                 "'dense N [activation];'", d->name);
    if (!have_in || m->n_layers < dense_stmts) {   /* a broken mlp: its calls are not checked */
        m->n_in = 0;
        m->n_layers = 0;
    }
    long long weights = 0;
    int prev = m->n_in;
    for (int l = 0; l < m->n_layers; l++) {
        weights += (long long)m->width[l] * prev + m->width[l];
        prev = m->width[l];
    }
    if (weights > SEMA_MAX_META) {
        diag_error(d->name_span, "mlp '%s' has %lld weights; expected at most %d (it is a per-synapse "
                   "meta-learner, not a model)", d->name, weights, SEMA_MAX_META);
        m->n_in = m->n_layers = 0;
        weights = 0;
    }
    m->n_weights = (int)weights;
    m->n_out = m->n_layers ? m->width[m->n_layers - 1] : 0;
    sema_mlp_init(m, d);
    return m;
}

/* ---- model ---- */

/* INPUT_LATER: an 'input' statement follows (else the missing input is
 * reported once, for the whole model, by model_finish). */
static void model_layer(sema_model *m, ast_stmt *s, sema_layer_kind kind, int input_later)
{
    static const char *const usage[] = { "dense N activation [bias];", "recurrent N activation steps T;",
                                         "readout N activation [bias];" };
    int max_items = kind == LAYER_RECURRENT ? 4 : 3;
    if (expect_count(s, 2, max_items, usage[kind]) < 0) return;
    sema_layer L;
    memset(&L, 0, sizeof L);
    L.kind = kind;
    L.span = s->span;
    L.steps = 1;
    if (sema_item_int(s->items[0], "the layer size", 1, 1 << 20, &L.size) < 0) return;
    if (parse_act(s->items[1], kind != LAYER_RECURRENT, 1, &L.act, &L.act_arg) < 0) return;
    if (L.act == ACT_KCAP && L.act_arg > L.size) {
        diag_error(s->items[1]->span, "kcap(%g) keeps more neurons than the layer's %d; expected k from 1 to %d",
                   L.act_arg, L.size, L.size);
        return;
    }
    if (kind != LAYER_RECURRENT && s->n_items == 3) {
        if (!is_word(s->items[2], "bias")) {
            diag_error(s->items[2]->span, "expected 'bias' or nothing after the activation");
            return;
        }
        L.bias = 1;
    }
    if (kind == LAYER_RECURRENT) {
        if (s->n_items != 4 || !is_word(s->items[2], "steps")) {
            diag_error(s->n_items > 2 ? s->items[2]->span : s->span, "expected 'steps T' after the activation");
            return;
        }
        if (sema_item_int(s->items[3], "the number of steps", 1, 100000, &L.steps) < 0) return;
    }
    if (!m->n_input) {
        if (input_later) diag_error(s->span, "'input N;' must come before the layers");
        return;
    }
    if (m->n_layers && m->layers[m->n_layers - 1].act == ACT_SOFTMAX) {
        diag_error(s->span, "softmax is only for the output layer, and this layer follows it; expected softmax "
                   "on the last layer only");
        return;
    }
    *SEMA_PUSH(m->layers, m->n_layers) = L;
}

static int pick_word(const ast_stmt *s, const char *const *words, int n, const char *usage)
{
    if (expect_count(s, 1, 1, usage) < 0) return -1;
    for (int i = 0; i < n; i++)
        if (is_word(s->items[0], words[i])) return i;
    if (s->items[0]->kind == IT_WORD)
        diag_error(s->items[0]->span, "unknown %s '%s'; expected %s", s->name, s->items[0]->text, usage);
    else
        diag_error(s->items[0]->span, "expected a word after '%s', found %s; expected %s", s->name,
                   item_kind_name(s->items[0]), usage);
    return -1;
}

static void model_loss(sema_model *m, ast_stmt *s)
{
    if (expect_count(s, 1, 1, "loss cross_entropy | mse | mse(input);") < 0) return;
    const ast_item *it = s->items[0];
    if (is_word(it, "cross_entropy")) m->loss = LOSS_CROSS_ENTROPY;
    else if (is_word(it, "mse")) m->loss = LOSS_MSE;
    else if (it->kind == IT_CALL && !strcmp(it->text, "mse") && it->n_args == 1 && is_word(it->args[0], "input"))
        m->loss = LOSS_MSE_INPUT;
    else diag_error(it->span, "unknown loss; expected cross_entropy, mse or mse(input)");
}

static void model_init(sema_model *m, ast_stmt *s)
{
    if (expect_count(s, 1, 1, "init xavier | lecun | normal(std) | uniform(a);") < 0) return;
    const ast_item *it = s->items[0];
    if (is_word(it, "xavier")) { m->init = INIT_XAVIER; return; }
    if (is_word(it, "lecun")) { m->init = INIT_LECUN; return; }
    if (it->kind == IT_CALL && it->n_args == 1 &&
        (!strcmp(it->text, "normal") || !strcmp(it->text, "uniform"))) {
        m->init = !strcmp(it->text, "normal") ? INIT_NORMAL : INIT_UNIFORM;
        if (sema_item_num(it->args[0], "the init scale", &m->init_arg) == 0 && !(m->init_arg > 0))
            diag_error(it->args[0]->span, "the init scale must be positive");
        return;
    }
    diag_error(it->span, "unknown init; expected xavier, lecun, normal(std) or uniform(a)");
}

/* topdown [VALUE];  -- VALUE: what Wtop_l carries down from layer l+1: a
 * neuron value of the rule on W_{l+1} (default delta) or a signal y, z, e. */
static void model_topdown(sema_model *m, ast_stmt *s)
{
    if (expect_count(s, 0, 1, "topdown; or topdown VALUE;") < 0) return;
    m->topdown = 1;
    m->carried = "delta";
    m->carried_signal = -1;
    m->carried_span = s->span;
    if (!s->n_items) return;
    const ast_item *it = s->items[0];
    if (it->kind != IT_WORD) {
        diag_error(it->span, "expected the name of what the top-down projections carry (a neuron value such as "
                   "delta, or y, z or e), found %s", item_kind_name(it));
        return;
    }
    static const sema_signal carried_signals[] = { SIG_Y, SIG_Z, SIG_E };
    for (size_t k = 0; k < sizeof carried_signals / sizeof *carried_signals; k++)
        if (!strcmp(it->text, sema_signal_names[carried_signals[k]])) m->carried_signal = (int)carried_signals[k];
    if (!strcmp(it->text, "ztop") || !strcmp(it->text, "zlat")) {
        diag_error(it->span, "the top-down projections compute ztop from what they carry, so they cannot carry "
                   "'%s'; expected a neuron value (such as delta) or y, z or e", it->text);
        return;
    }
    m->carried = it->text;
}

static void model_finish(sema_model *m, ast_decl *d, int have_loss, int have_input)
{
    if (!m->n_input) {
        if (!have_input) diag_error(d->name_span, "model '%s' has no 'input N;' statement; expected one "
                                    "before its layers", d->name);
        return;
    }
    if (!m->n_layers) {
        static const char *const layer_heads[] = { "dense", "recurrent", "readout", NULL };
        int layer_stmts = 0;   /* layers with errors were reported already */
        for (const ast_stmt *s = d->body; s; s = s->next) layer_stmts += in_list(s->name, layer_heads);
        if (!layer_stmts)
            diag_error(d->name_span, "model '%s' has no layers; expected 'dense N activation;' statements", d->name);
        return;
    }
    if (m->n_layers > 64) { diag_error(d->name_span, "model '%s' has more than 64 layers", d->name); return; }
    double weights = 0;   /* W_l, plus the recurrent matrix of a recurrent layer */
    for (int l = 0; l < m->n_layers; l++) {
        double in = l ? m->layers[l - 1].size : m->n_input, out = m->layers[l].size;
        weights += out * in + (m->layers[l].kind == LAYER_RECURRENT ? out * out : 0);
    }
    if (weights > 1e9)
        diag_error(d->name_span, "model '%s' has %.3g weights; expected at most 1e9", d->name, weights);
    if (!have_loss) diag_error(d->name_span, "model '%s' has no 'loss ...;' statement; expected loss "
                               "cross_entropy, mse or mse(input)", d->name);
    const sema_layer *out = &m->layers[m->n_layers - 1];
    if (have_loss && m->loss == LOSS_CROSS_ENTROPY && out->act != ACT_SOFTMAX)
        diag_error(out->span, "loss cross_entropy needs a softmax output layer; expected 'dense N softmax;' last");
    if (have_loss && m->loss == LOSS_MSE_INPUT && out->size != m->n_input)
        diag_error(out->span, "loss mse(input) reconstructs the input: the output layer needs %d neurons, not %d",
                   m->n_input, out->size);
    for (int l = 0; l + 1 < m->n_layers; l++)
        if (m->layers[l].act == ACT_SOFTMAX) diag_error(m->layers[l].span, "softmax is only for the output layer");
    sema_check_recurrent_model(m);
    if (m->topdown && m->carried_signal == SIG_E && m->feedback == FB_NONE && m->n_layers > 1)
        diag_error(m->carried_span, "'topdown e;' carries the errors of the hidden layers (e_1 to e_%d) down, "
                   "which a model with 'feedback none' does not compute; expected feedback symmetric, random or "
                   "direct, or a neuron value to carry", m->n_layers - 1);
}

sema_model *sema_check_model(sema_program *p, ast_decl *d)
{
    static const char *const feedbacks[] = { "symmetric", "random", "direct", "none" };
    sema_model *m = calloc(1, sizeof *m);
    m->name = d->name;
    m->span = d->span;
    m->feedback = FB_RANDOM;
    m->init = INIT_XAVIER;
    int have_loss = 0, inputs_left = 0, have_input = 0;
    split_missing_semicolons(d, model_heads, 1);
    for (ast_stmt *s = d->body; s; s = s->next) inputs_left += !strcmp(s->name, "input");
    have_input = inputs_left > 0;
    for (ast_stmt *s = d->body; s; s = s->next) {
        const char *h = s->name;
        if (!strcmp(h, "input")) {
            inputs_left--;
            if (expect_count(s, 1, 1, "input N;") == 0 && m->n_input)
                diag_error(s->span, "model '%s' declares 'input' twice", d->name);
            else if (s->n_items == 1)
                sema_item_int(s->items[0], "the input size", 1, 1 << 24, &m->n_input);
        } else if (!strcmp(h, "dense")) model_layer(m, s, LAYER_DENSE, inputs_left > 0);
        else if (!strcmp(h, "recurrent")) model_layer(m, s, LAYER_RECURRENT, inputs_left > 0);
        else if (!strcmp(h, "readout")) model_layer(m, s, LAYER_READOUT, inputs_left > 0);
        else if (!strcmp(h, "loss")) { model_loss(m, s); have_loss = 1; }
        else if (!strcmp(h, "init")) model_init(m, s);
        else if (!strcmp(h, "feedback")) {
            int k = pick_word(s, feedbacks, 4, "symmetric, random, direct or none");
            if (k >= 0) m->feedback = (sema_feedback)k;
        } else if (!strcmp(h, "topdown")) model_topdown(m, s);
        else if (!strcmp(h, "lateral")) {
            if (expect_count(s, 0, 0, "lateral;") == 0) m->lateral = 1;
        } else {
            diag_error(s->name_span, "unknown statement '%s' in model '%s'; expected input, dense, recurrent, "
                       "readout, loss, feedback, init, topdown or lateral", h, d->name);
        }
    }
    model_finish(m, d, have_loss, have_input);
    return m;
}

/* ---- experiment ---- */

typedef struct xctx {
    sema_program *p;
    sema_experiment *x;
    ast_decl *d;
    const char *dir;        /* of the experiment's file, for data paths */
    src_span *rec_at;       /* [assign * 64 + l]: the item naming Wrec_{l+1} */
    const ast_stmt *tasks;  /* the tasks statement, if any */
    const ast_item *batch;  /* the inner batch size's item, if given */
    int saw_model, saw_rule, rule_failed;   /* to report nothing missing that was misspelt */
} xctx;

/* "unknown rule 'fa_sdg'; did you mean 'fa_sgd'?" over the program's rules or models. */
static void error_unknown_decl(const xctx *c, const ast_item *it, int is_rule)
{
    int n = is_rule ? c->p->n_rules : c->p->n_models;
    const char **names = malloc((size_t)(n ? n : 1) * sizeof *names);
    for (int i = 0; i < n; i++) names[i] = is_rule ? c->p->rules[i]->name : c->p->models[i]->name;
    const char *hint = sema_closest(it->text, names, n);
    const char *kind = is_rule ? "rule" : "model";
    if (hint) diag_error(it->span, "unknown %s '%s'; did you mean '%s'?", kind, it->text, hint);
    else diag_error(it->span, "unknown %s '%s'; expected the name of a %s defined or imported in this file",
                    kind, it->text, kind);
    free(names);
}

static const char *resolve_path(const xctx *c, const char *path)
{
    if (path[0] == '/' || !c->dir || !c->dir[0]) return path;
    size_t n = strlen(c->dir) + strlen(path) + 2;
    char *out = ast_alloc(n);
    snprintf(out, n, "%s/%s", c->dir, path);
    return out;
}

/* A projection name: W<l> (l >= 1), Wtop<l> or Wlat<l> (l >= 0); 0 or -1. */
static int parse_projection(const ast_item *it, sema_proj_ref *out)
{
    static const struct { const char *prefix; int kind, first; } forms[] = {
        { "Wtop", DW_TOPDOWN, 0 }, { "Wlat", DW_LATERAL, 0 }, { "W", DW_FORWARD, 1 } };
    if (it->kind != IT_WORD) return -1;
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
        size_t n = strlen(forms[f].prefix);
        if (strncmp(it->text, forms[f].prefix, n) || !it->text[n]) continue;
        char *end = NULL;
        long l = strtol(it->text + n, &end, 10);
        if (*end || it->text[n] < '0' || it->text[n] > '9' || l < forms[f].first || l > 64) return -1;
        *out = (sema_proj_ref){ forms[f].kind, (int)l, it->span };
        return 0;
    }
    return -1;
}

/* "rule NAME [on W1, Wtop0, Wlat1, ...];" */
static void exp_rule(xctx *c, ast_stmt *s)
{
    c->saw_rule = 1;
    c->rule_failed++;   /* until the statement is accepted */
    if (s->n_items < 1 || s->items[0]->kind != IT_WORD) {
        diag_error(s->n_items ? s->items[0]->span : s->span, "expected a rule name: rule NAME [on W1, W2, ...];");
        return;
    }
    int r = sema_find_rule(c->p, s->items[0]->text);
    if (r < 0) { error_unknown_decl(c, s->items[0], 1); return; }
    sema_assign a = { r, 1, NULL, 0, ~0ull, s->span };   /* rule R; -- every projection, Wrec too */
    src_span rec_at[64];
    for (int l = 0; l < 64; l++) rec_at[l] = s->span;
    if (s->n_items > 1) {
        if (!is_word(s->items[1], "on") || s->n_items < 3) {
            diag_error(s->items[1]->span, "expected 'on W1, W2, ...' after the rule name");
            return;
        }
        a.all = 0;
        a.recurrent = 0;
        for (int i = 2; i < s->n_items; i++) {
            const ast_item *it = s->items[i];
            int rec = sema_recurrent_name(it, &a.recurrent, rec_at);
            if (rec < 0) { free(a.named); return; }
            if (rec) continue;
            sema_proj_ref ref;
            if (parse_projection(it, &ref) < 0) {
                diag_error(it->span, "expected a projection name W1, W2, ... (W_l feeds layer l), Wtop0, ... "
                           "(top-down into layer l), Wlat0, ... (lateral within layer l) or Wrec1, ... (the "
                           "recurrent weights of layer l)");
                free(a.named);
                return;
            }
            for (int k = 0; k < a.n_named; k++)
                if (a.named[k].kind == ref.kind && a.named[k].layer == ref.layer) {
                    diag_error(it->span, "%s is named twice in this statement", it->text);
                    free(a.named);
                    return;
                }
            *SEMA_PUSH(a.named, a.n_named) = ref;
        }
    }
    c->rule_failed--;
    c->rec_at = realloc(c->rec_at, (size_t)(c->x->n_assigns + 1) * 64 * sizeof *c->rec_at);
    memcpy(c->rec_at + (size_t)c->x->n_assigns * 64, rec_at, sizeof rec_at);
    *SEMA_PUSH(c->x->assigns, c->x->n_assigns) = a;
}

static int opt_num(const ast_stmt *s, int *i, const char *what, double *out)
{
    if (*i + 1 >= s->n_items) {
        diag_error(s->items[*i]->span, "expected a number after '%s'", s->items[*i]->text);
        return -1;
    }
    return sema_item_num(s->items[++*i], what, out);
}

/* opt_num for a value above LO (STRICT) or at least LO. */
static int opt_num_from(const ast_stmt *s, int *i, const char *what, double lo, int strict, double *out)
{
    if (opt_num(s, i, what, out) < 0) return -1;
    if (strict ? *out > lo : *out >= lo) return 0;
    diag_error(s->items[*i]->span, "%s must be %s %g, not %g", what, strict ? "greater than" : "at least", lo, *out);
    return -1;
}

static int opt_int(const ast_stmt *s, int *i, const char *what, int lo, int hi, int *out)
{
    if (*i + 1 >= s->n_items) {
        diag_error(s->items[*i]->span, "expected a number after '%s'", s->items[*i]->text);
        return -1;
    }
    return sema_item_int(s->items[++*i], what, lo, hi, out);
}

/* random: a task family (moons, gaussians) instead of one generated set. */
static int data_random(sema_data *D, const char *kind, const ast_item *it)
{
    if (D->kind == DATA_CIRCLES || !strcmp(kind, "blobs")) {
        diag_error(it->span, "'random' (a new problem for every task) is for data moons and data gaussians, "
                   "not %s", kind);
        return -1;
    }
    D->random = 1;
    return 0;
}

/* data idx "img" "lbl" | npy "x" "y" | fashion_mnist [test] | moons|circles|blobs|gaussians [opts] */
static void exp_data(xctx *c, ast_stmt *s)
{
    sema_data *D = &c->x->data;
    if (s->n_items < 1 || s->items[0]->kind != IT_WORD) {
        diag_error(s->span, "expected a data source: idx, npy, fashion_mnist, moons, circles, blobs or gaussians");
        return;
    }
    const char *kind = s->items[0]->text;
    int i = 1;
    D->span = s->span;
    D->random = 0;
    if (!strcmp(kind, "idx") || !strcmp(kind, "npy")) {
        D->kind = kind[0] == 'i' ? DATA_IDX : DATA_NPY;
        int extra = s->n_items == 4 && is_word(s->items[3], "standardise");
        if (s->n_items != 3 + extra || s->items[1]->kind != IT_STRING || s->items[2]->kind != IT_STRING) {
            diag_error(s->span, "expected two file names: data %s \"%s\" \"%s\" [standardise];", kind,
                       D->kind == DATA_IDX ? "images" : "x.npy", D->kind == DATA_IDX ? "labels" : "y.npy");
            return;
        }
        D->path[0] = resolve_path(c, s->items[1]->text);
        D->path[1] = resolve_path(c, s->items[2]->text);
        D->standardise = extra;
        return;
    }
    if (!strcmp(kind, "fashion_mnist")) D->kind = DATA_FASHION_MNIST;
    else if (!strcmp(kind, "moons")) D->kind = DATA_MOONS;
    else if (!strcmp(kind, "circles")) D->kind = DATA_CIRCLES;
    else if (!strcmp(kind, "blobs") || !strcmp(kind, "gaussians")) D->kind = DATA_BLOBS;
    else {
        diag_error(s->items[0]->span, "unknown data source '%s'; expected idx, npy, fashion_mnist, moons, "
                   "circles, blobs or gaussians", kind);
        return;
    }
    D->standardise = !strcmp(kind, "gaussians");
    const ast_item *n_item = NULL, *centers_item = NULL;
    for (; i < s->n_items; i++) {
        const ast_item *it = s->items[i];
        const char *w = it->kind == IT_WORD ? it->text : "";
        int gen = D->kind != DATA_FASHION_MNIST;
        if (!strcmp(w, "n")) n_item = it;
        if (!strcmp(w, "centers")) centers_item = it;
        if (!gen && !strcmp(w, "test")) D->test_split = 1;
        else if (!gen && !strcmp(w, "train")) D->test_split = 0;
        else if (gen && !strcmp(w, "n")) { if (opt_int(s, &i, "the sample count", 1, 10000000, &D->n) < 0) return; }
        else if (gen && !strcmp(w, "noise")) { if (opt_num_from(s, &i, "the noise", 0, 0, &D->noise) < 0) return; }
        else if (D->kind == DATA_CIRCLES && !strcmp(w, "factor")) { if (opt_num(s, &i, "the factor", &D->factor) < 0) return; }
        else if (D->kind == DATA_BLOBS && !strcmp(w, "centers")) { if (opt_int(s, &i, "the centers", 1, 1000, &D->centers) < 0) return; }
        else if (D->kind == DATA_BLOBS && !strcmp(w, "std")) { if (opt_num_from(s, &i, "the std", 0, 0, &D->std) < 0) return; }
        else if (!strcmp(w, "project")) { if (opt_int(s, &i, "the projection dimension", 1, 1 << 20, &D->project) < 0) return; }
        else if (!strcmp(w, "standardise")) D->standardise = 1;   /* before the projection; random tasks always are */
        else if (gen && !strcmp(w, "random")) { if (data_random(D, kind, it) < 0) return; }
        else {
            diag_error(it->span, "unknown option for data %s; expected %s", kind,
                       gen ? "n, noise, project, standardise, random (circles: factor; blobs: centers, std)"
                           : "train, test, project or standardise");
            return;
        }
    }
    if (D->random && n_item)
        diag_error(n_item->span, "random tasks draw their own samples, as many as each task needs; expected no "
                   "'n N'");
    if (D->random && D->kind == DATA_BLOBS && !centers_item) D->centers = 2;   /* two Gaussians */
    if (D->random && D->kind == DATA_BLOBS && D->centers < 2)
        diag_error(centers_item->span, "random Gaussian tasks need at least 2 classes; expected centers 2 or more");
}

/* tasks ways N train K query Q; */
static void exp_tasks(xctx *c, ast_stmt *s)
{
    c->tasks = s;
    for (int i = 0; i < s->n_items; i++) {
        const ast_item *it = s->items[i];
        const char *w = it->kind == IT_WORD ? it->text : "";
        int *dst = !strcmp(w, "ways") ? &c->x->ways : !strcmp(w, "train") ? &c->x->k_train
                 : !strcmp(w, "query") ? &c->x->q_query : NULL;
        if (!dst) { diag_error(it->span, "expected 'ways N', 'train K' or 'query Q'"); return; }
        if (opt_int(s, &i, w, 1, 1000000, dst) < 0) return;
    }
}

/* inner online [steps S] | inner batch B [steps S] [unlabelled U] */
static void exp_inner(xctx *c, ast_stmt *s)
{
    for (int i = 0; i < s->n_items; i++) {
        const ast_item *it = s->items[i];
        if (is_word(it, "online")) c->x->batch = 1;
        else if (is_word(it, "batch")) {
            if (opt_int(s, &i, "the batch size", 1, 1000000, &c->x->batch) < 0) return;
            c->batch = s->items[i];
        }
        else if (is_word(it, "steps")) { if (opt_int(s, &i, "the step count", 1, 100000000, &c->x->steps) < 0) return; }
        else if (is_word(it, "unlabelled")) {
            if (opt_int(s, &i, "the unlabelled samples per batch", 1, 1000000, &c->x->unlabelled) < 0) return;
        } else { diag_error(it->span, "expected 'online', 'batch B', 'steps S' or 'unlabelled U'"); return; }
    }
    if (c->x->unlabelled && c->x->unlabelled >= c->x->batch)
        diag_error(s->span, "a batch of %d holds %d unlabelled samples and no labelled one; expected unlabelled "
                   "U below the batch size", c->x->batch, c->x->unlabelled);
    else if (c->x->unlabelled && !c->x->steps)
        diag_error(s->span, "with 'unlabelled U' the training stream is as long as the steps make it; expected "
                   "'steps S'");
}

/* meta adam lr X l1 X [prox] episodes N batch M clip C schedule constant|step(every, gamma)|cosine warmup W nonfinite stop|skip|backtrack */
static void exp_meta(xctx *c, ast_stmt *s)
{
    sema_experiment *x = c->x;
    for (int i = 0; i < s->n_items; i++) {
        const ast_item *it = s->items[i];
        const char *w = it->kind == IT_WORD || it->kind == IT_CALL ? it->text : "";
        int ok = 0;
        if (is_word(it, "adam")) ok = 0;
        else if (!strcmp(w, "lr")) ok = opt_num_from(s, &i, "the learning rate", 0, 1, &x->lr);
        else if (!strcmp(w, "l1")) ok = opt_num_from(s, &i, "the L1 weight", 0, 0, &x->l1);
        else if (is_word(it, "prox")) x->l1_prox = 1;
        else if (is_word(it, "subgradient")) x->l1_prox = 0;
        else if (!strcmp(w, "episodes")) ok = opt_int(s, &i, "the episode count", 1, 100000000, &x->episodes);
        else if (!strcmp(w, "batch")) ok = opt_int(s, &i, "the meta-batch", 1, 100000, &x->meta_batch);
        else if (!strcmp(w, "clip")) ok = opt_num_from(s, &i, "the clipping norm (0: off)", 0, 0, &x->clip);
        else if (!strcmp(w, "warmup")) ok = opt_int(s, &i, "the warm-up episodes", 0, 100000000, &x->warmup);
        else if (!strcmp(w, "schedule") && i + 1 < s->n_items) {
            const ast_item *v = s->items[++i];
            if (is_word(v, "constant")) x->schedule = 0;
            else if (is_word(v, "cosine")) x->schedule = 2;
            else if (v->kind == IT_CALL && !strcmp(v->text, "step") && v->n_args == 2) {
                x->schedule = 1;
                ok = sema_item_int(v->args[0], "the step interval", 1, 100000000, &x->sched_every);
                if (!ok) ok = sema_item_num(v->args[1], "the step factor", &x->sched_gamma);
            } else { diag_error(v->span, "expected constant, cosine or step(every, factor)"); ok = -1; }
        } else if (!strcmp(w, "nonfinite") && i + 1 < s->n_items) {
            const ast_item *v = s->items[++i];
            if (is_word(v, "stop")) x->nonfinite_skip = 0;
            else if (is_word(v, "skip")) x->nonfinite_skip = 1;
            else if (is_word(v, "backtrack")) x->nonfinite_skip = 2;
            else { diag_error(v->span, "expected 'stop', 'skip' or 'backtrack'"); ok = -1; }
        } else {
            diag_error(it->span, "unknown meta option '%s'; expected adam, lr, l1, prox, episodes, batch, clip, "
                       "schedule, warmup or nonfinite", it->kind == IT_WORD || it->kind == IT_CALL ? it->text : "");
            ok = -1;
        }
        if (ok < 0) return;
    }
}

/* scale RULE.PARAM auto | scale PARAM [s0, s1, ...] | scale PARAM s */
static void exp_scale(xctx *c, ast_stmt *s)
{
    if (s->n_items != 2 || s->items[0]->kind != IT_WORD) {
        diag_error(s->span, "expected: scale PARAM auto; or scale PARAM [s0, s1, ...];");
        return;
    }
    sema_scale sc;
    memset(&sc, 0, sizeof sc);
    sc.span = s->span;
    sc.rule = -1;
    const char *pname = s->items[0]->text;
    for (int a = 0; a < c->x->n_assigns && sc.rule < 0; a++) {
        const sema_rule *r = c->p->rules[c->x->assigns[a].rule];
        for (int k = 0; k < r->n_params; k++)
            if (!strcmp(r->params[k].name, pname)) { sc.rule = c->x->assigns[a].rule; sc.param = k; break; }
    }
    if (sc.rule < 0) {
        diag_error(s->items[0]->span, "no rule of this experiment has a parameter '%s' (give 'rule' first)", pname);
        return;
    }
    sc.rule_ptr = c->p->rules[sc.rule];
    const sema_param *prm = &c->p->rules[sc.rule]->params[sc.param];
    int n = prm->size ? prm->size : 1;
    const ast_item *v = s->items[1];
    if (is_word(v, "auto")) sc.is_auto = 1;
    else {
        int count = v->kind == IT_LIST ? v->n_args : 1;
        if (count != n && !(v->kind == IT_NUM)) {
            diag_error(v->span, "the scale list has %d values, but '%s' has %d", count, pname, n);
            return;
        }
        sc.values = calloc((size_t)n, sizeof *sc.values);
        for (int k = 0; k < n; k++) {
            const ast_item *e = v->kind == IT_LIST ? v->args[k] : v;
            if (sema_item_num(e, "a scale", &sc.values[k]) < 0 || !(sc.values[k] > 0)) {
                if (e->kind == IT_NUM) diag_error(e->span, "a scale must be positive");
                free(sc.values);
                return;
            }
        }
    }
    *SEMA_PUSH(c->x->scales, c->x->n_scales) = sc;
}

static void exp_seed(xctx *c, ast_stmt *s)
{
    double v = 0;
    if (expect_count(s, 1, 1, "seed N;") < 0 || sema_item_num(s->items[0], "the seed", &v) < 0) return;
    if (v < 0 || v != floor(v) || v > 9007199254740992.0) { diag_error(s->items[0]->span, "the seed must be a non-negative integer"); return; }
    c->x->seed = (unsigned long long)v;
}

/* weights from "DIR" on NAME, ...;  (the names are checked against the model in exp_finish) */
static void exp_weights(xctx *c, ast_stmt *s)
{
    sema_experiment *x = c->x;
    if (s->n_items < 4 || !is_word(s->items[0], "from") || s->items[1]->kind != IT_STRING ||
        !is_word(s->items[2], "on")) {
        diag_error(s->span, "expected: weights from \"DIR\" on W1, Wrec1, ...; (the .npy files, as plastcc episode "
                   "and latents save them, that every task's network starts from)");
        return;
    }
    if (x->weights_from) { diag_error(s->span, "experiment '%s' has two 'weights from' statements", x->name); return; }
    x->weights_from = resolve_path(c, s->items[1]->text);
    for (int i = 3; i < s->n_items; i++) {
        const ast_item *it = s->items[i];
        if (it->kind != IT_WORD) { diag_error(it->span, "expected a weight name such as W1, Wrec1 or bias2"); continue; }
        for (int k = 0; k < x->n_weights_names; k++)
            if (!strcmp(x->weights_names[k], it->text)) diag_error(it->span, "%s is named twice in this statement", it->text);
        x->weights_at = realloc(x->weights_at, (size_t)(x->n_weights_names + 1) * sizeof *x->weights_at);
        x->weights_at[x->n_weights_names] = it->span;
        *SEMA_PUSH(x->weights_names, x->n_weights_names) = it->text;
    }
}

static int projection_exists(const sema_model *m, const sema_proj_ref *ref)
{
    int L = m->n_layers, l = ref->layer;
    if (ref->kind == DW_FORWARD) return l <= L;
    if (ref->kind == DW_TOPDOWN) return m->topdown && l <= L - 1;
    return m->lateral && l <= L;
}

/* Each name of 'weights from' is a weight buffer of model M. */
static void check_weights(const sema_experiment *x, const sema_model *m)
{
    for (int k = 0; k < x->n_weights_names; k++) {
        const char *name = x->weights_names[k];
        char *end = NULL;
        long l = 0;
        int ok = 0;
        if (!strncmp(name, "Wrec", 4) || !strncmp(name, "bias", 4)) {
            l = strtol(name + 4, &end, 10);
            int layer_ok = end != name + 4 && !*end && l >= 1 && l <= m->n_layers;
            ok = layer_ok && (name[0] == 'W' ? m->layers[l - 1].kind == LAYER_RECURRENT : m->layers[l - 1].bias);
        } else {
            ast_item it = { .kind = IT_WORD, .text = name, .span = x->weights_at[k] };
            sema_proj_ref ref;
            ok = parse_projection(&it, &ref) == 0 && projection_exists(m, &ref);
        }
        if (!ok)
            diag_error(x->weights_at[k], "model '%s' has no weights '%s'; expected a projection (W1..W%d, Wrec<l> of a "
                       "recurrent layer, Wtop<l>, Wlat<l> with topdown or lateral) or bias<l> of a layer with 'bias'",
                       m->name, name, m->n_layers);
    }
}

static void exp_misc(xctx *c, ast_stmt *s)
{
    sema_experiment *x = c->x;
    if (!strcmp(s->name, "precision")) {
        static const char *const p[] = { "double", "single" };
        int k = pick_word(s, p, 2, "double or single");
        if (k >= 0) x->single = k;
    } else if (!strcmp(s->name, "diagnostics")) {
        for (int i = 0; i < s->n_items; i++) {
            if (is_word(s->items[i], "alignment")) x->diag_alignment = 1;
            else if (is_word(s->items[i], "orthonormality")) x->diag_orthonormality = 1;
            else diag_error(s->items[i]->span, "unknown diagnostic; expected alignment or orthonormality");
        }
    } else if (!strcmp(s->name, "checkpoint")) {
        if (expect_count(s, 2, 2, "checkpoint every N;") == 0 && is_word(s->items[0], "every"))
            sema_item_int(s->items[1], "the checkpoint interval", 1, 100000000, &x->checkpoint_every);
        else if (s->n_items == 2) diag_error(s->items[0]->span, "expected 'every'");
    } else if (sema_exp_joint_statement(x, s) < 0) {
        diag_error(s->name_span, "unknown statement '%s' in experiment; expected model, rule, data, tasks, inner, "
                   "meta, scale, seed, precision, diagnostics, checkpoint, updates, train or learner", s->name);
    }
}

static void exp_defaults(sema_experiment *x)
{
    x->model = -1;
    x->data.kind = DATA_FASHION_MNIST;
    x->data.n = 1000;
    x->data.noise = 0.1;
    x->data.factor = 0.5;
    x->data.centers = 3;
    x->data.std = 1.0;
    x->ways = 5; x->k_train = 50; x->q_query = 10;
    x->batch = 1;
    x->lr = 1e-3;
    x->episodes = 100;
    x->meta_batch = 1;
    x->sched_gamma = 0.5;
    x->sched_every = 100;
    x->seed = 1;
    x->checkpoint_every = 1;   /* the meta-state is small: a kill loses at most the episode in flight */
    sema_exp_joint_defaults(x);
}

/* The index of projection REF in M (sema_projection_count), or -1 after
 * saying why there is no such projection. */
static int projection_index(const sema_model *m, const sema_proj_ref *ref)
{
    int L = m->n_layers, l = ref->layer;
    if (ref->kind == DW_FORWARD) {
        if (l <= L) return l - 1;
        diag_error(ref->at, "model '%s' has projections W1 to W%d; there is no W%d", m->name, L, l);
        return -1;
    }
    int on = ref->kind == DW_TOPDOWN ? m->topdown : m->lateral, last = ref->kind == DW_TOPDOWN ? L - 1 : L;
    const char *kind = ref->kind == DW_TOPDOWN ? "top-down" : "lateral", *prefix = ref->kind == DW_TOPDOWN ? "Wtop" : "Wlat";
    if (!on) {
        diag_error(ref->at, "model '%s' has no %s projections (no '%s;' statement); there is no %s%d", m->name, kind,
                   sema_dw_kind_names[ref->kind], prefix, l);
        return -1;
    }
    if (l > last) {
        diag_error(ref->at, "model '%s' has %s projections %s0 to %s%d; there is no %s%d", m->name, kind, prefix,
                   prefix, last, prefix, l);
        return -1;
    }
    return L + (ref->kind == DW_LATERAL && m->topdown ? L : 0) + l;
}

static int declares_dw(const sema_rule *r, int kind)
{
    return r->dw_span_of[kind].end > r->dw_span_of[kind].begin;   /* even one with an error */
}

/* Projection P gets the rule of assignment A (named at AT); 1 when it does. */
static int assign_projection(xctx *c, const sema_model *m, int p, const sema_assign *a, src_span at, src_span *where)
{
    sema_experiment *x = c->x;
    const sema_rule *r = c->p->rules[a->rule];
    char name[32];
    int kind, layer, post, pre;
    sema_projection(m, p, &kind, &layer, &post, &pre);
    sema_projection_name(m, p, name, sizeof name);
    if (!declares_dw(r, kind)) {
        if (a->all) return 0;
        diag_error(at, "rule '%s' has no 'dw %s= ...;' for the %s projection %s; expected a rule that defines one",
                   r->name, kind == DW_FORWARD ? "" : kind == DW_TOPDOWN ? "topdown " : "lateral ",
                   kind == DW_FORWARD ? "forward" : kind == DW_TOPDOWN ? "top-down" : "lateral", name);
        diag_note(r->span, "rule '%s' is declared here", r->name);
        return 0;
    }
    if (x->rule_of_projection[p] >= 0) {
        diag_error(at, "projection %s already has rule '%s'; expected one rule per projection", name,
                   c->p->rules[x->rule_of_projection[p]]->name);
        return 0;
    }
    x->rule_of_projection[p] = a->rule;
    where[p] = at;
    return 1;
}

/* The neuron value that the top-down projections carry (topdown VALUE;):
 * the rule on W_l computes it for layer l, so that rule must define it, and
 * the model must offer the signals it reads. */
static void check_carried(xctx *c, const sema_model *m, const src_span *where)
{
    unsigned offered = (1u << SIG_Y) | (1u << SIG_Z) | (1u << SIG_ZTOP);
    if (m->feedback != FB_NONE) offered |= 1u << SIG_E;
    if (m->lateral) offered |= 1u << SIG_ZLAT;
    for (int l = 1; m->topdown && m->carried_signal < 0 && l <= m->n_layers; l++) {
        int ri = c->x->rule_of_projection[l - 1];
        if (ri < 0) continue;
        const sema_rule *r = c->p->rules[ri];
        const sema_value *v = NULL;
        for (int k = 0; k < r->n_values; k++) if (!strcmp(r->values[k].name, m->carried)) v = &r->values[k];
        if (!v) {
            diag_error(where[l - 1], "model '%s' carries the neuron value '%s' of layer %d down to layer %d "
                       "(Wtop%d), and rule '%s' on W%d defines none; expected 'neuron %s = ...;' in the rule",
                       m->name, m->carried, l, l - 1, l - 1, r->name, l, m->carried);
            diag_note(m->carried_span, "the top-down projections are declared here");
            return;
        }
        unsigned missing = v->space < 0 ? 0 : v->signals & ~offered;
        for (int s = 0; s < SIG_COUNT; s++) {
            if (!(missing >> s & 1)) continue;
            diag_error(where[l - 1], "the neuron value '%s' of rule '%s', which the top-down projections carry, "
                       "reads %s, which model '%s' cannot provide (%s)", m->carried, r->name, sema_signal_names[s],
                       m->name, s == SIG_E ? "it has 'feedback none'" : "it has no 'lateral;' statement");
            return;
        }
    }
}

/* Every forward projection gets exactly one rule, top-down and lateral ones
 * at most one, and the model offers every signal each rule reads (checked
 * once per 'rule' statement) and the value its top-down projections carry. */
static void exp_finish(xctx *c)
{
    sema_experiment *x = c->x;
    if (x->model < 0) {
        if (!c->saw_model)
            diag_error(c->d->name_span, "experiment '%s' has no 'model NAME;' statement", c->d->name);
        return;
    }
    const sema_model *m = c->p->models[x->model];
    if (!m->n_layers) return;   /* the model's own errors were reported */
    if (!x->n_assigns) {
        if (!c->saw_rule)
            diag_error(c->d->name_span, "experiment '%s' has no 'rule NAME;' statement", c->d->name);
        return;
    }
    int P = sema_projection_count(m);
    x->rule_of_projection = malloc((size_t)P * sizeof *x->rule_of_projection);
    src_span *where = calloc((size_t)P, sizeof *where);
    for (int p = 0; p < P; p++) x->rule_of_projection[p] = -1;
    for (int a = 0; a < x->n_assigns; a++) {
        const sema_assign *as = &x->assigns[a];
        int used = 0;
        for (int p = 0; as->all && p < P; p++) used |= assign_projection(c, m, p, as, as->span, where);
        for (int k = 0; k < as->n_named; k++) {
            int p = projection_index(m, &as->named[k]);
            if (p >= 0) used |= assign_projection(c, m, p, as, as->named[k].at, where);
        }
        if (used) sema_rule_fits_model(c->p, c->p->rules[as->rule], m, as->span);
        else if (as->all)
            diag_error(as->span, "rule '%s' updates no projection of model '%s': it has no dw for the kinds of "
                       "projection the model has", c->p->rules[as->rule]->name, m->name);
    }
    sema_assign_recurrent(c->p, x, m, c->rec_at);
    check_weights(x, m);
    for (int l = 0; l < m->n_layers; l++)
        if (x->rule_of_projection[l] >= 0) {
            char name[16];
            snprintf(name, sizeof name, "W%d", l + 1);
            sema_rule_fits_projection(c->p->rules[x->rule_of_projection[l]], m, l, 0, name,
                                      rule_statement_of(x, x->rule_of_projection[l]));
        }
    for (int l = 0; l < m->n_layers && !c->rule_failed; l++) {
        if (x->rule_of_projection[l] < 0)
            diag_error(c->d->name_span, "projection W%d of model '%s' has no rule; expected a 'rule NAME on W%d;' "
                       "statement", l + 1, m->name, l + 1);
        if (m->layers[l].kind == LAYER_RECURRENT && x->rule_of_recurrent[l] < 0)
            diag_error(c->d->name_span, "projection Wrec%d of model '%s' (the recurrent weights of layer %d) has "
                       "no rule; expected a 'rule NAME on Wrec%d;' statement", l + 1, m->name, l + 1, l + 1);
    }
    if (x->diag_alignment || x->diag_orthonormality)
        for (int l = 0; l < m->n_layers; l++)
            if (m->layers[l].kind == LAYER_RECURRENT) {
                diag_error(c->d->name_span, "the diagnostics of 003 are for feed-forward models, and layer %d of "
                           "model '%s' is recurrent; expected no 'diagnostics' statement", l + 1, m->name);
                break;
            }
    for (int l = 0; x->updates_forward && l < m->n_layers; l++)
        if (m->layers[l].kind == LAYER_RECURRENT) {
            diag_error(x->updates_at, "layer %d of model '%s' is recurrent, and its rules update after the whole "
                       "unrolled pass; expected 'updates last;'", l + 1, m->name);
            break;
        }
    if (!c->rule_failed) check_carried(c, m, where);
    free(where);
    int family = x->data.random ? (x->data.kind == DATA_MOONS ? 2 : x->data.centers) : 0;
    if (family && x->ways != family)
        diag_error(c->tasks ? c->tasks->span : c->d->name_span, "random %s tasks have %d classes each; expected "
                   "'tasks ways %d ...;'", x->data.kind == DATA_MOONS ? "two-moons" : "Gaussian", family, family);
    sema_exp_joint_finish(c->p, x, c->tasks);
    if (c->batch && !x->unlabelled && !x->joint && x->batch > x->ways * x->k_train)   /* unlabelled samples fill a batch */
        diag_error(c->batch->span, "the inner batch of %d is larger than the %d training samples of a task (ways %d x "
                   "train %d): no inner step would run; expected a batch of at most %d", x->batch, x->ways * x->k_train,
                   x->ways, x->k_train, x->ways * x->k_train);
    int outputs = m->layers[m->n_layers - 1].size;
    if (m->loss == LOSS_CROSS_ENTROPY && x->ways > outputs && !x->joint) {
        if (c->tasks)
            diag_error(c->tasks->span, "%d-way tasks need at least %d output neurons, but model '%s' has %d; "
                       "expected ways %d or fewer", x->ways, x->ways, m->name, outputs, outputs);
        else
            diag_error(c->d->name_span, "tasks are 5-way by default, but model '%s' has %d output neurons; "
                       "expected a 'tasks ways N ...;' statement with N at most %d", m->name, outputs, outputs);
    }
}

sema_experiment *sema_check_experiment(sema_program *p, ast_decl *d)
{
    sema_experiment *x = calloc(1, sizeof *x);
    x->name = d->name;
    x->span = d->span;
    exp_defaults(x);
    const src_file *f = diag_file(d->file);
    const char *slash = f ? strrchr(f->path, '/') : NULL;
    xctx c = { p, x, d, slash ? ast_strdup(f->path, (size_t)(slash - f->path)) : "", NULL, NULL, NULL, 0, 0, 0 };
    split_missing_semicolons(d, experiment_heads, 0);
    for (ast_stmt *s = d->body; s; s = s->next) {
        const char *h = s->name;
        if (!strcmp(h, "model")) {
            if (s->n_items != 1 || s->items[0]->kind != IT_WORD) diag_error(s->span, "expected: model NAME;");
            else if (x->model >= 0 || c.saw_model) diag_error(s->span, "experiment '%s' names its model twice", d->name);
            else if ((x->model = sema_find_model(p, s->items[0]->text)) < 0)
                error_unknown_decl(&c, s->items[0], 0);
            c.saw_model = 1;
        } else if (!strcmp(h, "rule")) exp_rule(&c, s);
        else if (!strcmp(h, "data")) exp_data(&c, s);
        else if (!strcmp(h, "tasks")) exp_tasks(&c, s);
        else if (!strcmp(h, "inner")) exp_inner(&c, s);
        else if (!strcmp(h, "meta")) exp_meta(&c, s);
        else if (!strcmp(h, "scale")) exp_scale(&c, s);
        else if (!strcmp(h, "seed")) exp_seed(&c, s);
        else if (!strcmp(h, "weights")) exp_weights(&c, s);
        else exp_misc(&c, s);
    }
    exp_finish(&c);
    free(c.rec_at);
    return x;
}
