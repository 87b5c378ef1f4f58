/* Gradient descent and Adam in C beside the fused kernel: included once by _fused.c after the
 * kernel tables (the driver's own arithmetic is elementwise; the kernel of the chosen vector width
 * comes in through struct lb_problem).
 *
 * One run at a time from its start to its end, as dlgeom.batched._first_order takes every run: the
 * same tests in the same order at the top of every iteration (C² ≤ zero level, then |∇| ≤ gtol),
 * the same steps, each an IEEE operation in the order numpy evaluates the expression (contraction
 * off), and the kernel on that one network, which gives the bytes it gives in a batch.  So a run's
 * end point is the numpy loop's on the fused kernel bit for bit, except where |∇| lies within
 * rounding of gtol: |∇| is summed here in 8 partial sums, there by a BLAS dot.
 *
 *   gd    x ← x − s∇ from the run's step s (0.2 / λ_max, found in Python), accepted where the new
 *         cost is finite and not above the old one, else s halves and the step is retried, at
 *         most 60 times (then the run ends: 'no descent step found');
 *   adam  m ← β₁m + (1 − β₁)∇, v ← β₂v + (1 − β₂)∇∇, x ← x − s (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε),
 *         β₁ = 0.9, β₂ = 0.999, ε = 1e-12, s the learning rate.
 *
 * A run that meets a non-finite cost or gradient ends with FO_NONFINITE at once; Python reruns it
 * with the numpy loop, whose evaluation of such points follows the numpy kernel. */
enum {
    FO_NONFINITE = 0,   /* a non-finite value: rerun in Python */
    FO_ZERO = 1,        /* C² ≤ the zero level */
    FO_GTOL = 2,        /* |∇| ≤ gtol */
    FO_NO_DESCENT = 3,  /* GD: 60 halvings of the step found no descent */
    FO_MAX_ITER = 4,    /* max_iter iterations */
    FO_NO_MEMORY = -1,  /* out of memory (the whole call fails) */
};

/* |g|, in the 8 partial sums of lb_dot (the baseline build: the same bytes as every other) */
static double fo_norm(const double *restrict g, Py_ssize_t n)
{
    return sqrt(lb_dot_2(g, g, n));
}

/* One evaluation of C² and its gradient at xt into *ft, gt: FO_OK, FO_NONFINITE where a value is
 * not finite, FO_NO_MEMORY where the kernel ran out of memory. */
#define FO_OK 1000
static int fo_eval(const struct lb_problem *pb, const double *xt, double *ft, double *gt, long long *n_evals)
{
    if (lb_eval(pb, xt, ft, gt, n_evals) < 0)
        return FO_NO_MEMORY;
    return lb_finite_2(*ft, gt, pb->P) ? FO_OK : FO_NONFINITE;
}

/* One run: x, *f, g hold its start, its cost and gradient there, and on return its end;
 * work: 4P doubles.  method 0 is GD, 1 Adam; step: GD's first step or Adam's learning rate.
 * Returns an FO_ code; *nit_out the iteration at which the run ended. */
static int fo_run(const struct lb_problem *pb, int method, double *restrict x, double *restrict f_io,
                  double *restrict g, double step, int max_iter, double gtol, double zero2, long long *nit_out,
                  long long *n_evals, double *restrict work)
{
    const Py_ssize_t P = pb->P;
    double *restrict xt = work, *restrict gt = work + P, *restrict mv = work + 2 * P;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-12, c1 = 1 - b1, c2 = 1 - b2;
    double f = *f_io, ft;
    int code = FO_MAX_ITER;
    long long nit = max_iter;
    if (!lb_finite_2(f, g, P)) {
        *nit_out = 1;
        return FO_NONFINITE;
    }
    if (method == 1)
        for (Py_ssize_t i = 0; i < 2 * P; i++) mv[i] = 0.0;  /* m, then v */
    for (int it = 1; it <= max_iter; it++) {
        if (f <= zero2) {
            code = FO_ZERO;
            nit = it;
            break;
        }
        if (fo_norm(g, P) <= gtol) {
            code = FO_GTOL;
            nit = it;
            break;
        }
        int e = FO_NO_DESCENT;  /* GD: the ending if no trial step is taken */
        if (method == 0) {
            for (int tries = 0; tries < 60; tries++) {
                for (Py_ssize_t i = 0; i < P; i++) xt[i] = x[i] - step * g[i];
                if ((e = fo_eval(pb, xt, &ft, gt, n_evals)) != FO_OK)
                    break;
                if (ft <= f)
                    break;
                e = FO_NO_DESCENT;
                step *= 0.5;
            }
        } else {
            double *restrict m = mv, *restrict v = mv + P;
            const double bc1 = 1 - pow(b1, it), bc2 = 1 - pow(b2, it);
            for (Py_ssize_t i = 0; i < P; i++) {
                m[i] = b1 * m[i] + c1 * g[i];
                v[i] = b2 * v[i] + c2 * g[i] * g[i];
                xt[i] = x[i] - step * (m[i] / bc1) / (sqrt(v[i] / bc2) + eps);
            }
            e = fo_eval(pb, xt, &ft, gt, n_evals);
        }
        if (e != FO_OK) {
            code = e;
            nit = it;
            break;
        }
        memcpy(x, xt, P * sizeof(double));
        memcpy(g, gt, P * sizeof(double));
        f = ft;
    }
    *f_io = f;
    *nit_out = nit;
    return code;
}
