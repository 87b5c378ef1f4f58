/* dlgeom._fused: C² and its gradient for many small ReLU networks, one fused pass per network.
 *
 * The numpy engine (dlgeom.batched) runs every layer of a batch of networks as stacked matrix
 * products, with separate passes for the bias, σ, the mask and the sums; at width Q ≤ 8 those
 * passes cost as much as the products.  This kernel instead takes 8 points at a time in SIMD
 * registers, in chunks of 16 such vectors that stay in the L1 cache through all layers and back
 * (_fused_run.h), and accumulates the gradient lane by lane.  It computes the same quantities as
 * dlgeom.network.cost_and_grad with a different order of summation (so equal to rounding, not bit
 * for bit):
 *
 *     C² = Σ_n w_n |W_{L} a_L(x_n) + b_L − t_n|²,   a_{l+1} = max(W_l a_l + b_l, 0),  a_0 = x_n,
 *
 * and its gradient with respect to every W_l, b_l (flat layout of Network.to_flat: per layer the
 * Q×Q weights row by row, then the Q biases).
 *
 * Floating-point contraction is off, so every lane operation is one IEEE operation whatever the
 * instruction set (AVX-512, AVX2 or the baseline, chosen at import), and the lanes are summed in
 * one fixed order: the results are the same bytes on every machine.
 *
 * cost_and_grad(X, XT, T, w, q, L, f, G[, simd])
 *   X  (R, P) float64 flat parameter vectors, P = (L+1)(q²+q)
 *   XT (q, Np) the points as columns, Np a multiple of 8 (padding points have weight 0)
 *   T  (q, Np) their targets;  w (Np,) their weights
 *   f  (R,) out: C²;  G (R, P) out: the gradients
 *   simd  the vector width to use (2, 4 or 8 doubles; default 0: the widest this CPU runs)
 *
 * lbfgs(X, XT, T, w, q, L, max_iter, gtol, m, c1, c2, max_ls, maxfun, f, G, n_iter, n_evals, code[, simd])
 *   L-BFGS from every row of X on this kernel, run by run, in C (_fused_lbfgs.h): X (R, P) is
 *   overwritten by the end points, f and G take their C² and gradients, the int64 arrays n_iter,
 *   n_evals and code (R,) the iterations, evaluations and ending of every run
 *
 * first_order(X, f, G, step, XT, T, w, q, L, method, max_iter, gtol, zero2, n_iter, n_evals, code[, simd])
 *   gradient descent (method 0) or Adam (1) from every row of X on this kernel, run by run, in C
 *   (_fused_first_order.h): X, f and G hold the starts with their C² and gradients and are
 *   overwritten by the end points; step (R,) is each run's first GD step or Adam's learning rate
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define MAX_WIDTH 8
#define MAX_LAYERS 64
/* bytes of scratch space a kernel call may take on the stack (more goes on the heap) */
#define SCRATCH_ON_STACK 65536

typedef double v8 __attribute__((vector_size(64)));
typedef long long v8i __attribute__((vector_size(64)));
typedef double v4 __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));
typedef double v2 __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));

#define PASTE_(a, b, c) a##b##c
#define PASTE(a, b, c) PASTE_(a, b, c)

/* Three builds of every width Q: AVX-512 (8 doubles a vector), AVX2 (4) and the baseline (2); the
 * best one the CPU supports is chosen at import on x86-64, elsewhere the baseline runs.  All give
 * the same bytes (see _fused_kernel.h). */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86_BUILDS 1
#endif

#define VEC v2
#define VECI v2i
#define VW 2
#define TARGET
#include "_fused_widths.h"
#undef VEC
#undef VECI
#undef VW
#undef TARGET
#ifdef HAVE_X86_BUILDS
#define VEC v4
#define VECI v4i
#define VW 4
#define TARGET __attribute__((target("avx2")))
#include "_fused_widths.h"
#undef VEC
#undef VECI
#undef VW
#undef TARGET
#define VEC v8
#define VECI v8i
#define VW 8
#define TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi2")))
#include "_fused_widths.h"
#undef VEC
#undef VECI
#undef VW
#undef TARGET
#endif

