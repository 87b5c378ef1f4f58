/* dlgeom._fused_patterns: the least-squares moments of many pattern networks that share their weights.
 *
 * The pattern analysis (dlgeom.local_minima.affine_values_sq) needs, for M values of μ, the minimum
 * over (A, c) of Σ_n w_n |Aᵀ z_n + c − t_n|² where z_n = x^(L)(x_n) is the last hidden layer of a
 * network whose weights W_1..W_L are the same for every μ and whose biases depend on μ.  The numpy
 * version spends most of its time in separate passes for the bias and σ of every layer; this kernel
 * takes 8 points at a time through all layers in vector registers and writes the centred, weighted outputs
 * and their moments:
 *
 *     m   = Σ_n w_n z_n / Σ_n w_n,     h_n = √w_n (z_n − m),
 *     G   = Σ_n h_n h_nᵀ,              C = Σ_n h_n t̃_nᵀ      (t̃_n: the centred, weighted targets)
 *
 * and, given A, the value Σ_n |t̃_n − Aᵀ h_n|².  Floating-point contraction is off and every sum
 * runs over 8 lanes then the lanes in one fixed order, so the bytes are the same whatever the
 * instruction set.
 *
 * moments(XT, W, B, w, sw, Tc, H, G, C)
 *   XT (q, N) the points as columns;  W (L, q, q) the shared weights;  B (M, L, q) the biases
 *   w, sw (N,) the weights and their square roots;  Tc (q, N) the centred, weighted targets
 *   H (M, q, N) out: h_n;  G (M, q, q) out;  C (M, q, q) out
 * residuals(H, A, Tc, v)
 *   A (M, q, q) the coefficients (z ↦ Aᵀz);  v (M,) out: Σ_n |t̃_n − Aᵀ h_n|²
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define MAX_WIDTH 16
#define MAX_LAYERS 64
#define LANES 8

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSION
#endif

typedef double v8 __attribute__((vector_size(64)));
typedef long long v8i __attribute__((vector_size(64)));

/* 8 values from p (zeros past the n valid ones) and back. */
static inline v8 load8(const double *p, int n)
{
    v8 v = {0};
    if (n == LANES)
        memcpy(&v, p, sizeof v);
    else
        for (int k = 0; k < n; k++)
            v[k] = p[k];
    return v;
}

static inline void store8(double *p, v8 v, int n)
{
    if (n == LANES)
        memcpy(p, &v, sizeof v);
    else
        for (int k = 0; k < n; k++)
            p[k] = v[k];
}

static inline double lane_sum(v8 v)
{
    double s = 0.0;
    for (int k = 0; k < LANES; k++)
        s += v[k];
    return s;
}

/* The kernels' bodies take q as an argument; the wrappers below pass constants 1..8, so that the compiler
 * unrolls the loops over units and keeps the vectors in registers (same operations, same order). */
