/* mlp_real.h — the meta-MLP routines of mlp.c in one precision: included
 * once with REAL double and once with REAL float (see mlp.c).
 *
 * Every routine runs L elements at once, element e's values at [.. * L + e]
 * (the lane stride L: 1 for the emitted C, the vector width for the JIT).
 * Each element's arithmetic is the same sequence of operations whatever L
 * is, so the lanes give the bits of one element at a time.  All L lanes are
 * computed (the JIT's inactive lanes hold defined values, and nothing here
 * traps); only the first LANES reach an output or an adjoint.
 *
 * The lane count is a constant in each clone of the core routines
 * (LANE_DISPATCH), so that the compiler turns the loops over lanes into
 * vector instructions: with L a run-time value they ran one lane at a time,
 * about ten times slower than the inlined MLP they replace. */

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
static inline __attribute__((always_inline)) void FN(forward)(const double *shape, const REAL *theta,
                                                              const REAL *restrict x, int L, REAL *restrict z,
                                                              REAL *restrict h)
{
    int width = (int)shape[0], n_layers = (int)shape[1];
    const REAL *in = x;
    for (int l = 0; l < n_layers; l++) {
        int w_out = (int)shape[2 + 3 * l], act = (int)shape[3 + 3 * l];
        REAL arg = (REAL)shape[4 + 3 * l];
        const REAL *b = theta + (size_t)w_out * width;
        for (int o = 0; o < w_out; o++) {
            const REAL *row = theta + (size_t)o * width;
            REAL *zo = z + (size_t)o * L, *ho = h + (size_t)o * L, t[PLAST_MLP_MAX_LANES];   /* t: in registers */
            for (int e = 0; e < L; e++) t[e] = row[0] * in[e];
            for (int i = 1; i < width; i++)
                for (int e = 0; e < L; e++) t[e] = t[e] + row[i] * in[(size_t)i * L + e];
            for (int e = 0; e < L; e++) zo[e] = t[e] + b[o];
            if (act == PLAST_MLP_RELU)
                for (int e = 0; e < L; e++) ho[e] = zo[e] > 0 ? zo[e] : 0;
            else if (act == PLAST_MLP_IDENTITY)
                for (int e = 0; e < L; e++) ho[e] = zo[e];
            else
                for (int e = 0; e < L; e++) ho[e] = FN(act)(act, arg, zo[e]);
        }
        theta = b + w_out;
        in = h;
        z += (size_t)w_out * L;
        h += (size_t)w_out * L;
        width = w_out;
    }
}

/* A += G (x) IN over the first LANES lanes: parameter p's adjoint in
 * FN(PARTS) partial sums, A[p * PARTS + part]; lane e adds into part e when
 * SPLIT (L is then PARTS), else every lane into part 0, lane 0 first. */
static inline __attribute__((always_inline)) void FN(add_outer)(REAL *restrict a, const REAL *restrict go,
                                                                const REAL *restrict in, int w_in, int L,
                                                                int lanes, int split)
{
    for (int i = 0; i < w_in; i++) {
        REAL *ai = a + (size_t)i * FN(PARTS);
        const REAL *xi = in + (size_t)i * L;
        if (split && lanes == L)
            for (int e = 0; e < L; e++) ai[e] = ai[e] + go[e] * xi[e];
        else if (split)
            for (int e = 0; e < lanes; e++) ai[e] = ai[e] + go[e] * xi[e];
        else
            for (int e = 0; e < lanes; e++) ai[0] = ai[0] + go[e] * xi[e];
    }
}

/* The backward pass from G, the adjoint of the last layer's activations
 * (overwritten): the adjoint of input M (all inputs when M < 0) into GIN
 * (may be NULL) and, when ACC is not NULL, the parameters' adjoints added
 * into ACC (add_outer). */