typedef int (*kernel_fn)(Py_ssize_t, Py_ssize_t, int, const double *, const double *, const double *,
                          const double *, double *, double *);
#define TABLE(VWW) {NULL, cg_##VWW##_1, cg_##VWW##_2, cg_##VWW##_3, cg_##VWW##_4, cg_##VWW##_5, cg_##VWW##_6, \
                    cg_##VWW##_7, cg_##VWW##_8}
static const kernel_fn KERNELS_2[MAX_WIDTH + 1] = TABLE(2);
#ifdef HAVE_X86_BUILDS
static const kernel_fn KERNELS_4[MAX_WIDTH + 1] = TABLE(4);
static const kernel_fn KERNELS_8[MAX_WIDTH + 1] = TABLE(8);
#endif
static const kernel_fn *KERNELS = KERNELS_2;
static int SIMD_WIDTH = 2;

/* A buffer of the entry point: C-contiguous float64 of ``ndim`` dimensions and the given shape
 * (-1: any extent), writable for outputs; else a ValueError naming it (float32, int64, a transposed
 * or strided view of the right byte size are refused, never reinterpreted). */
static int get_typed_array(PyObject *obj, Py_buffer *b, int writable, int ndim, const Py_ssize_t *shape,
                           const char *name, const char *type, const char *code)
{
    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: expected a C-contiguous%s %s array", name,
                     writable ? ", writable" : "", type);
        return -1;
    }
    const char *fmt = b->format ? b->format : "B";
    if (fmt[0] == '@' || fmt[0] == '=' || fmt[0] == '<')
        fmt++;
    int ok = b->itemsize == 8 && (strcmp(fmt, code) == 0 || (code[0] == 'q' && strcmp(fmt, "l") == 0)) &&
             b->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = shape[i] < 0 || b->shape[i] == shape[i];
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "%s: expected a %d-D %s array of shape (%zd, %zd)[:%d], got format "
                     "%s, %d dimension(s)", name, ndim, type, shape[0], ndim > 1 ? shape[1] : 0, ndim,
                     b->format ? b->format : "B", b->ndim);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

static int get_array(PyObject *obj, Py_buffer *b, int writable, int ndim, const Py_ssize_t *shape, const char *name)
{
    return get_typed_array(obj, b, writable, ndim, shape, name, "float64", "d");
}

/* The points of a call: XT (q, Np), T (q, Np) and w (Np,), Np a multiple of 8, into bufs[*got..]. */
static int get_points(PyObject *oXT, PyObject *oT, PyObject *ow, int q, Py_buffer *bufs, int *got, Py_ssize_t *Np)
{
    const Py_ssize_t sXT[2] = {q, -1};
    if (get_array(oXT, &bufs[*got], 0, 2, sXT, "XT") < 0)
        return -1;
    *Np = bufs[(*got)++].shape[1];
    const Py_ssize_t sT[2] = {q, *Np}, sw[1] = {*Np};
    if (get_array(oT, &bufs[*got], 0, 2, sT, "T") < 0)
        return -1;
    (*got)++;
    if (get_array(ow, &bufs[*got], 0, 1, sw, "w") < 0)
        return -1;
    (*got)++;
    if (*Np % 8) {
        PyErr_SetString(PyExc_ValueError, "w: the number of points must be a multiple of 8 (pad with weight 0)");
        return -1;
    }
    return 0;
}

/* The outputs of a call: f (R,) and G (R, P), writable, into bufs[*got..]. */
static int get_values(PyObject *of, PyObject *oG, Py_ssize_t R, Py_ssize_t P, Py_buffer *bufs, int *got)
{
    const Py_ssize_t sf[1] = {R}, sG[2] = {R, P};
    if (get_array(of, &bufs[*got], 1, 1, sf, "f") < 0)
        return -1;
    (*got)++;
    if (get_array(oG, &bufs[*got], 1, 2, sG, "G") < 0)
        return -1;
    (*got)++;
    return 0;
}