static inline __attribute__((always_inline)) void moments_body(
    Py_ssize_t M, Py_ssize_t N, const int q, int L, const double *XT, const double *W, const double *B,
    const double *w, const double *sw, const double *Tc, double *H, double *G, double *C)
{
    double wsum = 0.0;
    for (Py_ssize_t n = 0; n < N; n++)
        wsum += w[n];
    for (Py_ssize_t m = 0; m < M; m++) {
        const double *b = B + m * L * q;
        double *h = H + m * q * N;
        v8 msum[MAX_WIDTH] = {{0}};
        /* pass 1: the last hidden layer z_n of 8 points at a time, and Σ_n w_n z_n */
        for (Py_ssize_t n0 = 0; n0 < N; n0 += LANES) {
            const int nc = N - n0 < LANES ? (int)(N - n0) : LANES;
            v8 a[MAX_WIDTH], z[MAX_WIDTH];
            for (int i = 0; i < q; i++)
                a[i] = load8(XT + i * N + n0, nc);
            for (int l = 0; l < L; l++) {
                const double *Wl = W + (Py_ssize_t)l * q * q;
                /* unit i: ((W_i0 a_0 + W_i1 a_1) + …) + b_i, the units interleaved (independent sums) */
                for (int i = 0; i < q; i++)
                    z[i] = Wl[i * q] * a[0];
                for (int j = 1; j < q; j++)
                    for (int i = 0; i < q; i++)
                        z[i] += Wl[i * q + j] * a[j];
                for (int i = 0; i < q; i++) {
                    const v8 acc = z[i] + b[l * q + i];
                    a[i] = (v8)((v8i)acc & (acc > 0.0));
                }
            }
            const v8 wn = load8(w + n0, nc);
            for (int i = 0; i < q; i++) {
                msum[i] += wn * a[i];
                store8(h + i * N + n0, a[i], nc);
            }
        }
        double mean[MAX_WIDTH];
        for (int i = 0; i < q; i++)
            mean[i] = lane_sum(msum[i]) / wsum;
        /* pass 2: h_n = √w_n (z_n − m) in place, G = Σ h hᵀ and C = Σ h t̃ᵀ */
        v8 g[MAX_WIDTH * MAX_WIDTH] = {{0}}, c[MAX_WIDTH * MAX_WIDTH] = {{0}};
        for (Py_ssize_t n0 = 0; n0 < N; n0 += LANES) {
            const int nc = N - n0 < LANES ? (int)(N - n0) : LANES;
            const v8 s = load8(sw + n0, nc);
            v8 hv[MAX_WIDTH], tv[MAX_WIDTH];
            for (int i = 0; i < q; i++) {
                hv[i] = (load8(h + i * N + n0, nc) - mean[i]) * s;
                store8(h + i * N + n0, hv[i], nc);
                tv[i] = load8(Tc + i * N + n0, nc);
            }
            for (int i = 0; i < q; i++) {
                for (int j = 0; j <= i; j++)
                    g[i * q + j] += hv[i] * hv[j];
                for (int j = 0; j < q; j++)
                    c[i * q + j] += hv[i] * tv[j];
            }
        }
        double *Gm = G + m * q * q, *Cm = C + m * q * q;
        for (int i = 0; i < q; i++) {
            for (int j = 0; j <= i; j++)
                Gm[i * q + j] = Gm[j * q + i] = lane_sum(g[i * q + j]);
            for (int j = 0; j < q; j++)
                Cm[i * q + j] = lane_sum(c[i * q + j]);
        }
    }
}

static inline __attribute__((always_inline)) void residuals_body(
    Py_ssize_t M, Py_ssize_t N, const int q, const double *H, const double *A, const double *Tc, double *v)
{
    for (Py_ssize_t m = 0; m < M; m++) {
        const double *h = H + m * q * N, *Am = A + m * q * q;
        v8 acc = {0};
        for (Py_ssize_t n0 = 0; n0 < N; n0 += LANES) {
            const int nc = N - n0 < LANES ? (int)(N - n0) : LANES;
            v8 hv[MAX_WIDTH];
            for (int i = 0; i < q; i++)
                hv[i] = load8(h + i * N + n0, nc);
            for (int j = 0; j < q; j++) {         /* target column j: t̃_j − Σ_i A[i, j] h_i */
                v8 r = load8(Tc + j * N + n0, nc);
                for (int i = 0; i < q; i++)
                    r -= Am[i * q + j] * hv[i];
                acc += r * r;
            }
        }
        v[m] = lane_sum(acc);
    }
}

#define MOMENTS_ARGS Py_ssize_t M, Py_ssize_t N, int L, const double *XT, const double *W, const double *B, \
    const double *w, const double *sw, const double *Tc, double *H, double *G, double *C
#define RESIDUALS_ARGS Py_ssize_t M, Py_ssize_t N, const double *H, const double *A, const double *Tc, double *v
#define WIDTH(Q) \
    MULTIVERSION static void moments_##Q(MOMENTS_ARGS) { moments_body(M, N, Q, L, XT, W, B, w, sw, Tc, H, G, C); } \
    MULTIVERSION static void residuals_##Q(RESIDUALS_ARGS) { residuals_body(M, N, Q, H, A, Tc, v); }
WIDTH(1)
WIDTH(2)
WIDTH(3)
WIDTH(4)
WIDTH(5)
WIDTH(6)
WIDTH(7)
WIDTH(8)