static inline __attribute__((always_inline)) void FN(backward)(const double *shape, const REAL *theta,
                                                               const REAL *x, int L, const REAL *z, const REAL *h,
                                                               REAL *g, REAL *gnext, REAL *gin, int m, REAL *acc,
                                                               int lanes, int split)
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
        const REAL *zl = z + units * L, *hl = h + units * L;
        size_t n = (size_t)w_out * L;
        if (act == PLAST_MLP_RELU)
            for (size_t q = 0; q < n; q++) g[q] = g[q] * (zl[q] > 0 ? (REAL)1 : (REAL)0);
        else if (act != PLAST_MLP_IDENTITY)
            for (size_t q = 0; q < n; q++) g[q] = g[q] * FN(act_slope)(act, arg, zl[q], hl[q]);
        if (acc) {
            REAL *aW = acc + params * FN(PARTS), *ab = aW + (size_t)w_out * w_in * FN(PARTS);
            for (int o = 0; o < w_out; o++) {
                const REAL *go = g + (size_t)o * L;
                FN(add_outer)(aW + (size_t)o * w_in * FN(PARTS), go, in, w_in, L, lanes, split);
                REAL *abo = ab + (size_t)o * FN(PARTS);
                if (split && lanes == L)
                    for (int e = 0; e < L; e++) abo[e] = abo[e] + go[e];
                else if (split)
                    for (int e = 0; e < lanes; e++) abo[e] = abo[e] + go[e];
                else
                    for (int e = 0; e < lanes; e++) abo[0] = abo[0] + go[e];
            }
        }
        REAL *down = l ? gnext : gin;
        if (down) {
            for (int i = l || m < 0 ? 0 : m; i < (l || m < 0 ? w_in : m + 1); i++) {
                /* two partial sums (even and odd units), added at the end:
                 * one chain of w_out adds ran at one add per latency */
                REAL *di = down + (size_t)i * L, t0[PLAST_MLP_MAX_LANES], t1[PLAST_MLP_MAX_LANES];
                for (int e = 0; e < L; e++) t0[e] = W[i] * g[e];
                if (w_out == 1) {
                    for (int e = 0; e < L; e++) di[e] = t0[e];
                    continue;
                }
                for (int e = 0; e < L; e++) t1[e] = W[(size_t)w_in + i] * g[(size_t)L + e];
                int o = 2;
                for (; o + 1 < w_out; o += 2)
                    for (int e = 0; e < L; e++) {
                        t0[e] = t0[e] + W[(size_t)o * w_in + i] * g[(size_t)o * L + e];
                        t1[e] = t1[e] + W[(size_t)(o + 1) * w_in + i] * g[(size_t)(o + 1) * L + e];
                    }
                if (o < w_out)
                    for (int e = 0; e < L; e++) t0[e] = t0[e] + W[(size_t)o * w_in + i] * g[(size_t)o * L + e];
                for (int e = 0; e < L; e++) di[e] = t0[e] + t1[e];
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

enum { FN(SMALL) = 8192, FN(MAX_IN1) = 8 };

/* Every output: OUT[k * L + e]. */
static inline __attribute__((always_inline)) void FN(outs_core)(const double *shape, const REAL *theta,
                                                                const REAL *x, int L, REAL *out)
{
    REAL small[FN(SMALL)], *w = FN(work)(shape, L, small, FN(SMALL));
    size_t units = FN_UNITS(shape), n_out = (size_t)FN_N_OUT(shape);
    FN(forward)(shape, theta, x, L, w, w + units * L);
    const REAL *y = w + (2 * units - n_out) * L;
    for (size_t q = 0; q < n_out * L; q++) out[q] = y[q];
}

/* One forward and one backward pass from the outputs' adjoints SEED: the
 * adjoint of input M (every input when M < 0) into GIN (unless NULL), and
 * the parameters' adjoints into ACC (unless NULL; add_outer). */
static inline __attribute__((always_inline)) void FN(vjp_core)(const double *shape, const REAL *theta,
                                                               const REAL *x, const REAL *seed, int m, int lanes,
                                                               int L, REAL *gin, REAL *acc, int split)
{
    REAL small[FN(SMALL)], *w = FN(work)(shape, L, small, FN(SMALL));
    size_t units = FN_UNITS(shape), wide = units > (size_t)shape[0] ? units : (size_t)shape[0];
    int n_out = FN_N_OUT(shape);
    REAL *z = w, *h = w + units * L, *g = h + units * L, *gnext = g + wide * L;
    FN(forward)(shape, theta, x, L, z, h);
    for (int o = 0; o < n_out; o++)
        for (int e = 0; e < L; e++) g[(size_t)o * L + e] = seed[(size_t)o * L + e];
    FN(backward)(shape, theta, x, L, z, h, g, gnext, gin, m, acc, lanes, split);
}

/* An MLP with one hidden layer of relu or identity units and one linear
 * output (HAT's 3-100-1) on a whole vector of lanes (L = PARTS, 64 bytes),
 * unit by unit: hidden unit o's pre-activation, activation and term of the
 * output, and in the adjoint its weights' and bias's adjoints and its terms
 * of the inputs' adjoints, while its values are in registers.  The layered
 * routines above store every layer's z and h and read them back, and the
 * adjoints g twice more; here only the parameters' adjoints go through
 * memory.  The values are held in GCC vector types: with arrays indexed by
 * lane the compiler kept them on the stack.  Each value is the same
 * sequence of operations as in forward and backward (the output's sum over
 * units in increasing o; an input's adjoint as two partial sums, even and
 * odd units, added at the end; relu as z > 0 ? z : +0 by a mask), so the
 * bits are theirs. */
/* With the input count a run-time value (IN1_DISPATCH's default), GCC
 * cannot see that the loops below never read past n_in. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
typedef REAL FN(vec) __attribute__((vector_size(64)));
typedef IREAL FN(ivec) __attribute__((vector_size(64)));
_Static_assert(sizeof(FN(vec)) == FN(PARTS) * sizeof(REAL), "a vector is one strip of lanes");

static int FN(one_hidden)(const double *shape)
{
    int act = (int)shape[3];
    return (int)shape[1] == 2 && (int)shape[0] >= 1 && (int)shape[0] <= FN(MAX_IN1) && (int)shape[2] >= 1 &&
           (act == PLAST_MLP_RELU || act == PLAST_MLP_IDENTITY) && (int)shape[5] == 1 &&
           (int)shape[6] == PLAST_MLP_IDENTITY;
}

static inline __attribute__((always_inline)) FN(vec) FN(vload)(const REAL *p)
{
    FN(vec) v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void FN(vadd_to)(REAL *p, const FN(vec) *v)
{
    FN(vec) a = FN(vload)(p);
    a = a + *v;
    memcpy(p, &a, sizeof a);
}

/* Hidden unit o: z = W1[o,:] . x + b1[o] in the forward's order; its
 * activation H and the mask POS of z > 0. */
static inline __attribute__((always_inline)) FN(vec) FN(unit_z)(const REAL *row, REAL b, const FN(vec) *xv,
                                                                int n_in)
{
    if (n_in < 1 || n_in > FN(MAX_IN1)) __builtin_unreachable();   /* one_hidden */
    FN(vec) z = row[0] * xv[0];
#pragma GCC unroll 8
    for (int i = 1; i < n_in; i++) z = z + row[i] * xv[i];
    return z + b;
}

static inline __attribute__((always_inline)) void FN(outs1_core)(const double *shape, const REAL *theta,
                                                                 const REAL *x, int n_in, REAL *out, int relu)
{
    if (n_in < 1 || n_in > FN(MAX_IN1)) __builtin_unreachable();   /* one_hidden */
    int hid = (int)shape[2];
    const REAL *W1 = theta, *b1 = W1 + (size_t)hid * n_in, *W2 = b1 + hid, *b2 = W2 + hid;
    const FN(vec) zero = {0};
    FN(vec) xv[FN(MAX_IN1)], y = zero;
#pragma GCC unroll 8
    for (int i = 0; i < n_in; i++) xv[i] = FN(vload)(x + (size_t)i * FN(PARTS));
    for (int o = 0; o < hid; o++) {
        FN(vec) z = FN(unit_z)(W1 + (size_t)o * n_in, b1[o], xv, n_in);
        FN(vec) h = relu ? (FN(vec))((FN(ivec))z & (z > zero)) : z;
        y = o ? y + W2[o] * h : W2[0] * h;
    }
    y = y + b2[0];
    memcpy(out, &y, sizeof y);
}

/* Unit O of the adjoint: its parameters' adjoints added into ACC (unless
 * NULL), its adjoint g returned (the terms of the inputs' adjoints are the
 * caller's, for the even/odd order). */
static inline __attribute__((always_inline)) FN(vec) FN(unit_vjp)(const REAL *W1, const REAL *b1, const REAL *W2,
                                                                  int o, int n_in, int relu, const FN(vec) *xv,
                                                                  const FN(vec) *goutp, REAL *aW1, REAL *ab1,
                                                                  REAL *aW2)
{
    const FN(vec) zero = {0}, one = zero + 1, gout = *goutp;   /* by pointer: no 64-byte argument */
    const REAL *row = W1 + (size_t)o * n_in;
    FN(vec) z = FN(unit_z)(row, b1[o], xv, n_in);
    FN(ivec) pos = z > zero;
    FN(vec) h = relu ? (FN(vec))((FN(ivec))z & pos) : z;
    FN(vec) g = W2[o] * gout;
    if (relu) g = g * (FN(vec))((FN(ivec))one & pos);
    if (aW1) {
        FN(vec) t = gout * h;
        FN(vadd_to)(aW2 + (size_t)o * FN(PARTS), &t);
#pragma GCC unroll 8
        for (int i = 0; i < n_in; i++) {
            t = g * xv[i];
            FN(vadd_to)(aW1 + ((size_t)o * n_in + i) * FN(PARTS), &t);
        }
        FN(vadd_to)(ab1 + (size_t)o * FN(PARTS), &g);
    }
    return g;
}

static inline __attribute__((always_inline)) void FN(vjp1_core)(const double *shape, const REAL *theta,
                                                                const REAL *x, const REAL *seed, int m, int n_in,
                                                                REAL *gin, REAL *acc, int relu)
{
    if (n_in < 1 || n_in > FN(MAX_IN1)) __builtin_unreachable();   /* one_hidden */
    int hid = (int)shape[2];
    const REAL *W1 = theta, *b1 = W1 + (size_t)hid * n_in, *W2 = b1 + hid;
    REAL *aW1 = acc, *ab1 = NULL, *aW2 = NULL, *ab2 = NULL;
    if (acc) {
        ab1 = aW1 + (size_t)hid * n_in * FN(PARTS);
        aW2 = ab1 + (size_t)hid * FN(PARTS);
        ab2 = aW2 + (size_t)hid * FN(PARTS);
    }
    FN(vec) xv[FN(MAX_IN1)], t0[FN(MAX_IN1)], t1[FN(MAX_IN1)], gout = FN(vload)(seed), g;
#pragma GCC unroll 8
    for (int i = 0; i < n_in; i++) xv[i] = FN(vload)(x + (size_t)i * FN(PARTS));
#define UNIT(o) FN(unit_vjp)(W1, b1, W2, o, n_in, relu, xv, &gout, aW1, ab1, aW2)
#define TERMS(t, o, first)                                                     \
    _Pragma("GCC unroll 8")                                                    \
    for (int i = 0; i < n_in; i++) {                                           \
        REAL w = W1[(size_t)(o) * n_in + i];                                   \
        t[i] = (first) ? w * g : t[i] + w * g;                                 \
    }
    g = UNIT(0);
    TERMS(t0, 0, 1);
    int o = 1;
    if (hid > 1) {
        g = UNIT(1);
        TERMS(t1, 1, 1);
        for (o = 2; o + 1 < hid; o += 2) {
            g = UNIT(o);
            TERMS(t0, o, 0);
            g = UNIT(o + 1);
            TERMS(t1, o + 1, 0);
        }
        if (o < hid) {
            g = UNIT(o);
            TERMS(t0, o, 0);
        }
    }
#undef UNIT
#undef TERMS
    if (acc) FN(vadd_to)(ab2, &gout);
    if (gin)
        for (int i = m < 0 ? 0 : m; i < (m < 0 ? n_in : m + 1); i++) {
            FN(vec) d = hid == 1 ? t0[i] : t0[i] + t1[i];
            memcpy(gin + (size_t)i * FN(PARTS), &d, sizeof d);
        }
}

/* CALL(n) with the input count N as a constant for the small counts. */
#define IN1_DISPATCH(N, CALL) \
    switch (N) {              \
    case 1: CALL(1); break;   \
    case 2: CALL(2); break;   \
    case 3: CALL(3); break;   \
    case 4: CALL(4); break;   \
    default: CALL(N); break;  \
    }

static inline __attribute__((always_inline)) void FN(vjp1_in)(const double *shape, const REAL *theta,
                                                              const REAL *x, const REAL *seed, int m, REAL *gin,
                                                              REAL *acc, int relu)
{
#define CALL1(k) FN(vjp1_core)(shape, theta, x, seed, m, k, gin, acc, relu)
    IN1_DISPATCH((int)shape[0], CALL1);
#undef CALL1
}
#pragma GCC diagnostic pop

LANE_CLONES void FN(outs_lanes)(const double *shape, const REAL *theta, const REAL *x, int lanes, int L, REAL *out)
{
    (void)lanes;
    if (L == FN(PARTS) && FN(one_hidden)(shape)) {
        if ((int)shape[3] == PLAST_MLP_RELU) {
#define CALL1(k) FN(outs1_core)(shape, theta, x, k, out, 1)
            IN1_DISPATCH((int)shape[0], CALL1);
#undef CALL1
        } else {
#define CALL1(k) FN(outs1_core)(shape, theta, x, k, out, 0)
            IN1_DISPATCH((int)shape[0], CALL1);
#undef CALL1
        }
        return;
    }
#define CALL(n) FN(outs_core)(shape, theta, x, n, out)
    LANE_DISPATCH(L, CALL);
#undef CALL
}

LANE_CLONES void FN(vjp_lanes)(const double *shape, const REAL *theta, const REAL *x, const REAL *seed, int m,
                               int lanes, int L, REAL *gin, REAL *acc, int split)
{
    if (acc && split && L != FN(PARTS)) {
        fprintf(stderr, "plastcc: internal error: a meta-MLP's adjoints split over %d lanes, not %d\n", L, FN(PARTS));
        abort();
    }
    if (L == FN(PARTS) && (!acc || (split && lanes == L)) && FN(one_hidden)(shape)) {
        /* constants for the compiler: with or without ACC, relu or not */
        int relu = (int)shape[3] == PLAST_MLP_RELU;
        if (acc && relu) FN(vjp1_in)(shape, theta, x, seed, m, gin, acc, 1);
        else if (acc) FN(vjp1_in)(shape, theta, x, seed, m, gin, acc, 0);
        else if (relu) FN(vjp1_in)(shape, theta, x, seed, m, gin, NULL, 1);
        else FN(vjp1_in)(shape, theta, x, seed, m, gin, NULL, 0);
    } else if (acc && split && lanes == L)   /* a whole strip of a loop over columns: one vector per parameter */
        FN(vjp_core)(shape, theta, x, seed, m, FN(PARTS), FN(PARTS), gin, acc, 1);
    else {
#define CALL(n) FN(vjp_core)(shape, theta, x, seed, m, lanes, n, gin, acc, split)
        LANE_DISPATCH(L, CALL);
#undef CALL
    }
}

void FN(outs)(const double *shape, const REAL *theta, const REAL *x, REAL *out)
{
    FN(outs_core)(shape, theta, x, 1, out);
}

void FN(vjp)(const double *shape, const REAL *theta, const REAL *x, const REAL *seed, int m, REAL *gin, REAL *acc,
             int part)
{
    FN(vjp_core)(shape, theta, x, seed, m, 1, 1, gin, acc ? acc + part : NULL, 0);
}
