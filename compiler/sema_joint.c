/* sema_joint — the experiment statements of paper 001 (HAT):
 *
 *   updates forward | last;       where the rules update their projections:
 *                                 right after each layer's forward pass (the
 *                                 layer then recomputed), or last in the step
 *                                 (003: after the loss and the errors)
 *   train episodes;               the episodic meta-training of 003 (default)
 *   train joint [epochs N] [batches N] [labelled F] [test every K];
 *                                 the learner and the rules trained together,
 *                                 minibatch by minibatch (runtime/joint.c)
 *   learner adam [lr X];          the learner's optimiser under train joint
 *
 * and what they require of the rest of the experiment; and in mlp blocks
 * the initial weights of a meta-learner (`init output G;`, `weights [..];`).
 */
#include "config.h"
#include "sema_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_word(const ast_item *it, const char *w)
{
    return it->kind == IT_WORD && !strcmp(it->text, w);
}

static const char *word_of(const ast_item *it)
{
    return it->kind == IT_WORD ? it->text : "";
}

/* N after the option word at *I. */
static int next_int(const ast_stmt *s, int *i, const char *what, int lo, int hi, int *out)
{
    if (*i + 1 >= s->n_items) {
        diag_error(s->items[*i]->span, "expected a number after '%s'", s->items[*i]->text);
        return -1;
    }
    return sema_item_int(s->items[++*i], what, lo, hi, out);
}

static void stmt_updates(sema_experiment *x, const ast_stmt *s)
{
    if (s->n_items == 1 && (is_word(s->items[0], "forward") || is_word(s->items[0], "last"))) {
        x->updates_forward = is_word(s->items[0], "forward");
        x->updates_at = s->span;
        return;
    }
    diag_error(s->n_items ? s->items[s->n_items > 1 ? 1 : 0]->span : s->span,
               "expected 'updates forward;' (each rule right after its layer's forward pass) or 'updates last;'");
}

/* One option of `train joint`; -1 on an error (reported). */
static int joint_option(sema_experiment *x, const ast_stmt *s, int *i)
{
    const ast_item *it = s->items[*i];
    const char *w = word_of(it);
    int n;
    if (!strcmp(w, "epochs")) return next_int(s, i, "the epoch count", 1, 1000000, &x->epochs);
    if (!strcmp(w, "batches")) {
        if (next_int(s, i, "the minibatch count", 1, 2000000000, &n) < 0) return -1;
        x->max_batches = n;
        return 0;
    }
    if (!strcmp(w, "labelled")) {
        if (*i + 1 >= s->n_items) { diag_error(it->span, "expected a fraction after 'labelled'"); return -1; }
        const ast_item *v = s->items[++*i];
        if (sema_item_num(v, "the labelled fraction", &x->labelled) < 0) return -1;
        if (x->labelled > 0 && x->labelled <= 1) return 0;
        diag_error(v->span, "the labelled fraction must be above 0 and at most 1");
        return -1;
    }
    if (!strcmp(w, "test")) {
        if (*i + 1 >= s->n_items || !is_word(s->items[*i + 1], "every")) {
            diag_error(it->span, "expected 'test every K' (minibatches between test evaluations)");
            return -1;
        }
        ++*i;
        return next_int(s, i, "the test interval", 1, 2000000000, &x->test_every);
    }
    diag_error(it->span, "unknown option of train joint; expected epochs N, batches N, labelled F or test every K");
    return -1;
}

static void stmt_train(sema_experiment *x, const ast_stmt *s)
{
    if (s->n_items == 1 && is_word(s->items[0], "episodes")) { x->joint = 0; return; }
    if (s->n_items < 1 || !is_word(s->items[0], "joint")) {
        diag_error(s->n_items ? s->items[0]->span : s->span,
                   "expected 'train episodes;' (003's meta-training) or 'train joint [epochs N] [batches N] "
                   "[labelled F] [test every K];' (001's joint training)");
        return;
    }
    x->joint = 1;
    x->joint_at = s->span;
    for (int i = 1; i < s->n_items; i++)
        if (joint_option(x, s, &i) < 0) return;
}

static void stmt_learner(sema_experiment *x, const ast_stmt *s)
{
    x->learner_at = s->span;
    for (int i = 0; i < s->n_items; i++) {
        const ast_item *it = s->items[i];
        if (is_word(it, "adam")) continue;
        if (!is_word(it, "lr") || i + 1 >= s->n_items) {
            diag_error(it->span, "expected 'learner adam [lr X];'");
            return;
        }
        if (sema_item_num(s->items[++i], "the learner's learning rate", &x->learner_lr) < 0) return;
        if (!(x->learner_lr > 0)) { diag_error(s->items[i]->span, "the learning rate must be positive"); return; }
    }
}

