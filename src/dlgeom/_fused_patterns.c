/* dlgeom._fused_patterns: the least-squares moments of many pattern networks that share their weights.
 *
 * The pattern analysis (dlgeom.local_minima.affine_values_sq) needs, for M values of μ, the minimum
 * over (A, c) of Σ_n w_n |Aᵀ z_n + c − t_n|² where z_n = x^(L)(x_n) is the last hidden layer of a
 * network whose weights W_1..W_L are the same for every μ and whose biases depend on μ.  The numpy
 * version spends most of its time in separate passes for the bias and σ of every layer; this kernel
 * takes 8 points at a time through all layers in vector registers and writes the centred, weighted
 * outputs and their moments:
 *
 *     m   = Σ_n w_n z_n / Σ_n w_n,     h_n = √w_n (z_n − m),
 *     G   = Σ_n h_n h_nᵀ,              C = Σ_n h_n t̃_nᵀ      (t̃_n: the centred, weighted targets)
 *
 * and, given A, the value Σ_n |t̃_n − Aᵀ h_n|².  Floating-point contraction is off, the layers' multiply-adds
 * are explicit fma() (one rounding, as in the BLAS products of the sequential code), and every sum runs
 * over 8 lanes then the lanes in one fixed order, so the bytes are the same in every build (AVX-512,
 * AVX2 + FMA, the baseline; chosen at import, or by `build`).  The bodies are in _fused_patterns_body.h.
 *
 * moments(q, L, M, N, XT, W, B, w, sw, Tc, H, G, C[, build])
 *   XT (q, N) the points as columns;  W (L, q, q) the shared weights;  B (M, L, q) the biases
 *   w, sw (N,) the weights and their square roots;  Tc (q, N) the centred, weighted targets
 *   H (M, q, N) out: h_n;  G (M, q, q) out;  C (M, q, q) out
 * residuals(q, M, N, H, A, Tc, v[, build])
 *   A (M, q, q) the coefficients (z ↦ Aᵀz);  v (M,) out: Σ_n |t̃_n − Aᵀ h_n|²
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define MAX_WIDTH 16
#define MAX_LAYERS 64
#define LANES 8

/* Three builds of the kernels: AVX-512, AVX2 with FMA, and the baseline; the best one the CPU runs is
 * chosen at import on x86-64, elsewhere the baseline runs.  All give the same bytes. */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86_BUILDS 1
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

#define MOMENTS_ARGS Py_ssize_t M, Py_ssize_t N, int L, const double *XT, const double *W, const double *B, \
    const double *w, const double *sw, const double *Tc, double *H, double *G, double *C
#define MOMENTS_ARGS_Q int L, const double *XT, const double *W, const double *B, const double *w, \
    const double *sw, const double *Tc, double *H, double *G, double *C
#define RESIDUALS_ARGS Py_ssize_t M, Py_ssize_t N, const double *H, const double *A, const double *Tc, double *v
#define RESIDUALS_ARGS_Q const double *H, const double *A, const double *Tc, double *v

struct kernels {
    void (*moments[9])(MOMENTS_ARGS);            /* q = 1..8 */
    void (*residuals[9])(RESIDUALS_ARGS);
    void (*moments_any)(Py_ssize_t, Py_ssize_t, int, MOMENTS_ARGS_Q);
    void (*residuals_any)(Py_ssize_t, Py_ssize_t, int, RESIDUALS_ARGS_Q);
};

/* The baseline: fma() of the C library, correctly rounded (one instruction where the CPU has it). */
static inline v8 fma8_base(double w, v8 a, v8 z)
{
    for (int k = 0; k < LANES; k++)
        z[k] = fma(w, a[k], z[k]);
    return z;
}
#define SFX _base
#define TARGET
#define FMA8 fma8_base
#include "_fused_patterns_body.h"
#undef SFX
#undef TARGET
#undef FMA8

#ifdef HAVE_X86_BUILDS
#include <immintrin.h>
__attribute__((target("avx2,fma"))) static inline v8 fma8_avx2(double w, v8 a, v8 z)
{
    __m256d x[2], y[2];
    memcpy(x, &a, sizeof x);
    memcpy(y, &z, sizeof y);
    const __m256d ww = _mm256_set1_pd(w);
    y[0] = _mm256_fmadd_pd(ww, x[0], y[0]);
    y[1] = _mm256_fmadd_pd(ww, x[1], y[1]);
    memcpy(&z, y, sizeof y);
    return z;
}
#define SFX _avx2
#define TARGET __attribute__((target("avx2,fma")))
#define FMA8 fma8_avx2
#include "_fused_patterns_body.h"
#undef SFX
#undef TARGET
#undef FMA8

