/* mlp_real.h — the meta-MLP routines of mlp.c in one precision: included
 * once with REAL double and once with REAL float (see mlp.c).
 *
 * Every routine runs LANES elements at once, element l's values at [.. * L +
 * l] (L the lane stride, LANES <= L): a JIT-compiled loop passes its vector
 * lanes, the emitted C one element.  Each element's arithmetic is the same
 * sequence of operations whatever LANES is, so the lanes give the bits of
 * one element at a time. */

/* act(z) of a layer, as the emitted prelude computes it (plast_sigmoid,
 * plast_softplus), so that a call computes what the inlined MLP did. */
static inline REAL FN(act)(int act, REAL arg, REAL z)
{
    switch (act) {
    case PLAST_MLP_RELU: return z > 0 ? z : 0;
    case PLAST_MLP_TANH: return R_TANH(z);
    case PLAST_MLP_SIGMOID: return 1 / (1 + R_EXP(-z));
    case PLAST_MLP_SOFTPLUS: {
        REAL t = arg * z;
        return (t > 0 ? t + R_LOG1P(R_EXP(-t)) : R_LOG1P(R_EXP(t))) / arg;
    }
    default: return z;
    }
}

/* d act / dz from the pre-activation Z and the activation H (ops.def's partials). */
static inline REAL FN(act_slope)(int act, REAL arg, REAL z, REAL h)
{
    switch (act) {
    case PLAST_MLP_RELU: return z > 0 ? 1 : 0;
    case PLAST_MLP_TANH: return 1 - h * h;
    case PLAST_MLP_SIGMOID: return h * (1 - h);
    case PLAST_MLP_SOFTPLUS: return 1 / (1 + R_EXP(-(arg * z)));
    default: return 1;
    }
}

/* The forward pass: Z and H hold every layer's pre-activations and
 * activations, layer after layer, L lanes per unit.  h_l[o] = act_l(sum_i
 * W_l[o,i] h_{l-1}[i] + b_l[o]), the sum in increasing i, then the bias. */
static void FN(forward)(const double *shape, const REAL *theta, const REAL *x, int lanes, int L, REAL *z, REAL *h)
{
    int width = (int)shape[0], n_layers = (int)shape[1];
    const REAL *in = x;
    for (int l = 0; l < n_layers; l++) {
        int w_out = (int)shape[2 + 3 * l], act = (int)shape[3 + 3 * l];
        REAL arg = (REAL)shape[4 + 3 * l];
        const REAL *b = theta + (size_t)w_out * width;
        for (int o = 0; o < w_out; o++) {
            const REAL *row = theta + (size_t)o * width;
            REAL *zo = z + (size_t)o * L, *ho = h + (size_t)o * L;
            for (int e = 0; e < lanes; e++) zo[e] = row[0] * in[e];
            for (int i = 1; i < width; i++)
                for (int e = 0; e < lanes; e++) zo[e] = zo[e] + row[i] * in[(size_t)i * L + e];
            for (int e = 0; e < lanes; e++) zo[e] = zo[e] + b[o];
            if (act == PLAST_MLP_RELU)
                for (int e = 0; e < lanes; e++) ho[e] = zo[e] > 0 ? zo[e] : 0;
            else if (act == PLAST_MLP_IDENTITY)
                for (int e = 0; e < lanes; e++) ho[e] = zo[e];
            else
                for (int e = 0; e < lanes; e++) ho[e] = FN(act)(act, arg, zo[e]);
        }
        theta = b + w_out;
        in = h;
        z += (size_t)w_out * L;
        h += (size_t)w_out * L;
        width = w_out;
    }
}

/* The backward pass from G, the adjoint of the last layer's activations
 * (overwritten): the adjoints of the inputs into GIN (may be NULL) and, when
 * ACC is not NULL, the parameters' adjoints added to ACC[p], lane 0 first. */