int sema_exp_joint_statement(sema_experiment *x, const ast_stmt *s)
{
    if (!strcmp(s->name, "updates")) stmt_updates(x, s);
    else if (!strcmp(s->name, "train")) stmt_train(x, s);
    else if (!strcmp(s->name, "learner")) stmt_learner(x, s);
    else return -1;
    return 0;
}

void sema_exp_joint_defaults(sema_experiment *x)
{
    x->epochs = 1;
    x->labelled = 1;
    x->learner_lr = 1e-3;
}

/* Under `updates forward` a rule runs before the loss and the errors exist. */
static void check_forward_rules(const sema_program *p, const sema_experiment *x, const sema_model *m)
{
    for (int l = 0; l < m->n_layers; l++) {
        if (x->rule_of_projection[l] < 0) continue;
        const sema_rule *r = p->rules[x->rule_of_projection[l]];
        int seen = 0;   /* once per rule */
        for (int k = 0; k < l; k++) seen |= x->rule_of_projection[k] == x->rule_of_projection[l];
        for (int side = 0; side < 2 && !seen; side++) {
            if (!((side == 0 ? r->pre_signals : r->post_signals) & (1u << SIG_E))) continue;
            diag_error(r->signal_use[side][SIG_E], "rule '%s' reads the error %s.e, but with 'updates forward' "
                       "each rule runs inside the forward pass, before there is any error; expected a rule of "
                       "y, z and w only", r->name, side == 0 ? "pre" : "post");
            diag_note(x->updates_at, "the rules update inside the forward pass here");
            break;
        }
    }
}

void sema_exp_joint_finish(const sema_program *p, const sema_experiment *x, const ast_stmt *tasks)
{
    const sema_model *m = p->models[x->model];
    if (x->updates_forward && x->rule_of_projection) check_forward_rules(p, x, m);
    int biases = 0;
    for (int l = 0; l < m->n_layers; l++) biases |= m->layers[l].bias;
    if ((x->diag_alignment || x->diag_orthonormality) && (x->updates_forward || biases))
        diag_error(x->updates_forward ? x->updates_at : x->span,
                   "the diagnostics of 003 need a model without biases whose rules update last");
    if (x->joint && tasks)
        diag_error(tasks->span, "'tasks' has no meaning with 'train joint', which trains on the whole training "
                   "split minibatch by minibatch");
    if (x->joint && x->steps)
        diag_error(x->joint_at, "'inner ... steps' has no meaning with 'train joint' (one step per minibatch)");
    if (!x->joint && x->learner_at.end > x->learner_at.begin)
        diag_error(x->learner_at, "'learner' sets the learner's optimiser of 'train joint'; this experiment is "
                   "trained episode by episode");
}

/* ---- an mlp's initial weights ----
 *   init output G;      the output layer's initial weights times G (0: the
 *                       mlp starts as the zero function, its rule a no-op)
 *   weights [v, ...];   every weight and bias, in the layout of the meta
 *                       vector (learned.rule writes the learned ones) */
static void mlp_init_output(sema_mlp *m, const ast_stmt *s)
{
    if (s->n_items != 2 || !is_word(s->items[0], "output")) {
        diag_error(s->span, "expected 'init output G;' (the output layer's initial weights times G)");
        return;
    }
    double g;
    if (sema_item_num(s->items[1], "the output gain", &g) < 0) return;
    if (!isfinite(g)) { diag_error(s->items[1]->span, "the output gain must be finite"); return; }
    m->out_gain = g;
}

static void mlp_weights(sema_mlp *m, const ast_stmt *s)
{
    const ast_item *list = s->n_items == 1 ? s->items[0] : NULL;
    if (!list || list->kind != IT_LIST) { diag_error(s->span, "expected 'weights [v0, v1, ...];'"); return; }
    if (list->n_args != m->n_weights) {
        diag_error(list->span, "mlp '%s' has %d weights and biases; the list has %d values", m->name, m->n_weights,
                   list->n_args);
        return;
    }
    double *w = malloc((size_t)(m->n_weights ? m->n_weights : 1) * sizeof *w);
    for (int k = 0; k < list->n_args; k++)
        if (sema_item_num(list->args[k], "a weight", &w[k]) < 0 || !isfinite(w[k])) {
            if (list->args[k]->kind == IT_NUM) diag_error(list->args[k]->span, "a weight must be finite");
            free(w);
            return;
        }
    m->weights = w;
}

void sema_mlp_init(sema_mlp *m, const ast_decl *d)
{
    m->out_gain = 1;
    int seen_init = 0, seen_weights = 0;
    for (const ast_stmt *s = d->body; s; s = s->next) {
        int init = !strcmp(s->name, "init");
        if (!init && strcmp(s->name, "weights")) continue;
        if (init ? seen_init++ : seen_weights++) {
            diag_error(s->span, "mlp '%s' has a second '%s' statement", m->name, s->name);
            continue;
        }
        if (!m->n_layers) continue;   /* a broken mlp: its own errors were reported */
        if (init) mlp_init_output(m, s);
        else mlp_weights(m, s);
    }
}
