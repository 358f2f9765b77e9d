/* cmd_llvm — plastcc emit-llvm and compile: the kernels of a rule file as
 * LLVM IR, a native object, or a shared object (llgen.c). */
#include "config.h"
#include "backend.h"
#include "driver.h"
#include "llgen.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_emit[] =
    "usage: plastcc emit-llvm FILE [-o OUT.ll] [--precision double|single] [--experiment NAME] [-O0]\n"
    "\n"
    "Writes the forward and adjoint kernels of every rule and model in FILE (not\n"
    "its imports) as textual LLVM IR for the host, as the JIT compiles it (after the\n"
    "optimiser; PLASTCC_LLVM_PASSES=\"default<O3>\" selects another pipeline).\n"
    "The kernels have the ABI of the emitted C (plast.h): NAME, NAME_scratch and\n"
    "the descriptor NAME_desc.\n"
    "\n"
    "  -o OUT.ll              output file (default: standard output)\n"
    "  --precision P          double (default) or single\n"
    "  --experiment NAME      the kernels experiment NAME runs instead (its updates fused\n"
    "                         with the next step's dense layers among them)\n"
    "  -O0                    the IR as generated, before optimisation\n";

static const char usage_compile[] =
    "usage: plastcc compile FILE -o OUT.o [--precision double|single] [--experiment NAME]\n"
    "       plastcc compile FILE -shared -o OUT.so [--precision double|single] [--experiment NAME]\n"
    "\n"
    "Compiles the forward and adjoint kernels of every rule and model in FILE with LLVM\n"
    "into a native object file for the host, with the ABI of the emitted C\n"
    "(plast.h: NAME, NAME_scratch, NAME_desc).  The kernels call libm and\n"
    "libgomp: link with -fopenmp -lm.  With -shared the object is linked by the\n"
    "system compiler ($CC, default cc) into a shared object.\n"
    "\n"
    "  -o OUT                 output file (required)\n"
    "  -shared                a shared object instead of an object file\n"
    "  --precision P          double (default) or single\n"
    "  --experiment NAME      the kernels experiment NAME runs instead (its updates fused\n"
    "                         with the next step's dense layers among them)\n";

typedef struct llvm_opts {
    const char *file, *out, *experiment;
    lower_precision prec;
    int optimize, shared;
} llvm_opts;

/* Parses the options of emit-llvm, or of compile when COMPILE (-shared, -o
 * required); -1 when they are fine, else the exit status. */
static int parse(int argc, char **argv, const char *usage, int compile, llvm_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prec = PREC_DOUBLE;
    o->optimize = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) o->out = argv[++i];
        else if (!strcmp(argv[i], "--experiment") && i + 1 < argc) o->experiment = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            const char *p = argv[++i];
            if (!strcmp(p, "double")) o->prec = PREC_DOUBLE;
            else if (!strcmp(p, "single")) o->prec = PREC_SINGLE;
            else return driver_usage_error(usage, "unknown precision '%s'", p);
        } else if (!compile && !strcmp(argv[i], "-O0")) o->optimize = 0;
        else if (compile && !strcmp(argv[i], "-shared")) o->shared = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return driver_usage_error(usage, "unknown option '%s'", argv[i]);
        else if (o->file) return driver_usage_error(usage, "%s", "give one FILE");
        else o->file = argv[i];
    }
    if (!o->file) return driver_usage_error(usage, "%s", "a FILE is needed");
    if (compile && !o->out) return driver_usage_error(usage, "%s", "compile needs -o OUT");
    return -1;
}

/* The kernels of O->file written as WHAT to PATH. */
static int write_kernels(const llvm_opts *o, llgen_output what, const char *path)
{
    int not_found = 0;
    compiled_unit *u = o->experiment ? pipeline_compile_experiment(o->file, o->experiment, &not_found)
                                     : pipeline_compile(o->file, 1);
    if (not_found) { fprintf(stderr, "plastcc: %s has no experiment '%s'\n", o->file, o->experiment); return 1; }
    if (!u) { driver_report_errors(); return 1; }
    const lower_kernel **ks;
    int n = pipeline_kernels(u, &ks);
    char err[1024];
    int rc = llgen_write(ks, n, o->prec, o->file, what, o->optimize, path, err, sizeof err);
    if (rc) fprintf(stderr, "plastcc: %s\n", err);
    free(ks);
    pipeline_free(u);
    return rc ? 1 : 0;
}

int cmd_emit_llvm(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage_emit)) return 0;
    llvm_opts o;
    int rc = parse(argc, argv, usage_emit, 0, &o);
    if (rc >= 0) return rc;
    return write_kernels(&o, LLGEN_IR, o.out);
}

int cmd_compile(int argc, char **argv)
{
    if (driver_wants_help(argc, argv, usage_compile)) return 0;
    llvm_opts o;
    int rc = parse(argc, argv, usage_compile, 1, &o);
    if (rc >= 0) return rc;
    if (!o.shared) return write_kernels(&o, LLGEN_OBJECT, o.out);
    /* -shared: the object next to the output, linked, then removed */
    size_t len = strlen(o.out) + 8;
    char *obj = malloc(len), err[1024];
    snprintf(obj, len, "%s.tmp.o", o.out);
    rc = write_kernels(&o, LLGEN_OBJECT, obj);
    if (!rc && backend_link_shared(obj, o.out, err, sizeof err) < 0) {
        fprintf(stderr, "plastcc: %s\n", err);
        rc = 1;
    }
    unlink(obj);
    free(obj);
    return rc;
}
