/* backend — loading kernels (backend.h): the emitted C or an LLVM object
 * file through the system compiler and dlopen, or the LLVM JIT (jit.c).
 * A module is one of the two kinds; both find a kernel as NAME_desc. */
#include "config.h"
#include "backend.h"
#include "jit.h"
#include "llgen.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef enum { MOD_DLOPEN, MOD_JIT } module_kind;

struct backend_module {
    module_kind kind;
    void *handle;         /* MOD_DLOPEN: the shared object */
    jit_module *jit;      /* MOD_JIT */
    char dir[64];         /* MOD_DLOPEN: the temporary folder of its files, "" when none */
    int real_size;
};

static void remove_dir(const char *dir)
{
    char path[128];
    const char *files[] = { "kernels.c", "kernels.o", "kernels.so", "cc.log" };
    if (!dir[0]) return;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Runs "$CC ARGS > LOG 2>&1"; on failure ERR holds the start of LOG. */
static int run_cc(const char *args, const char *log, char *err, size_t errlen)
{
    const char *cc = getenv("CC");
    if (!cc || !*cc) cc = "cc";
    char cmd[1536];
    snprintf(cmd, sizeof cmd, "%s %s > '%s' 2>&1", cc, args, log);
    int rc = system(cmd);
    if (rc == 0) return 0;
    char text[256] = "";
    FILE *f = fopen(log, "r");
    if (f) { size_t n = fread(text, 1, sizeof text - 1, f); text[n] = '\0'; fclose(f); }
    snprintf(err, errlen, "the C compiler (%s) failed: %s", cc, text);
    return -1;
}

int backend_link_shared(const char *obj, const char *so, char *err, size_t errlen)
{
    char args[1024], log[1100];
    snprintf(args, sizeof args, "-shared -fopenmp -o '%s' '%s' -lm", so, obj);
    snprintf(log, sizeof log, "%s.log", so);
    int rc = run_cc(args, log, err, errlen);
    unlink(log);
    return rc;
}

static backend_module *new_module(lower_precision prec, char *err, size_t errlen)
{
    backend_module *m = calloc(1, sizeof *m);
    const char *tmp = getenv("TMPDIR");
    snprintf(m->dir, sizeof m->dir, "%s/plastcc.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(m->dir)) {
        snprintf(err, errlen, "cannot create a temporary folder: %s", strerror(errno));
        free(m);
        return NULL;
    }
    m->real_size = prec == PREC_SINGLE ? 4 : 8;
    return m;
}

/* Loads DIR/kernels.so into M, or frees M. */
static backend_module *open_module(backend_module *m, char *err, size_t errlen)
{
    char path[128];
    snprintf(path, sizeof path, "%s/kernels.so", m->dir);
    /* RTLD_NODELETE: the OpenMP runtime the module pulls in must outlive
     * dlclose, or its idle worker threads would run unmapped code. */
    m->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!m->handle) {
        snprintf(err, errlen, "cannot load the compiled kernels: %s", dlerror());
        backend_close(m);
        return NULL;
    }
    return m;
}

static backend_module *load_c(const lower_kernel *const *ks, int n, const char *source, lower_precision prec,
                              char *err, size_t errlen)
{
    backend_module *m = new_module(prec, err, errlen);
    if (!m) return NULL;
    char path[128], args[512], log[128];
    snprintf(path, sizeof path, "%s/kernels.c", m->dir);
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)); backend_close(m); return NULL; }
    emit_c_file(f, ks, n, source, prec);
    fclose(f);
    snprintf(args, sizeof args, "-std=c99 -O2 -fopenmp -fPIC -shared -o '%s/kernels.so' '%s/kernels.c' -lm", m->dir,
             m->dir);
    snprintf(log, sizeof log, "%s/cc.log", m->dir);
    if (run_cc(args, log, err, errlen) < 0) { backend_close(m); return NULL; }
    return open_module(m, err, errlen);
}

static backend_module *load_object(const lower_kernel *const *ks, int n, const char *source, lower_precision prec,
                                   char *err, size_t errlen)
{
    backend_module *m = new_module(prec, err, errlen);
    if (!m) return NULL;
    char obj[128], so[128];
    snprintf(obj, sizeof obj, "%s/kernels.o", m->dir);
    snprintf(so, sizeof so, "%s/kernels.so", m->dir);
    if (llgen_write(ks, n, prec, source, LLGEN_OBJECT, 1, obj, err, errlen) < 0
        || backend_link_shared(obj, so, err, errlen) < 0) {
        backend_close(m);
        return NULL;
    }
    return open_module(m, err, errlen);
}

static backend_module *load_jit(const lower_kernel *const *ks, int n, const char *source, lower_precision prec,
                                char *err, size_t errlen)
{
    jit_module *j = jit_load(ks, n, prec, source, err, errlen);
    if (!j) return NULL;
    backend_module *m = calloc(1, sizeof *m);
    m->kind = MOD_JIT;
    m->jit = j;
    m->real_size = prec == PREC_SINGLE ? 4 : 8;
    return m;
}

backend_module *backend_load_kernels(backend_kind kind, const lower_kernel *const *ks, int n, const char *source,
                                     lower_precision prec, char *err, size_t errlen)
{
    switch (kind) {
    case BACKEND_C: return load_c(ks, n, source, prec, err, errlen);
    case BACKEND_OBJECT: return load_object(ks, n, source, prec, err, errlen);
    default: return load_jit(ks, n, source, prec, err, errlen);
    }
}

static backend_module *load_unit(backend_kind kind, const compiled_unit *u, const char *source, lower_precision prec,
                                 char *err, size_t errlen)
{
    const lower_kernel **ks;
    int n = pipeline_kernels(u, &ks);
    backend_module *m = backend_load_kernels(kind, ks, n, source, prec, err, errlen);
    free(ks);
    return m;
}

backend_module *backend_load_c(const compiled_unit *u, const char *source, lower_precision prec, char *err,
                               size_t errlen)
{
    return load_unit(BACKEND_C, u, source, prec, err, errlen);
}

backend_module *backend_load_jit(const compiled_unit *u, const char *source, lower_precision prec, char *err,
                                 size_t errlen)
{
    return load_unit(BACKEND_JIT, u, source, prec, err, errlen);
}

backend_module *backend_load_object(const compiled_unit *u, const char *source, lower_precision prec, char *err,
                                    size_t errlen)
{
    return load_unit(BACKEND_OBJECT, u, source, prec, err, errlen);
}

const plast_kdesc *backend_find(backend_module *m, const char *name)
{
    char sym[128];
    snprintf(sym, sizeof sym, "%s_desc", name);
    return m->kind == MOD_JIT ? jit_find(m->jit, sym) : dlsym(m->handle, sym);
}

int backend_real_size(const backend_module *m) { return m->real_size; }

void backend_close(backend_module *m)
{
    if (!m) return;
    if (m->handle) dlclose(m->handle);
    if (m->jit) jit_free(m->jit);
    /* PLASTCC_KEEP_TEMPS=1 keeps the emitted C and the shared object, for
     * profilers and debuggers that need them after the run */
    const char *keep = getenv("PLASTCC_KEEP_TEMPS");
    if (keep && *keep && strcmp(keep, "0")) fprintf(stderr, "plastcc: kept %s\n", m->dir);
    else remove_dir(m->dir);
    free(m);
}
