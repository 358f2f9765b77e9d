/*
 * test_cores.c -- the thread count of a default run (runtime/cores.c).
 *
 *  - the count from the cores other processes use: rounded to the nearest
 *    free core, at least 1, at most OpenMP's count;
 *  - a count given (--threads, OMP_NUM_THREADS) is kept: no choosing;
 *  - no look before half a second has passed;
 *  - live: with a child process spinning on the cores this process may run
 *    on, a look after 0.6 s of this process's own work gives fewer threads
 *    than the cores (other tests running meanwhile only lower it further).
 *    Skipped (77) on one core.
 */
#define _GNU_SOURCE
#include "cores.h"
#include "util.h"

#include <omp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void test_free_cores(void)
{
    CHECK(plast_cores_free(0.0, 2, 2) == 2);
    CHECK(plast_cores_free(0.3, 2, 2) == 2);    /* background noise */
    CHECK(plast_cores_free(0.67, 2, 2) == 1);   /* a busy process sharing with two of ours */
    CHECK(plast_cores_free(1.0, 2, 2) == 1);
    CHECK(plast_cores_free(3.0, 2, 2) == 1);    /* never fewer than one */
    CHECK(plast_cores_free(0.0, 8, 4) == 4);    /* never more than OpenMP's */
    CHECK(plast_cores_free(2.4, 8, 8) == 6);
}

static void test_given(void)
{
    plast_cores c;
    plast_cores_start(&c, 3);
    CHECK(!c.on);
    CHECK(omp_get_max_threads() == 3);
    CHECK(plast_cores_pick(&c) == 3);
    setenv("OMP_NUM_THREADS", "2", 1);
    plast_cores_start(&c, 0);
    CHECK(!c.on);
    unsetenv("OMP_NUM_THREADS");
}

static double spin(double seconds)
{
    volatile double x = 0;
    double t0 = plast_seconds();
    while (plast_seconds() - t0 < seconds)
        for (int k = 0; k < 100000; k++) x += 1e-9;
    return x;
}

static void test_busy(int n_cores)
{
    omp_set_num_threads(n_cores);
    pid_t child = fork();
    if (child == 0) {   /* a process that keeps a core busy until killed */
        for (;;) spin(1);
    }
    CHECK(child > 0);
    if (child <= 0) return;
    plast_cores c;
    plast_cores_start(&c, 0);
    CHECK(c.on);
    CHECK(c.threads == n_cores);
    CHECK(plast_cores_pick(&c) == n_cores && c.picks == 0);   /* too soon to look */
    spin(0.6);
    int n = plast_cores_pick(&c);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    fprintf(stderr, "with one core kept busy: %d of %d threads\n", n, n_cores);
    CHECK(c.picks == 1);
    CHECK(n >= 1 && n < n_cores);
    CHECK(omp_get_max_threads() == n);
}

int main(void)
{
    test_free_cores();
    unsetenv("OMP_NUM_THREADS");
    test_given();
    cpu_set_t mask;
    int n_cores = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : 1;
    if (failures == 0 && n_cores < 2) {
        fprintf(stderr, "one core: the live check is skipped\n");
        return 77;
    }
    test_busy(n_cores);
    return failures ? 1 : 0;
}
