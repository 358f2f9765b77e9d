/* backend_c — emitted C, compiled by the system compiler and dlopen'ed. */
#include "config.h"
#include "backend.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct backend_module {
    void *handle;
    char dir[64];
    int real_size;
};

static void remove_dir(const char *dir)
{
    char path[128];
    const char *files[] = { "kernels.c", "kernels.so", "cc.log" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Runs the C compiler on DIR/kernels.c; its messages go to DIR/cc.log. */
static int run_cc(const char *dir, char *err, size_t errlen)
{
    const char *cc = getenv("CC");
    if (!cc || !*cc) cc = "cc";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -std=c99 -O2 -fopenmp -fPIC -shared -o '%s/kernels.so' '%s/kernels.c' -lm > '%s/cc.log' 2>&1",
             cc, dir, dir, dir);
    int rc = system(cmd);
    if (rc == 0) return 0;
    char log[256] = "";
    char path[128];
    snprintf(path, sizeof path, "%s/cc.log", dir);
    FILE *f = fopen(path, "r");
    if (f) { size_t n = fread(log, 1, sizeof log - 1, f); log[n] = '\0'; fclose(f); }
    snprintf(err, errlen, "the C compiler (%s) failed on the emitted kernels: %s", cc, log);
    return -1;
}

backend_module *backend_load_c(const compiled_unit *u, const char *source, emit_precision prec,
                               char *err, size_t errlen)
{
    backend_module *m = calloc(1, sizeof *m);
    const char *tmp = getenv("TMPDIR");
    snprintf(m->dir, sizeof m->dir, "%s/plastcc.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(m->dir)) {
        snprintf(err, errlen, "cannot create a temporary folder: %s", strerror(errno));
        free(m);
        return NULL;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/kernels.c", m->dir);
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)); remove_dir(m->dir); free(m); return NULL; }
    pipeline_emit_c(f, u, source, prec);
    fclose(f);
    if (run_cc(m->dir, err, errlen) < 0) { remove_dir(m->dir); free(m); return NULL; }
    snprintf(path, sizeof path, "%s/kernels.so", m->dir);
    /* RTLD_NODELETE: the OpenMP runtime the module pulls in must outlive
     * dlclose, or its idle worker threads would run unmapped code. */
    m->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!m->handle) {
        snprintf(err, errlen, "cannot load the compiled kernels: %s", dlerror());
        remove_dir(m->dir);
        free(m);
        return NULL;
    }
    m->real_size = prec == PREC_SINGLE ? 4 : 8;
    return m;
}

const plast_kdesc *backend_find(backend_module *m, const char *name)
{
    char sym[128];
    snprintf(sym, sizeof sym, "%s_desc", name);
    return dlsym(m->handle, sym);
}

int backend_real_size(const backend_module *m) { return m->real_size; }

void backend_close(backend_module *m)
{
    if (!m) return;
    if (m->handle) dlclose(m->handle);
    remove_dir(m->dir);
    free(m);
}