/* The arrays of an optimiser call, into bufs[0..8]: X (R, P) writable, the points (get_points),
 * f and G (get_values), and n_iter, n_evals and code, writable int64 (R,). */
static int get_run_arrays(PyObject *oX, PyObject *oXT, PyObject *oT, PyObject *ow, PyObject *of, PyObject *oG,
                          PyObject *onit, PyObject *oev, PyObject *ocode, int q, Py_ssize_t P, Py_buffer *bufs,
                          int *got, Py_ssize_t *R, Py_ssize_t *Np)
{
    const Py_ssize_t sX[2] = {-1, P};
    if (get_array(oX, &bufs[*got], 1, 2, sX, "X") < 0)
        return -1;
    *R = bufs[(*got)++].shape[0];
    if (get_points(oXT, oT, ow, q, bufs, got, Np) < 0 || get_values(of, oG, *R, P, bufs, got) < 0)
        return -1;
    const Py_ssize_t sR[1] = {*R};
    PyObject *objs[3] = {onit, oev, ocode};
    const char *names[3] = {"n_iter", "n_evals", "code"};
    for (int i = 0; i < 3; i++) {
        if (get_typed_array(objs[i], &bufs[*got], 1, 1, sR, names[i], "int64", "q") < 0)
            return -1;
        (*got)++;
    }
    return 0;
}

/* The kernels of vector width ``simd`` (0: the widest this CPU runs) after checking q and L; else
 * NULL with a ValueError. */
static const kernel_fn *pick_table(int simd, int q, int L)
{
    const kernel_fn *table = KERNELS;
    if (simd == 2)
        table = KERNELS_2;
#ifdef HAVE_X86_BUILDS
    else if (simd == 4 && SIMD_WIDTH >= 4)
        table = KERNELS_4;
    else if (simd == 8 && SIMD_WIDTH >= 8)
        table = KERNELS_8;
#endif
    else if (simd != 0 && simd != SIMD_WIDTH) {
        PyErr_Format(PyExc_ValueError, "simd: this CPU runs vector widths up to %d, got %d", SIMD_WIDTH, simd);
        return NULL;
    }
    if (q < 1 || q > MAX_WIDTH || L < 1 || L > MAX_LAYERS) {
        PyErr_Format(PyExc_ValueError, "width q must be in 1..%d and L in 1..%d, got q = %d, L = %d",
                     MAX_WIDTH, MAX_LAYERS, q, L);
        return NULL;
    }
    return table;
}

static PyObject *cost_and_grad(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *oX, *oXT, *oT, *ow, *of, *oG;
    Py_buffer bufs[6];
    int got = 0, q, L, simd = 0;
    if (!PyArg_ParseTuple(args, "OOOOiiOO|i", &oX, &oXT, &oT, &ow, &q, &L, &of, &oG, &simd))
        return NULL;
    PyObject *out = NULL;
    const kernel_fn *table = pick_table(simd, q, L);
    if (!table)
        return NULL;
    const Py_ssize_t P = (Py_ssize_t)(L + 1) * (q * q + q);
    const Py_ssize_t sX[2] = {-1, P};
    if (get_array(oX, &bufs[got], 0, 2, sX, "X") < 0)
        goto release;
    const Py_ssize_t R = bufs[got++].shape[0];
    Py_ssize_t Np;
    if (get_points(oXT, oT, ow, q, bufs, &got, &Np) < 0 || get_values(of, oG, R, P, bufs, &got) < 0)
        goto release;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = table[q](R, Np, L, bufs[0].buf, bufs[1].buf, bufs[2].buf, bufs[3].buf, bufs[4].buf, bufs[5].buf);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        PyErr_NoMemory();
    else
        out = Py_NewRef(Py_None);
release:
    while (got > 0)
        PyBuffer_Release(&bufs[--got]);
    return out;
}

