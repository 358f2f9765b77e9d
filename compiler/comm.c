/* comm — the ranks of a plastcc command (comm.h). */
#include "config.h"
#include "comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_MPI
#include <mpi.h>

static plast_comm world;
static int started, finished, agreed, alone;
static char library[MPI_MAX_LIBRARY_VERSION_STRING];

static int mpi_bcast(void *ctx, void *buf, size_t len, int root)
{
    (void)ctx;
    /* in pieces that fit an int count */
    for (size_t at = 0; at < len; at += 1 << 30) {
        size_t n = len - at < (size_t)1 << 30 ? len - at : (size_t)1 << 30;
        if (MPI_Bcast((char *)buf + at, (int)n, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS) return -1;
    }
    return 0;
}

static int mpi_allgather(void *ctx, const void *send, void *recv, size_t len)
{
    (void)ctx;
    if (len > (size_t)1 << 30) return -1;
    return MPI_Allgather(send, (int)len, MPI_BYTE, recv, (int)len, MPI_BYTE, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

/* Started by mpirun/mpiexec (Open MPI) or srun/hydra (PMIx, PMI): their
 * environment says so.  A plain `plastcc run` never initialises MPI. */
static int under_launcher(void)
{
    static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) if (getenv(vars[i])) return 1;
    return 0;
}

const plast_comm *comm_start(int *argc, char ***argv)
{
    if (!started && under_launcher()) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS) return NULL;
        started = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &world.size);
        world.bcast = mpi_bcast;
        world.allgather = mpi_allgather;
    }
    return started && world.size > 1 ? &world : NULL;
}

void comm_finish(int rc)
{
    if (!started || finished) return;
    finished = 1;
    fflush(stdout);
    fflush(stderr);
    if (rc != 0 && world.size > 1 && !agreed) MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
}

void comm_agreed(void) { agreed = 1; }

int comm_rank(void) { return started && !alone ? world.rank : 0; }
int comm_size(void) { return started && !alone ? world.size : 1; }
int comm_world_rank(void) { return started ? world.rank : 0; }
int comm_world_size(void) { return started ? world.size : 1; }
void comm_alone(int on) { alone = on; }

const char *comm_library(void)
{
    int n = 0;
    if (!library[0] && MPI_Get_library_version(library, &n) == MPI_SUCCESS) {
        char *nl = strchr(library, '\n');
        if (nl) *nl = '\0';
        char *comma = strchr(library, ',');   /* "Open MPI v4.1.4, package: ..." -> the name and version */
        if (comma) *comma = '\0';
    }
    return library;
}

enum { WHY = 512 };

int comm_all_ok(int ok, const char *why)
{
    if (comm_size() == 1) {
        if (!ok && why) fprintf(stderr, "plastcc: %s\n", why);
        return ok;
    }
    char mine[1 + WHY];
    mine[0] = (char)(ok != 0);
    snprintf(mine + 1, WHY, "%s", ok || !why ? "" : why);
    char *all = malloc((size_t)world.size * sizeof mine);
    int bad = -1;
    if (!all || MPI_Allgather(mine, sizeof mine, MPI_BYTE, all, sizeof mine, MPI_BYTE, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "plastcc: rank %d: the ranks could not exchange their status\n", world.rank);
        free(all);
        return 0;
    }
    for (int r = 0; r < world.size && bad < 0; r++) if (!all[(size_t)r * sizeof mine]) bad = r;
    if (bad >= 0 && world.rank == 0) fprintf(stderr, "plastcc: rank %d: %s\n", bad, all + (size_t)bad * sizeof mine + 1);
    free(all);
    if (bad >= 0) agreed = 1;
    return bad < 0;
}

/* FNV-1a: enough to tell two texts apart (a rank with another file or option). */
static unsigned long long hash(const char *s)
{
    unsigned long long h = 1469598103934665603ull;
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int comm_same_text(const char *text, const char *what)
{
    if (comm_size() == 1) return 1;
    unsigned long long mine = hash(text), *all = malloc((size_t)world.size * sizeof mine);
    if (!all || MPI_Allgather(&mine, 1, MPI_UNSIGNED_LONG_LONG, all, 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD) != MPI_SUCCESS) {
        free(all);
        return 0;
    }
    int same = 1;
    for (int r = 1; r < world.size; r++)
        if (all[r] != all[0]) {
            if (world.rank == 0)
                fprintf(stderr, "plastcc: rank %d was started with other %s than rank 0; every rank must run the same "
                        "command on the same files\n", r, what);
            same = 0;
        }
    free(all);
    if (!same) agreed = 1;
    return same;
}

#else   /* built without MPI: one process */

const plast_comm *comm_start(int *argc, char ***argv) { (void)argc; (void)argv; return NULL; }
void comm_finish(int rc) { (void)rc; }
void comm_agreed(void) {}
int comm_rank(void) { return 0; }
int comm_size(void) { return 1; }
int comm_world_rank(void) { return 0; }
int comm_world_size(void) { return 1; }
void comm_alone(int on) { (void)on; }
const char *comm_library(void) { return NULL; }

int comm_all_ok(int ok, const char *why)
{
    if (!ok && why) fprintf(stderr, "plastcc: %s\n", why);
    return ok;
}

int comm_same_text(const char *text, const char *what) { (void)text; (void)what; return 1; }

#endif
