/* cmd_emit — plastcc emit-c: the kernels of a rule file as one C99 file. */
#include "config.h"
#include "driver.h"
#include "pipeline.h"
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: plastcc emit-c FILE [-o OUT.c] [--precision double|single] [--experiment NAME]\n"
    "                      [--dump=dag|loops|schedule]\n"
    "\n"
    "Writes the forward and adjoint kernels of every rule and model in FILE (not its\n"
    "imports) as one self-contained C99 file with OpenMP pragmas.  It compiles\n"
    "with `cc -std=c99 -O2 -fopenmp -c`; kernels follow the ABI in its prelude.\n"
    "\n"
    "  -o OUT.c               output file (default: standard output)\n"
    "  --precision P          double (default) or single\n"
    "  --experiment NAME      the kernels experiment NAME runs instead: its rules and model,\n"
    "                         with the updates fused with the next step's dense layers\n"
    "  --dump=dag             print the expression DAG of each rule (fwd and adj roots) and of\n"
    "                         each model kernel instead\n"
    "  --dump=loops           print each kernel's loop nests instead\n"
    "  --dump=schedule        print each experiment's inner step instead: its buffers and the\n"
    "                         kernel calls of one step and of the eval (meta-loss), in order\n";

/* One dw's DAG: dw and the adjoint's outputs, under the header "rule NAME"
 * (NAME_topdown (dw topdown), NAME_lateral (dw lateral) for the other kinds:
 * the name of its kernels without _fwd/_adj/_step). */
static void dump_dw_dag(FILE *out, const sema_rule *r, const rule_kernels *rk)
{
    const kern *a = &rk->adj;
    int n = 1 + a->n_out + rk->d->n_meta;
    int *roots = malloc((size_t)n * sizeof *roots);
    const char **names = malloc((size_t)n * sizeof *names);
    char **owned = calloc((size_t)n, sizeof *owned);
    int k = 0;
    roots[k] = rk->dw; names[k++] = "dw";
    for (int o = 0; o < a->n_out; o++) {
        if (a->out[o].node < 0) continue;
        roots[k] = a->out[o].node; names[k++] = a->out[o].name;
    }
    for (int m = 0; m < rk->d->n_meta; m++) {
        if (a->meta_adj[m] < 0) continue;
        owned[k] = malloc(strlen(rk->d->meta_name[m]) + 8);
        sprintf(owned[k], "adj_%s", rk->d->meta_name[m]);
        roots[k] = a->meta_adj[m]; names[k] = owned[k]; k++;
    }
    char base[300];
    build_rule_kernel_name(base, sizeof base, r, rk->kind);   /* the kernels' names but _fwd/_adj/_step */
    if (rk->kind == DW_FORWARD) fprintf(out, "rule %s\n", base);
    else fprintf(out, "rule %s (dw %s)\n", base, sema_dw_kind_names[rk->kind]);
    dag_dump(out, rk->d, roots, names, k);
    for (int i = 0; i < n; i++) free(owned[i]);
    free(owned); free(names); free(roots);
}

static void dump_model_kernel_dag(FILE *out, const kern *k);

/* Every DAG of a rule, in the order of its kernels: its dws, then its
 * neurons kernels (a header "rule NAME (...)" each). */
static void dump_rule_dags(FILE *out, const compiled_rule *cr)
{
    dump_dw_dag(out, cr->rule, &cr->rk);
    for (int k = 0; k < cr->n_more; k++) dump_dw_dag(out, cr->rule, &cr->more[k].rk);
    for (int k = 0; k < cr->n_neuron; k++) {
        fprintf(out, "rule %s (%s)\n", cr->rule->name, cr->neuron[k].k.fwd.name);
        dump_model_kernel_dag(out, &cr->neuron[k].k.fwd);
        dump_model_kernel_dag(out, &cr->neuron[k].k.adj);
    }
}

static void dump_rule_loops(FILE *out, const compiled_rule *cr)
{
    lower_dump(out, &cr->fwd); lower_dump(out, &cr->adj); lower_dump(out, &cr->step);
    if (cr->has_adj_input) lower_dump(out, &cr->adj_input_lowered);
    for (int k = 0; k < cr->n_more; k++) {
        lower_dump(out, &cr->more[k].fwd); lower_dump(out, &cr->more[k].adj); lower_dump(out, &cr->more[k].step);
    }
    for (int k = 0; k < cr->n_neuron; k++) { lower_dump(out, &cr->neuron[k].fwd); lower_dump(out, &cr->neuron[k].adj); }
    for (int k = 0; k < cr->n_fused; k++) lower_dump(out, &cr->fused_lowered[k]);
}

