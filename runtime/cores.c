/* cores — the thread count of a default run, from the cores other
 * processes leave free (cores.h). */
#define _GNU_SOURCE
#include "config.h"
#include "cores.h"
#include "util.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Seconds between looks: /proc/stat counts in ticks of 10 ms, so a shorter
 * window would measure a core's use in steps of a few percent. */
static const double LOOK_EVERY = 0.5;

int plast_cores_free(double others, int n_cores, int max)
{
    int n = (int)(n_cores - others + 0.5);
    if (n > max) n = max;
    return n < 1 ? 1 : n;
}

static double own_cpu_seconds(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) != 0) return -1;
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The busy seconds (all but idle and iowait) of the CPUs this process may
 * run on, and their number; -1 when /proc/stat or the mask cannot be read. */
static double allowed_busy_seconds(int *n_cores)
{
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0) return -1;
    long hz = sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/stat", "r");
    if (!f || hz <= 0) {
        if (f) fclose(f);
        return -1;
    }
    char line[512];
    double ticks = 0;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        int cpu;
        unsigned long long v[8] = { 0 };
        if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9' || sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
                                             &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
            continue;   /* the line of all CPUs together, or another line */
        if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &mask)) continue;
        /* user nice system idle iowait irq softirq steal: steal is time the
         * hypervisor gave another guest, as unavailable as another process's */
        ticks += (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
        n++;
    }
    fclose(f);
    if (n == 0) return -1;
    *n_cores = n;
    return ticks / (double)hz;
}

static int omp_count(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static void set_count(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

void plast_cores_start(plast_cores *c, int given)
{
    memset(c, 0, sizeof *c);
    if (given > 0) set_count(given);
    c->max = c->threads = omp_count();
    const char *env = getenv("OMP_NUM_THREADS");
    int n_cores;
    c->on = given <= 0 && !(env && *env) && c->max > 1;
    if (!c->on) return;
    c->busy = allowed_busy_seconds(&n_cores);
    c->own = own_cpu_seconds();
    c->wall = plast_seconds();
    if (c->busy < 0 || c->own < 0) c->on = 0;
}

int plast_cores_pick(plast_cores *c)
{
    if (!c->on) return c->threads;
    double wall = plast_seconds();
    if (wall - c->wall < LOOK_EVERY) return c->threads;
    int n_cores;
    double busy = allowed_busy_seconds(&n_cores), own = own_cpu_seconds();
    if (busy < 0 || own < 0) return c->threads;
    /* this process's time on other CPUs is not subtracted from the allowed
     * ones' (it runs on those alone), so OTHERS can only be overstated by a
     * tick's rounding */
    double others = ((busy - c->busy) - (own - c->own)) / (wall - c->wall);
    int n = plast_cores_free(others < 0 ? 0 : others, n_cores, c->max);
    c->picks++;
    if (n != c->threads) {
        c->changes++;
        c->threads = n;
        set_count(n);
    }
    c->wall = wall, c->busy = busy, c->own = own;
    return n;
}