/* the L-BFGS driver, in the same three builds */
#define VW 2
#define TARGET
#include "_fused_lbfgs.h"
#undef VW
#undef TARGET
#ifdef HAVE_X86_BUILDS
#define VW 4
#define TARGET __attribute__((target("avx2")))
#include "_fused_lbfgs.h"
#undef VW
#undef TARGET
#define VW 8
#define TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi2")))
#include "_fused_lbfgs.h"
#undef VW
#undef TARGET
#endif

typedef int (*lb_run_fn)(const struct lb_problem *, double *, double *, double *, long long *, long long *, int,
                         double, int, double, double, int, long long, double *, double *, double *, double *);

static PyObject *lbfgs(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *oX, *oXT, *oT, *ow, *of, *oG, *onit, *oev, *ocode;
    Py_buffer bufs[9];
    int got = 0, q, L, max_iter, m, max_ls, simd = 0;
    long long maxfun;
    double gtol, c1, c2;
    if (!PyArg_ParseTuple(args, "OOOOiiididdiLOOOOO|i", &oX, &oXT, &oT, &ow, &q, &L, &max_iter, &gtol, &m, &c1,
                          &c2, &max_ls, &maxfun, &of, &oG, &onit, &oev, &ocode, &simd))
        return NULL;
    const kernel_fn *table = pick_table(simd, q, L);
    if (!table)
        return NULL;
    lb_run_fn run = lb_run_2;
#ifdef HAVE_X86_BUILDS
    if (table == KERNELS_4)
        run = lb_run_4;
    else if (table == KERNELS_8)
        run = lb_run_8;
#endif
    if (m < 1 || max_ls < 1 || max_iter < 1) {
        PyErr_Format(PyExc_ValueError, "m, max_ls and max_iter must be at least 1, got %d, %d, %d", m, max_ls,
                     max_iter);
        return NULL;
    }
    PyObject *out = NULL;
    const Py_ssize_t P = (Py_ssize_t)(L + 1) * (q * q + q);
    Py_ssize_t R, Np;
    if (get_run_arrays(oX, oXT, oT, ow, of, oG, onit, oev, ocode, q, P, bufs, &got, &R, &Np) < 0)
        goto release;
    double *work = malloc(((size_t)(2 * m + 5) * P + 3 * (size_t)m) * sizeof(double));
    if (!work) {
        PyErr_NoMemory();
        goto release;
    }
    struct lb_problem pb = {table[q], Np, P, L, bufs[1].buf, bufs[2].buf, bufs[3].buf};
    double *X = bufs[0].buf, *f = bufs[4].buf, *G = bufs[5].buf;
    long long *nit = bufs[6].buf, *nev = bufs[7].buf, *code = bufs[8].buf;
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    double *sy = work + (size_t)(2 * m + 5) * P, *alpha = sy + m, *yy = alpha + m;
    for (Py_ssize_t r = 0; r < R && rc >= 0; r++) {
        nev[r] = 0;
        rc = code[r] = run(&pb, X + r * P, f + r, G + r * P, nit + r, nev + r, max_iter, gtol, m, c1, c2,
                              max_ls, maxfun, work, sy, alpha, yy);
    }
    Py_END_ALLOW_THREADS
    free(work);
    if (rc < 0)
        PyErr_NoMemory();
    else
        out = Py_NewRef(Py_None);
release:
    while (got > 0)
        PyBuffer_Release(&bufs[--got]);
    return out;
}

#include "_fused_first_order.h"