/* A model kernel's DAG: the nodes its outputs (and adj_meta) reach. */
static void dump_model_kernel_dag(FILE *out, const kern *k)
{
    int n = k->n_out + k->n_meta + 1, c = 0;
    int *roots = malloc((size_t)n * sizeof *roots);
    const char **names = malloc((size_t)n * sizeof *names);
    for (int o = 0; o < k->n_out; o++) {
        if (k->out[o].node < 0) continue;
        roots[c] = k->out[o].node; names[c++] = k->out[o].name;
    }
    for (int m = 0; k->meta_adj && m < k->n_meta; m++) {
        if (k->meta_adj[m] < 0) continue;
        roots[c] = k->meta_adj[m]; names[c++] = "adj_meta";
    }
    fprintf(out, "kernel %s\n", k->name);
    dag_dump(out, k->d, roots, names, c);
    free(roots); free(names);
}

/* The schedule of every experiment of the main file (or experiment ONLY);
 * 1 when one cannot be built. */
static int dump_schedules(FILE *out, const compiled_unit *u, const char *only)
{
    const sema_program *p = u->prog;
    int failed = 0;
    for (int e = 0; e < p->n_experiments; e++) {
        const sema_experiment *x = p->experiments[e];
        if (x->span.file != p->main_file || (only && strcmp(x->name, only))) continue;
        sched_plan plan;
        char err[512];
        fprintf(out, "experiment %s (model %s)\n", x->name, p->models[x->model]->name);
        if (sched_build(p, x, &plan, err, sizeof err) < 0) {
            fprintf(stderr, "plastcc: experiment %s: %s\n", x->name, err);
            failed = 1;
        } else sched_print(out, &plan);
        sched_free(&plan);
    }
    return failed;
}

int cmd_emit_c(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage)) return 0;
    const char *file = NULL, *out_path = NULL, *dump = NULL, *exp = NULL;
    lower_precision prec = PREC_DOUBLE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) out_path = argv[++i];
        else if (!strcmp(argv[i], "--experiment") && i + 1 < argc) exp = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            const char *p = argv[++i];
            if (!strcmp(p, "double")) prec = PREC_DOUBLE;
            else if (!strcmp(p, "single")) prec = PREC_SINGLE;
            else return driver_usage_error(usage, "unknown precision '%s'", p);
        } else if (!strncmp(argv[i], "--dump=", 7)) {
            dump = argv[i] + 7;
            if (strcmp(dump, "dag") && strcmp(dump, "loops") && strcmp(dump, "schedule"))
                return driver_usage_error(usage, "unknown dump stage '%s'", dump);
        } else if (argv[i][0] == '-' && argv[i][1]) return driver_usage_error(usage, "unknown option '%s'", argv[i]);
        else if (file) return driver_usage_error(usage, "%s", "emit-c takes one FILE");
        else file = argv[i];
    }
    if (!file) return driver_usage_error(usage, "%s", "emit-c needs a FILE");
    int not_found = 0;
    compiled_unit *u = exp ? pipeline_compile_experiment(file, exp, &not_found) : pipeline_compile(file, 1);
    if (not_found) { fprintf(stderr, "plastcc: %s has no experiment '%s'\n", file, exp); return 1; }
    if (!u) { driver_report_errors(); return 1; }
    FILE *out = stdout;
    if (out_path && !(out = fopen(out_path, "w"))) {
        fprintf(stderr, "plastcc: cannot write '%s': ", out_path);
        perror(NULL);
        pipeline_free(u);
        return 1;
    }
    if (dump && !strcmp(dump, "schedule")) {
        int failed = dump_schedules(out, u, exp);
        if (out != stdout && fclose(out) != 0) failed = 1;
        pipeline_free(u);
        return failed;
    }
    for (int r = 0; dump && r < u->n_rules; r++) {
        if (!strcmp(dump, "dag")) dump_rule_dags(out, &u->rules[r]);
        else dump_rule_loops(out, &u->rules[r]);
    }
    for (int m = 0; dump && m < u->n_models; m++) {
        const compiled_model *cm = &u->models[m];
        if (cm->n_lowered) fprintf(out, "model %s\n", cm->model->name);
        for (int k = 0; k < cm->n_lowered; k++) {
            if (!strcmp(dump, "dag")) dump_model_kernel_dag(out, cm->lowered[k].k);
            else lower_dump(out, &cm->lowered[k]);
        }
    }
    if (!dump) pipeline_emit_c(out, u, file, prec);
    int failed = out != stdout && fclose(out) != 0;
    pipeline_free(u);
    return failed;
}