MULTIVERSION
static void moments_kernel(Py_ssize_t M, Py_ssize_t N, int q, int L, const double *XT, const double *W,
                           const double *B, const double *w, const double *sw, const double *Tc, double *H,
                           double *G, double *C)
{
    static void (*const fixed[9])(MOMENTS_ARGS) = {NULL, moments_1, moments_2, moments_3, moments_4, moments_5,
                                                   moments_6, moments_7, moments_8};
    if (q <= 8)
        fixed[q](M, N, L, XT, W, B, w, sw, Tc, H, G, C);
    else
        moments_body(M, N, q, L, XT, W, B, w, sw, Tc, H, G, C);
}

MULTIVERSION
static void residuals_kernel(Py_ssize_t M, Py_ssize_t N, int q, const double *H, const double *A,
                             const double *Tc, double *v)
{
    static void (*const fixed[9])(RESIDUALS_ARGS) = {NULL, residuals_1, residuals_2, residuals_3, residuals_4,
                                                     residuals_5, residuals_6, residuals_7, residuals_8};
    if (q <= 8)
        fixed[q](M, N, H, A, Tc, v);
    else
        residuals_body(M, N, q, H, A, Tc, v);
}

static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t n, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)))
        return -1;
    if (!view->format || strcmp(view->format, "d") || view->len != n * (Py_ssize_t)sizeof(double)) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd contiguous float64 values", name, n);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *moments(PyObject *self, PyObject *args)
{
    PyObject *o[9];
    Py_buffer v[9];
    int q, L, got = 0;
    Py_ssize_t M, N;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "iinnOOOOOOOOO", &q, &L, &M, &N, &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                          &o[6], &o[7], &o[8]))
        return NULL;
    if (q < 1 || q > MAX_WIDTH || L < 1 || L > MAX_LAYERS || M < 0 || N < 1) {
        PyErr_Format(PyExc_ValueError, "moments: q must be in 1..%d, L in 1..%d, M >= 0 and N >= 1, "
                     "got q = %d, L = %d, M = %zd, N = %zd", MAX_WIDTH, MAX_LAYERS, q, L, M, N);
        return NULL;
    }
    const Py_ssize_t sizes[9] = {q * N, (Py_ssize_t)L * q * q, M * L * q, N, N, q * N, M * q * N, M * q * q,
                                 M * q * q};
    static const char *names[9] = {"XT", "W", "B", "w", "sw", "Tc", "H", "G", "C"};
    for (; got < 9; got++)
        if (get_buffer(o[got], &v[got], got >= 6, sizes[got], names[got]))
            goto release;
    Py_BEGIN_ALLOW_THREADS
    moments_kernel(M, N, q, L, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf, v[7].buf,
                   v[8].buf);
    Py_END_ALLOW_THREADS
    out = Py_NewRef(Py_None);
release:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&v[i]);
    return out;
}

static PyObject *residuals(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    Py_buffer v[4];
    int q, got = 0;
    Py_ssize_t M, N;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "innOOOO", &q, &M, &N, &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    if (q < 1 || q > MAX_WIDTH || M < 0 || N < 1) {
        PyErr_Format(PyExc_ValueError, "residuals: q must be in 1..%d, M >= 0 and N >= 1, got q = %d, M = %zd, "
                     "N = %zd", MAX_WIDTH, q, M, N);
        return NULL;
    }
    const Py_ssize_t sizes[4] = {M * q * N, M * q * q, q * N, M};
    static const char *names[4] = {"H", "A", "Tc", "v"};
    for (; got < 4; got++)
        if (get_buffer(o[got], &v[got], got == 3, sizes[got], names[got]))
            goto release;
    Py_BEGIN_ALLOW_THREADS
    residuals_kernel(M, N, q, v[0].buf, v[1].buf, v[2].buf, v[3].buf);
    Py_END_ALLOW_THREADS
    out = Py_NewRef(Py_None);
release:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&v[i]);
    return out;
}

static PyMethodDef methods[] = {
    {"moments", moments, METH_VARARGS,
     "moments(q, L, M, N, XT, W, B, w, sw, Tc, H, G, C): centred hidden outputs and their moments."},
    {"residuals", residuals, METH_VARARGS,
     "residuals(q, M, N, H, A, Tc, v): v[m] = Σ_n |t̃_n − A[m]ᵀ h_n|²."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused_patterns",
                                    "Least-squares moments of many pattern networks with shared weights.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fused_patterns(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "MAX_WIDTH", MAX_WIDTH)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