static PyObject *first_order(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *oX, *of, *oG, *ostep, *oXT, *oT, *ow, *onit, *oev, *ocode;
    Py_buffer bufs[10];
    int got = 0, q, L, method, max_iter, simd = 0;
    double gtol, zero2;
    if (!PyArg_ParseTuple(args, "OOOOOOOiiiiddOOO|i", &oX, &of, &oG, &ostep, &oXT, &oT, &ow, &q, &L, &method,
                          &max_iter, &gtol, &zero2, &onit, &oev, &ocode, &simd))
        return NULL;
    const kernel_fn *table = pick_table(simd, q, L);
    if (!table)
        return NULL;
    if ((method != 0 && method != 1) || max_iter < 1) {
        PyErr_Format(PyExc_ValueError, "method must be 0 (gd) or 1 (adam) and max_iter at least 1, got %d, %d",
                     method, max_iter);
        return NULL;
    }
    PyObject *out = NULL;
    const Py_ssize_t P = (Py_ssize_t)(L + 1) * (q * q + q);
    Py_ssize_t R, Np;
    if (get_run_arrays(oX, oXT, oT, ow, of, oG, onit, oev, ocode, q, P, bufs, &got, &R, &Np) < 0)
        goto release;
    const Py_ssize_t sR[1] = {R};
    if (get_array(ostep, &bufs[got], 0, 1, sR, "step") < 0)
        goto release;
    got++;
    double *work = malloc((size_t)(4 * P) * sizeof(double));
    if (!work) {
        PyErr_NoMemory();
        goto release;
    }
    struct lb_problem pb = {table[q], Np, P, L, bufs[1].buf, bufs[2].buf, bufs[3].buf};
    double *X = bufs[0].buf, *f = bufs[4].buf, *G = bufs[5].buf;
    long long *nit = bufs[6].buf, *nev = bufs[7].buf, *code = bufs[8].buf;
    const double *step = bufs[9].buf;
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < R && rc >= 0; r++) {
        nev[r] = 0;
        rc = code[r] = fo_run(&pb, method, X + r * P, f + r, G + r * P, step[r], max_iter, gtol, zero2, nit + r,
                              nev + r, work);
    }
    Py_END_ALLOW_THREADS
    free(work);
    if (rc < 0)
        PyErr_NoMemory();
    else
        out = Py_NewRef(Py_None);
release:
    while (got > 0)
        PyBuffer_Release(&bufs[--got]);
    return out;
}

static PyMethodDef methods[] = {
    {"cost_and_grad", cost_and_grad, METH_VARARGS,
     "cost_and_grad(X, XT, T, w, q, L, f, G[, simd]): C² and its gradient of R networks into f and G."},
    {"lbfgs", lbfgs, METH_VARARGS,
     "lbfgs(X, XT, T, w, q, L, max_iter, gtol, m, c1, c2, max_ls, maxfun, f, G, n_iter, n_evals, code[, simd]): "
     "L-BFGS from every row of X (overwritten by the end points), run by run; f, G the end values, n_iter, "
     "n_evals and code (int64) the iterations, evaluations and ending of every run."},
    {"first_order", first_order, METH_VARARGS,
     "first_order(X, f, G, step, XT, T, w, q, L, method, max_iter, gtol, zero2, n_iter, n_evals, code[, simd]): "
     "GD (method 0) or Adam (1) from every row of X, whose cost and gradient are in f and G (all three "
     "overwritten by the end values), run by run; step (R,) the first step or learning rate; n_iter, n_evals "
     "(evaluations after the start) and code (int64) the iterations, evaluations and ending of every run."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused",
                                    "Fused C² and gradient kernel for many small ReLU networks.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fused(void)
{
#ifdef HAVE_X86_BUILDS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        KERNELS = KERNELS_8;
        SIMD_WIDTH = 8;
    } else if (__builtin_cpu_supports("avx2")) {
        KERNELS = KERNELS_4;
        SIMD_WIDTH = 4;
    }
#endif
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddIntConstant(m, "MAX_WIDTH", MAX_WIDTH) || PyModule_AddIntConstant(m, "SIMD_WIDTH", SIMD_WIDTH) || PyModule_AddIntConstant(m, "MAX_LAYERS", MAX_LAYERS))) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
