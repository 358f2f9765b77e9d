/* mlp_real.h — the meta-MLP routines of mlp.c in one precision: included
 * once with REAL double and once with REAL float (see mlp.c). */

/* act(z) of a layer, as the emitted prelude computes it (plast_sigmoid,
 * plast_softplus), so that a call computes what the inlined MLP did. */
static REAL FN(act)(int act, REAL arg, REAL z)
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
static REAL FN(act_slope)(int act, REAL arg, REAL z, REAL h)
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
 * activations, layer after layer (mlp_units entries).  h_l[o] = act_l(sum_i
 * W_l[o,i] h_{l-1}[i] + b_l[o]), the sum in increasing i, then the bias. */
static void FN(forward)(const double *shape, const REAL *theta, const REAL *x, REAL *z, REAL *h)
{
    int width = (int)shape[0], n_layers = (int)shape[1];
    const REAL *in = x;
    for (int l = 0; l < n_layers; l++) {
        int w_out = (int)shape[2 + 3 * l], act = (int)shape[3 + 3 * l];
        REAL arg = (REAL)shape[4 + 3 * l];
        const REAL *b = theta + (size_t)w_out * width;
        for (int o = 0; o < w_out; o++) {
            const REAL *row = theta + (size_t)o * width;
            REAL acc = row[0] * in[0];
            for (int i = 1; i < width; i++) acc = acc + row[i] * in[i];
            acc = acc + b[o];
            z[o] = acc;
            h[o] = FN(act)(act, arg, acc);
        }
        theta = b + w_out;
        in = h;
        z += w_out;
        h += w_out;
        width = w_out;
    }
}

/* The backward pass from G, the adjoint of the last layer's activations
 * (overwritten): the adjoints of the inputs into GIN (may be NULL) and, when
 * ACC is not NULL, the parameters' adjoints added to ACC[p]. */
static void FN(backward)(const double *shape, const REAL *theta, const REAL *x, const REAL *z, const REAL *h,
                         REAL *g, REAL *gnext, REAL *gin, REAL *acc)
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
        const REAL *W = theta + params, *in = l ? h + units - w_in : x;
        for (int o = 0; o < w_out; o++) g[o] = g[o] * FN(act_slope)(act, arg, z[units + o], h[units + o]);
        if (acc) {
            REAL *aW = acc + params, *ab = aW + (size_t)w_out * w_in;
            for (int o = 0; o < w_out; o++) {
                for (int i = 0; i < w_in; i++) aW[(size_t)o * w_in + i] += g[o] * in[i];
                ab[o] += g[o];
            }
        }
        REAL *down = l ? gnext : gin;
        if (down) {
            for (int i = 0; i < w_in; i++) {
                REAL s = W[i] * g[0];
                for (int o = 1; o < w_out; o++) s = s + W[(size_t)o * w_in + i] * g[o];
                down[i] = s;
            }
        }
        if (!l || !down) break;
        REAL *t = g; g = gnext; gnext = t;
    }
}

/* Work space for one call: 4 units' worth (z, h and two adjoint rows). */
static REAL *FN(work)(const double *shape, REAL *small, size_t n_small)
{
    size_t need = 4 * FN_UNITS(shape);
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

REAL FN(out)(const double *shape, const REAL *theta, const REAL *x, int k)
{
    REAL small[1024], *w = FN(work)(shape, small, 1024);
    size_t units = FN_UNITS(shape);
    FN(forward)(shape, theta, x, w, w + units);
    return w[units + units - FN_N_OUT(shape) + k];
}

REAL FN(din)(const double *shape, const REAL *theta, const REAL *x, int k, int m)
{
    REAL small[1024], gin[64], *w = FN(work)(shape, small, 1024);
    size_t units = FN_UNITS(shape);
    int n_out = FN_N_OUT(shape), n_in = (int)shape[0];
    REAL *z = w, *h = w + units, *g = w + 2 * units, *gnext = w + 3 * units;
    FN(forward)(shape, theta, x, z, h);
    for (int o = 0; o < n_out; o++) g[o] = o == k ? 1 : 0;
    REAL *in_adj = n_in <= 64 ? gin : malloc((size_t)n_in * sizeof *in_adj);
    if (!in_adj) { fprintf(stderr, "plastcc: cannot allocate the inputs of a meta-MLP\n"); abort(); }
    FN(backward)(shape, theta, x, z, h, g, gnext, in_adj, NULL);
    REAL r = in_adj[m];
    if (in_adj != gin) free(in_adj);
    return r;
}

void FN(grad)(const double *shape, const REAL *theta, const REAL *x, const REAL *seed, REAL *acc)
{
    REAL small[1024], *w = FN(work)(shape, small, 1024);
    size_t units = FN_UNITS(shape);
    int n_out = FN_N_OUT(shape);
    REAL *z = w, *h = w + units, *g = w + 2 * units, *gnext = w + 3 * units;
    FN(forward)(shape, theta, x, z, h);
    for (int o = 0; o < n_out; o++) g[o] = seed[o];
    FN(backward)(shape, theta, x, z, h, g, gnext, NULL, acc);
}
