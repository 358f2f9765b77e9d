/* kcall — a generated kernel called with arguments bound by name (kcall.h). */
#include "config.h"
#include "kcall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ARGV[a] = PTRS[MAP[a]] for each argument a of K; an output nobody bound
 * (no index, or a NULL pointer) gets JUNK, an unbound input is an error. */
static int bind_args(const plast_kdesc *k, const short *map, void *const *ptrs, void *junk, void **argv, char *err,
                     size_t errlen)
{
    for (int a = 0; a < k->n_arg; a++) {
        void *p = map[a] >= 0 ? ptrs[map[a]] : NULL;
        if (!p && k->arg[a].role != PLAST_ROLE_OUTPUT && k->arg[a].role != PLAST_ROLE_ACCUMULATE) {
            snprintf(err, errlen, "kernel %s reads '%s', which this network does not provide", k->name, k->arg[a].name);
            return -1;
        }
        argv[a] = p ? p : junk;
    }
    return 0;
}

static int run(const plast_kdesc *k, int64_t n_pre, int64_t n_post, int64_t batch, int64_t steps, void **argv,
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

static int usable(const plast_kdesc *k, char *err, size_t errlen)
{
    if (!k) { snprintf(err, errlen, "a kernel of the network is missing"); return 0; }
    if (k->n_arg > PLAST_KCALL_MAX_ARGS) { snprintf(err, errlen, "kernel %s has %d arguments", k->name, k->n_arg); return 0; }
    return 1;
}

/* MAP[a] = the first of NAMES[0..n) that names argument a of K, or -1. */
static void match_names(const plast_kdesc *k, const char *const *names, int n, short *map)
{
    for (int a = 0; a < k->n_arg; a++) {
        map[a] = -1;
        for (int q = 0; q < n && map[a] < 0; q++) if (!strcmp(names[q], k->arg[a].name)) map[a] = (short)q;
    }
}

int plast_kcall(const plast_kdesc *k, int64_t n_pre, int64_t n_post, int64_t batch, int64_t steps, const kbind *b,
                int nb, void *junk, kscratch *s, char *err, size_t errlen)
{
    enum { MAX_BIND = 2 * PLAST_KCALL_MAX_ARGS + 4 };
    const char *names[MAX_BIND];
    void *ptrs[MAX_BIND], *argv[PLAST_KCALL_MAX_ARGS];
    short map[PLAST_KCALL_MAX_ARGS];
    if (!usable(k, err, errlen)) return -1;
    if (nb > MAX_BIND) nb = MAX_BIND;
    for (int q = 0; q < nb; q++) names[q] = b[q].name, ptrs[q] = b[q].ptr;
    match_names(k, names, nb, map);
    if (bind_args(k, map, ptrs, junk, argv, err, errlen) < 0) return -1;
    return run(k, n_pre, n_post, batch, steps, argv, s, err, errlen);
}

int plast_kcall_map(const plast_kdesc *k, const char *const *names, int n, short *map)
{
    if (!k || k->n_arg > PLAST_KCALL_MAX_ARGS) return -1;
    for (int q = 0; q < n; q++)
        for (int r = 0; r < q; r++) if (!strcmp(names[q], names[r])) return -1;
    match_names(k, names, n, map);
    return 0;
}

int plast_kcall_mapped(const plast_kdesc *k, int64_t n_pre, int64_t n_post, int64_t batch, int64_t steps,
                       const short *map, void *const *ptrs, void *junk, kscratch *s, char *err, size_t errlen)
{
    void *argv[PLAST_KCALL_MAX_ARGS];
    if (!usable(k, err, errlen) || bind_args(k, map, ptrs, junk, argv, err, errlen) < 0) return -1;
    return run(k, n_pre, n_post, batch, steps, argv, s, err, errlen);
}
