/* ranks — decisions and results shared over a plast_comm (ranks.h). */
#include "config.h"
#include "ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ranks_rank(const plast_comm *c) { return c ? c->rank : 0; }
int ranks_size(const plast_comm *c) { return c && c->size > 0 ? c->size : 1; }
int ranks_owner(const plast_comm *c, int m) { return m % ranks_size(c); }

enum { WHY = 256 };

int ranks_agree(const plast_comm *c, int ok, const char *why, char *err, size_t errlen)
{
    if (ranks_size(c) == 1) {
        if (!ok) snprintf(err, errlen, "%s", why ? why : "failed");
        return ok ? 0 : -1;
    }
    int n = ranks_size(c);
    unsigned char mine[1 + WHY] = { (unsigned char)(ok != 0) };
    snprintf((char *)mine + 1, WHY, "%s", ok || !why ? "" : why);
    unsigned char *all = malloc((size_t)n * sizeof mine);
    if (!all || c->allgather(c->ctx, mine, all, sizeof mine) < 0) {
        free(all);
        snprintf(err, errlen, "rank %d: the ranks could not exchange their status", c->rank);
        return -1;
    }
    int bad = -1;
    for (int r = 0; r < n && bad < 0; r++) if (!all[(size_t)r * sizeof mine]) bad = r;
    if (bad >= 0) snprintf(err, errlen, "rank %d: %s", bad, (char *)all + (size_t)bad * sizeof mine + 1);
    free(all);
    return bad >= 0 ? -1 : 0;
}

int ranks_bcast(const plast_comm *c, void *buf, size_t len, int root)
{
    return ranks_size(c) == 1 || len == 0 ? 0 : c->bcast(c->ctx, buf, len, root);
}

void ranks_pack_reset(ranks_pack *p) { p->len = p->at = 0; p->oom = 0; }

void ranks_put(ranks_pack *p, const void *v, size_t len)
{
    if (p->len + len > p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 4096;
        while (cap < p->len + len) cap *= 2;
        unsigned char *b = realloc(p->buf, cap);
        if (!b) { p->oom = 1; return; }
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, v, len);
    p->len += len;
}

void ranks_get(ranks_pack *p, void *v, size_t len)
{
    if (p->at + len <= p->len) memcpy(v, p->buf + p->at, len);
    else memset(v, 0, len);
    p->at += len;
}

int ranks_bcast_pack(const plast_comm *c, ranks_pack *p, int root)
{
    if (ranks_size(c) == 1) return 0;
    unsigned long long len = p->oom ? ~0ull : p->len;
    if (c->bcast(c->ctx, &len, sizeof len, root) < 0 || len == ~0ull) return -1;
    if (c->rank != root) {
        if (len > p->cap) {
            unsigned char *b = realloc(p->buf, (size_t)len);
            if (!b) return -1;
            p->buf = b;
            p->cap = (size_t)len;
        }
        p->len = (size_t)len;
    }
    p->at = 0;
    return c->bcast(c->ctx, p->buf, (size_t)len, root);
}

void ranks_pack_free(ranks_pack *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

int ranks_gather_packs(const plast_comm *c, const ranks_pack *mine, ranks_pack *all)
{
    int n = ranks_size(c);
    unsigned long long len = mine->oom ? ~0ull : mine->len, *lens = malloc((size_t)n * sizeof len), max = 0;
    int rc = lens && c->allgather(c->ctx, &len, lens, sizeof len) == 0 ? 0 : -1;
    for (int r = 0; rc == 0 && r < n; r++) {
        if (lens[r] == ~0ull) rc = -1;
        else if (lens[r] > max) max = lens[r];
    }
    unsigned char *send = rc == 0 ? calloc((size_t)max + 1, 1) : NULL, *recv = send ? malloc((size_t)n * max + 1) : NULL;
    if (rc == 0 && recv) {
        memcpy(send, mine->buf, mine->len);
        rc = c->allgather(c->ctx, send, recv, (size_t)max);
    } else rc = -1;
    for (int r = 0; rc == 0 && r < n; r++) {
        ranks_pack_reset(&all[r]);
        ranks_put(&all[r], recv + (size_t)r * max, (size_t)lens[r]);
        if (all[r].oom) rc = -1;
    }
    free(lens); free(send); free(recv);
    return rc;
}
