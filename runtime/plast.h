/* plast.h — the public API of libplast, the runtime of plastcc.
 *
 * libplast runs meta-training of plasticity rules: datasets and tasks, the
 * inner loop driven by generated kernels, the exact meta-gradient through the
 * unrolled inner loop, and the meta-optimiser.  Link with `pkg-config --libs plast`.
 */
#ifndef PLAST_H
#define PLAST_H

#ifdef __cplusplus
extern "C" {
#endif

#define PLAST_VERSION_MAJOR 0
#define PLAST_VERSION_MINOR 1

/* The version string of the library ("0.1.0"). */
const char *plast_version(void);

#ifdef __cplusplus
}
#endif
#endif
