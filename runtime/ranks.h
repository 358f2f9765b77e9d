/* ranks — what the trainer and the evaluator do with a plast_comm (plast.h):
 * decide together, share a task's result from the rank that computed it,
 * and hand rank 0's meta-state to the others.  With no communicator every
 * function is the single-process case (rank 0 of 1).  Internal. */
#ifndef PLAST_RANKS_H
#define PLAST_RANKS_H

#include <stddef.h>
#include "plast.h"

int ranks_rank(const plast_comm *c);
int ranks_size(const plast_comm *c);
/* The rank that runs task M of a meta-batch (or of an evaluation). */
int ranks_owner(const plast_comm *c, int m);

/* Every rank says whether it is fine (OK) and why not (WHY); returns 0 when
 * every rank is, else -1 on every rank with ERR naming the first rank that
 * is not ("rank 1: cannot read x.npy ..."; just WHY without ranks). */
int ranks_agree(const plast_comm *c, int ok, const char *why, char *err, size_t errlen);

/* LEN bytes at BUF from rank ROOT to all (nothing without ranks). */
int ranks_bcast(const plast_comm *c, void *buf, size_t len, int root);

/* A flat buffer that a task's result is packed into on its rank and
 * unpacked from on the others. */
typedef struct ranks_pack { unsigned char *buf; size_t len, cap, at; int oom; } ranks_pack;
void ranks_pack_reset(ranks_pack *p);
void ranks_put(ranks_pack *p, const void *v, size_t len);
void ranks_get(ranks_pack *p, void *v, size_t len);
/* Sends P's bytes from ROOT to every rank, length first; -1 on every rank
 * when ROOT could not pack them (out of memory). */
int ranks_bcast_pack(const plast_comm *c, ranks_pack *p, int root);
void ranks_pack_free(ranks_pack *p);
/* Every rank's pack MINE into ALL[rank] on every rank (ALL: [size] packs,
 * reset and read from the start), in two exchanges (lengths, then the
 * bytes); -1 on every rank when one rank could not pack or receive. */
int ranks_gather_packs(const plast_comm *c, const ranks_pack *mine, ranks_pack *all);

#endif
