/* kcall — a generated kernel called with arguments bound by name (kcall.h). */
#include "config.h"
#include "kcall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plast_kcall(const plast_kdesc *k, int64_t n_pre, int64_t n_post, int64_t batch, int64_t steps, const kbind *b,
                int nb, void *junk, kscratch *s, char *err, size_t errlen)
{
    void *argv[PLAST_KCALL_MAX_ARGS];
    if (!k) { snprintf(err, errlen, "a kernel of the network is missing"); return -1; }
    if (k->n_arg > PLAST_KCALL_MAX_ARGS) { snprintf(err, errlen, "kernel %s has %d arguments", k->name, k->n_arg); return -1; }
    for (int a = 0; a < k->n_arg; a++) {
        void *p = NULL;
        for (int q = 0; q < nb && !p; q++) if (!strcmp(b[q].name, k->arg[a].name)) p = b[q].ptr;
        if (!p && k->arg[a].role != PLAST_ROLE_OUTPUT && k->arg[a].role != PLAST_ROLE_ACCUMULATE) {
            snprintf(err, errlen, "kernel %s reads '%s', which this network does not provide", k->name, k->arg[a].name);
            return -1;
        }
        argv[a] = p ? p : junk;
    }
    return plast_kcall_argv(k, n_pre, n_post, batch, steps, argv, s, err, errlen);
}

int plast_kcall_map(const plast_kdesc *k, const char *const *names, int n, short *map)
{
    if (!k || k->n_arg > PLAST_KCALL_MAX_ARGS) return -1;
    for (int q = 0; q < n; q++)
        for (int r = 0; r < q; r++) if (!strcmp(names[q], names[r])) return -1;
    for (int a = 0; a < k->n_arg; a++) {
        map[a] = -1;
        for (int q = 0; q < n && map[a] < 0; q++) if (!strcmp(names[q], k->arg[a].name)) map[a] = (short)q;
    }
    return 0;
}

int plast_kcall_argv(const plast_kdesc *k, int64_t n_pre, int64_t n_post, int64_t batch, int64_t steps, void **argv,
                     kscratch *s, char *err, size_t errlen)
{
    plast_kargs ka = { n_pre, n_post, batch, steps, argv, s->mem };
    int64_t need = k->scratch(&ka);
    if (need > s->bytes) {
        free(s->mem);
        s->mem = malloc((size_t)need);
        s->bytes = s->mem ? need : 0;
        if (!s->mem) { snprintf(err, errlen, "out of memory (%lld bytes of scratch)", (long long)need); return -1; }
        ka.scratch = s->mem;
    }
    k->run(&ka);
    return 0;
}
