/* net_init — the initial values of a network's weights, parameters and fixed
 * matrices, drawn per task from its own random streams (plast.h). */
#include "config.h"
#include "plast.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SHIFT: P[i][(i + d) mod cols] = 1, else 0 ((P y)_i = y_{i+d}); it draws
 * nothing, so it leaves the other buffers' values as they were. */
static void shift(const plast_buf *B, double *v)
{
    long cols = (long)B->cols, d = (long)B->init_arg % (cols ? cols : 1);
    for (long i = 0; i < (long)B->rows; i++)
        for (long j = 0; j < cols; j++) v[i * cols + j] = j == ((i + d) % cols + cols) % cols;
}

/* XAVIER: uniform in +-sqrt(6 / (fan_in + fan_out)); NORMAL: N(0, arg^2);
 * UNIFORM: uniform in +-arg; ZERO: 0; LECUN: N(0, 1 / fan_in). */
static void draw(const plast_buf *B, plast_rng *r, double *v)
{
    size_t n = (size_t)B->rows * (size_t)B->cols;
    if (B->init == PLAST_INIT_SHIFT) { shift(B, v); return; }
    double a = B->init == PLAST_INIT_XAVIER ? sqrt(6.0 / (double)(B->fan_in + B->fan_out))
             : B->init == PLAST_INIT_LECUN ? 1 / sqrt((double)(B->fan_in > 0 ? B->fan_in : 1)) : B->init_arg;
    int normal = B->init == PLAST_INIT_NORMAL || B->init == PLAST_INIT_LECUN;
    for (size_t k = 0; k < n; k++)
        v[k] = B->init == PLAST_INIT_ZERO ? 0 : normal ? a * plast_rng_normal(r) : a * (2 * plast_rng_uniform(r) - 1);
}

int plast_draw_init(const plast_net *net, uint64_t seed, uint64_t g, double **init, char *err, size_t errlen)
{
    const plast_schedule *S = &net->sched;
    plast_rng streams[2] = { plast_rng_stream(seed, g, PLAST_RNG_INIT_W), plast_rng_stream(seed, g, PLAST_RNG_INIT_B) };
    int rc = 0;
    for (int b = 0; b < S->n_buf; b++) {
        const plast_buf *B = &S->buf[b];
        init[b] = NULL;
        if (B->kind != PLAST_BUF_STATE && B->kind != PLAST_BUF_PARAM && B->kind != PLAST_BUF_CONST) continue;
        size_t n = (size_t)B->rows * (size_t)B->cols;
        init[b] = malloc((n ? n : 1) * sizeof(double));
        if (!init[b]) {
            if (rc == 0)
                snprintf(err, errlen, "cannot allocate %.0f MB for %s (%lld x %lld doubles)",
                         (double)n * sizeof(double) / 1048576, B->name, (long long)B->rows, (long long)B->cols);
            rc = -1;
            continue;
        }
        draw(B, &streams[B->stream == PLAST_STREAM_B], init[b]);   /* drawn even when given: the others' draws stay */
        if (net->start && net->start[b]) memcpy(init[b], net->start[b], n * sizeof(double));
    }
    if (rc < 0) plast_free_init(net, init);
    return rc;
}

void plast_free_init(const plast_net *net, double **init)
{
    for (int b = 0; b < net->sched.n_buf; b++) { free(init[b]); init[b] = NULL; }
}