__attribute__((target("avx512f"))) static inline v8 fma8_avx512(double w, v8 a, v8 z)
{
    return (v8)_mm512_fmadd_pd(_mm512_set1_pd(w), (__m512d)a, (__m512d)z);
}
#define SFX _avx512
#define TARGET __attribute__((target("avx512f")))
#define FMA8 fma8_avx512
#include "_fused_patterns_body.h"
#undef SFX
#undef TARGET
#undef FMA8
#endif

static const struct kernels *KERNELS = &KERNELS_base;

/* The build named by `build` (0: the one chosen at import, 1: baseline, 2: AVX2, 3: AVX-512), or NULL with
 * an error set if this CPU cannot run it. */
static const struct kernels *select_build(int build)
{
    if (build == 0)
        return KERNELS;
    if (build == 1)
        return &KERNELS_base;
#ifdef HAVE_X86_BUILDS
    if (build == 2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &KERNELS_avx2;
    if (build == 3 && __builtin_cpu_supports("avx512f"))
        return &KERNELS_avx512;
#endif
    PyErr_Format(PyExc_ValueError, "build: this CPU runs builds 0 (chosen at import), 1 (baseline)%s, got %d",
#ifdef HAVE_X86_BUILDS
                 __builtin_cpu_supports("avx512f") ? ", 2 (AVX2) and 3 (AVX-512)"
                 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? " and 2 (AVX2)" : "",
#else
                 "",
#endif
                 build);
    return NULL;
}

static void moments_kernel(const struct kernels *K, Py_ssize_t M, Py_ssize_t N, int q, int L, const double *XT,
                           const double *W,
                           const double *B, const double *w, const double *sw, const double *Tc, double *H,
                           double *G, double *C)
{
    if (q <= 8)
        K->moments[q](M, N, L, XT, W, B, w, sw, Tc, H, G, C);
    else
        K->moments_any(M, N, q, L, XT, W, B, w, sw, Tc, H, G, C);
}

static void residuals_kernel(const struct kernels *K, Py_ssize_t M, Py_ssize_t N, int q, const double *H,
                             const double *A,
                             const double *Tc, double *v)
{
    if (q <= 8)
        K->residuals[q](M, N, H, A, Tc, v);
    else
        K->residuals_any(M, N, q, H, A, Tc, v);
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
    int q, L, got = 0, build = 0;
    Py_ssize_t M, N;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "iinnOOOOOOOOO|i", &q, &L, &M, &N, &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                          &o[6], &o[7], &o[8], &build))
        return NULL;
    const struct kernels *K = select_build(build);
    if (!K)
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
    moments_kernel(K, M, N, q, L, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, v[5].buf, v[6].buf, v[7].buf,
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
    int q, got = 0, build = 0;
    Py_ssize_t M, N;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "innOOOO|i", &q, &M, &N, &o[0], &o[1], &o[2], &o[3], &build))
        return NULL;
    const struct kernels *K = select_build(build);
    if (!K)
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
    residuals_kernel(K, M, N, q, v[0].buf, v[1].buf, v[2].buf, v[3].buf);
    Py_END_ALLOW_THREADS
    out = Py_NewRef(Py_None);
release:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&v[i]);
    return out;
}

static PyMethodDef methods[] = {
    {"moments", moments, METH_VARARGS,
     "moments(q, L, M, N, XT, W, B, w, sw, Tc, H, G, C[, build]): centred hidden outputs and their moments."},
    {"residuals", residuals, METH_VARARGS,
     "residuals(q, M, N, H, A, Tc, v[, build]): v[m] = Σ_n |t̃_n − A[m]ᵀ h_n|²."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused_patterns",
                                    "Least-squares moments of many pattern networks with shared weights.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fused_patterns(void)
{
#ifdef HAVE_X86_BUILDS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        KERNELS = &KERNELS_avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        KERNELS = &KERNELS_avx2;
#endif
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "MAX_WIDTH", MAX_WIDTH)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