static void FN(backward)(const double *shape, const REAL *theta, const REAL *x, int lanes, int L, const REAL *z,
                         const REAL *h, REAL *g, REAL *gnext, REAL *gin, REAL *acc)
{
    int n_layers = (int)shape[1];
    size_t units = 0, params = 0;
    int width = (int)shape[0];
    for (int l = 0; l < n_layers; l++) {
        int w_out = (int)shape[2 + 3 * l];
        units += (size_t)w_out;
        params += (size_t)w_out * width + w_out;
        width = w_out;
    }
    for (int l = n_layers - 1; l >= 0; l--) {
        int w_out = (int)shape[2 + 3 * l], act = (int)shape[3 + 3 * l];
        int w_in = l ? (int)shape[2 + 3 * (l - 1)] : (int)shape[0];
        REAL arg = (REAL)shape[4 + 3 * l];
        units -= (size_t)w_out;
        params -= (size_t)w_out * w_in + w_out;
        const REAL *W = theta + params, *in = l ? h + (units - (size_t)w_in) * L : x;
        for (int o = 0; o < w_out; o++) {
            REAL *go = g + (size_t)o * L;
            const REAL *zo = z + (units + o) * L, *ho = h + (units + o) * L;
            for (int e = 0; e < lanes; e++) go[e] = go[e] * FN(act_slope)(act, arg, zo[e], ho[e]);
        }
        if (acc) {
            REAL *aW = acc + params, *ab = aW + (size_t)w_out * w_in;
            for (int o = 0; o < w_out; o++) {
                const REAL *go = g + (size_t)o * L;
                for (int i = 0; i < w_in; i++) {
                    REAL s = aW[(size_t)o * w_in + i];
                    for (int e = 0; e < lanes; e++) s += go[e] * in[(size_t)i * L + e];
                    aW[(size_t)o * w_in + i] = s;
                }
                REAL s = ab[o];
                for (int e = 0; e < lanes; e++) s += go[e];
                ab[o] = s;
            }
        }
        REAL *down = l ? gnext : gin;
        if (down) {
            for (int i = 0; i < w_in; i++) {
                REAL *di = down + (size_t)i * L;
                for (int e = 0; e < lanes; e++) di[e] = W[i] * g[e];
                for (int o = 1; o < w_out; o++)
                    for (int e = 0; e < lanes; e++) di[e] = di[e] + W[(size_t)o * w_in + i] * g[(size_t)o * L + e];
            }
        }
        if (!l || !down) break;
        REAL *t = g; g = gnext; gnext = t;
    }
}

/* Work space for one call: z, h and two adjoint rows, L lanes per unit (an
 * input row of the adjoint holds n_in of them). */
static REAL *FN(work)(const double *shape, int L, REAL *small, size_t n_small)
{
    size_t units = FN_UNITS(shape), wide = units > (size_t)shape[0] ? units : (size_t)shape[0];
    size_t need = (2 * units + 3 * wide) * (size_t)L;
    if (need <= n_small) return small;
    static _Thread_local REAL *big;
    static _Thread_local size_t n_big;
    if (need > n_big) {
        REAL *p = realloc(big, need * sizeof *p);
        if (!p) { fprintf(stderr, "plastcc: cannot allocate %zu bytes for a meta-MLP\n", need * sizeof *p); abort(); }
        big = p;
        n_big = need;
    }
    return big;
}

enum { FN(SMALL) = 4096 };

void FN(out_lanes)(const double *shape, const REAL *theta, const REAL *x, int k, int lanes, int L, REAL *out)
{
    REAL small[FN(SMALL)], *w = FN(work)(shape, L, small, FN(SMALL));
    size_t units = FN_UNITS(shape);
    FN(forward)(shape, theta, x, lanes, L, w, w + units * L);
    const REAL *y = w + (2 * units - FN_N_OUT(shape) + k) * L;
    for (int e = 0; e < lanes; e++) out[e] = y[e];
}

void FN(din_lanes)(const double *shape, const REAL *theta, const REAL *x, int k, int m, int lanes, int L, REAL *out)
{
    REAL small[FN(SMALL)], *w = FN(work)(shape, L, small, FN(SMALL));
    size_t units = FN_UNITS(shape), wide = units > (size_t)shape[0] ? units : (size_t)shape[0];
    int n_out = FN_N_OUT(shape);
    REAL *z = w, *h = w + units * L, *g = h + units * L, *gnext = g + wide * L, *gin = gnext + wide * L;
    FN(forward)(shape, theta, x, lanes, L, z, h);
    for (int o = 0; o < n_out; o++)
        for (int e = 0; e < lanes; e++) g[(size_t)o * L + e] = o == k ? 1 : 0;
    FN(backward)(shape, theta, x, lanes, L, z, h, g, gnext, gin, NULL);
    for (int e = 0; e < lanes; e++) out[e] = gin[(size_t)m * L + e];
}

void FN(grad_lanes)(const double *shape, const REAL *theta, const REAL *x, const REAL *seed, int lanes, int L,
                    REAL *acc)
{
    REAL small[FN(SMALL)], *w = FN(work)(shape, L, small, FN(SMALL));
    size_t units = FN_UNITS(shape), wide = units > (size_t)shape[0] ? units : (size_t)shape[0];
    int n_out = FN_N_OUT(shape);
    REAL *z = w, *h = w + units * L, *g = h + units * L, *gnext = g + wide * L;
    FN(forward)(shape, theta, x, lanes, L, z, h);
    for (int o = 0; o < n_out; o++)
        for (int e = 0; e < lanes; e++) g[(size_t)o * L + e] = seed[(size_t)o * L + e];
    FN(backward)(shape, theta, x, lanes, L, z, h, g, gnext, NULL, acc);
}

REAL FN(out)(const double *shape, const REAL *theta, const REAL *x, int k)
{
    REAL y;
    FN(out_lanes)(shape, theta, x, k, 1, 1, &y);
    return y;
}

REAL FN(din)(const double *shape, const REAL *theta, const REAL *x, int k, int m)
{
    REAL y;
    FN(din_lanes)(shape, theta, x, k, m, 1, 1, &y);
    return y;
}

void FN(grad)(const double *shape, const REAL *theta, const REAL *x, const REAL *seed, REAL *acc)
{
    FN(grad_lanes)(shape, theta, x, seed, 1, 1, acc);
}
