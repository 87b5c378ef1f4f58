/* L-BFGS in C beside the fused kernel: included by _fused.c after the kernel tables, once per
 * vector type (VW, TARGET, as the kernels), so that its vector operations use the same instructions.
 *
 * One run at a time from its start to its end, calling the kernel on that one network, so a run's
 * trajectory does not depend on the other runs of the call (there is no batch to keep full: the
 * next start follows as soon as a run ends).  The algorithm is dlgeom.batched._lbfgs step by step:
 * the two-loop recursion over a memory of m pairs (H₀ = γI, γ = sᵀy / yᵀy of the newest pair), a
 * non-descent direction forgets the memory and takes −∇; first step 1/|d| (at most 1e10), then 1;
 * strong-Wolfe line search (c₁, c₂) by doubling and bisection, at most max_ls evaluations, a bracket
 * narrower than 10 % takes its best point; a failed line search clears the memory and retries
 * along −∇, failing again with an empty memory ends the run; a pair is stored where
 * s·y > ε·(−s·∇); the same stopping tests in the same order.  Elementwise operations and dot
 * products in 8 partial sums of a fixed order, contraction off: the same bytes in every build.
 *
 * Each run ends with a code (LB_*, below); statuses and messages are given to them in Python.  A run
 * meeting a non-finite cost or gradient ends with LB_NONFINITE at once, and Python reruns it with
 * the numpy loop, whose evaluation of such points follows the numpy kernel. */
#ifndef LB_CODES
#define LB_CODES
enum {
    LB_NONFINITE = 0,     /* a non-finite value: rerun in Python */
    LB_START_GTOL = 1,    /* max|∇| ≤ gtol at the start */
    LB_LS_FAILED = 2,     /* line search failed with an empty memory */
    LB_MAX_ITER = 3,      /* max_iter iterations */
    LB_MAX_EVALS = 4,     /* more than maxfun evaluations */
    LB_GTOL = 5,          /* max|∇| ≤ gtol */
    LB_NO_REDUCTION = 6,  /* a step left C² unchanged */
    LB_NO_MEMORY = -1,    /* out of memory (the whole call fails) */
};

struct lb_problem {
    kernel_fn kernel;
    Py_ssize_t Np, P;
    int L;
    const double *XT, *T, *w;
};

/* One evaluation of C² and its gradient at x; -1 if the kernel ran out of memory. */
static int lb_eval(const struct lb_problem *pb, const double *x, double *f, double *g, long long *n_evals)
{
    ++*n_evals;
    return pb->kernel(1, pb->Np, pb->L, x, pb->XT, pb->T, pb->w, f, g);
}
#endif

#define lb_dot PASTE(lb_dot_, VW, )
#define lb_finite PASTE(lb_finite_, VW, )
#define lb_maxabs PASTE(lb_maxabs_, VW, )
#define lb_run PASTE(lb_run_, VW, )

/* a·b in 8 partial sums (element i goes to sum i mod 8, then the sums in order 0..7): independent
 * additions in flight, and one fixed order whatever the compiler makes of the loop. */
static TARGET double lb_dot(const double *restrict a, const double *restrict b, Py_ssize_t n)
{
    double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) p[j] += a[i + j] * b[i + j];
    for (int j = 0; i + j < n; j++) p[j] += a[i + j] * b[i + j];
    double s = 0.0;
    for (int j = 0; j < 8; j++) s += p[j];
    return s;
}

static TARGET int lb_finite(double f, const double *g, Py_ssize_t n)
{
    double s = f;
    for (Py_ssize_t i = 0; i < n; i++) s += 0.0 * g[i];  /* NaN or inf anywhere makes s NaN */
    return isfinite(s);
}

static TARGET double lb_maxabs(const double *g, Py_ssize_t n)
{
    double m = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) m = fabs(g[i]) > m ? fabs(g[i]) : m;
    return m;
}

/* One run from x (in place, the end point on return), f and g its end values; work: 2mP + 5P
 * doubles, sy and alpha m doubles each.  Returns an LB_ code. */
static TARGET int lb_run(const struct lb_problem *pb, double *restrict x, double *restrict f_out, double *restrict g,
                  long long *nit_out, long long *n_evals, int max_iter, double gtol, int m, double c1, double c2,
                  int max_ls, long long maxfun, double *restrict work, double *restrict sy, double *restrict alpha,
                  double *restrict yy)
{
    const Py_ssize_t P = pb->P;
    double *restrict S = work, *restrict Y = work + (Py_ssize_t)m * P;
    double *restrict d = Y + (Py_ssize_t)m * P, *restrict xt = d + P, *restrict gt = xt + P;
    double *restrict x_new = gt + P, *restrict g_new = x_new + P;
    const double eps = 2.220446049250313e-16;
    double f, ft, f_new;
    int count = 0, head = 0;
    long long nit = 0;
    int code;
    if (lb_eval(pb, x, &f, g, n_evals) < 0)
        return LB_NO_MEMORY;
    if (!lb_finite(f, g, P)) {
        code = LB_NONFINITE;
        goto end;
    }
    if (lb_maxabs(g, P) <= gtol) {
        code = LB_START_GTOL;
        goto end;
    }
    for (;;) {
        /* the direction: two-loop recursion, newest pair to oldest and back */
        for (Py_ssize_t i = 0; i < P; i++) d[i] = g[i];
        for (int k = 0; k < count; k++) {
            const int slot = ((head - 1 - k) % m + m) % m;
            alpha[k] = lb_dot(S + slot * P, d, P) / sy[slot];
            const double a = alpha[k], *restrict y = Y + slot * P;
            for (Py_ssize_t i = 0; i < P; i++) d[i] -= a * y[i];
        }
        const int newest = ((head - 1) % m + m) % m;
        const double gamma = count > 0 ? sy[newest] / yy[newest] : 1.0;
        for (Py_ssize_t i = 0; i < P; i++) d[i] = gamma * d[i];
        for (int k = count - 1; k >= 0; k--) {
            const int slot = ((head - 1 - k) % m + m) % m;
            const double b = lb_dot(Y + slot * P, d, P) / sy[slot], c = alpha[k] - b, *restrict s = S + slot * P;
            for (Py_ssize_t i = 0; i < P; i++) d[i] += c * s[i];
        }
        for (Py_ssize_t i = 0; i < P; i++) d[i] = -d[i];
        double gd = lb_dot(g, d, P);
        if (!(gd < 0)) {  /* not a descent direction: forget the memory */
            count = 0;
            for (Py_ssize_t i = 0; i < P; i++) d[i] = -g[i];
            gd = lb_dot(g, d, P);
        }
        double t = 1.0;
        if (nit == 0) {
            const double dn = sqrt(lb_dot(d, d, P));
            t = 1.0 / (dn > 1e-300 ? dn : 1e-300);
            t = t < 1e10 ? t : 1e10;
        }
        /* strong-Wolfe line search; x_new, f_new, g_new: the accepted (or best) point */
        double lo = 0.0, hi = INFINITY;
        int done = 0;
        memcpy(x_new, x, P * sizeof(double));
        memcpy(g_new, g, P * sizeof(double));
        f_new = f;
        for (int ls = 0; ls < max_ls; ls++) {
            for (Py_ssize_t i = 0; i < P; i++) xt[i] = x[i] + t * d[i];
            if (lb_eval(pb, xt, &ft, gt, n_evals) < 0)
                return LB_NO_MEMORY;
            if (!lb_finite(ft, gt, P)) {
                code = LB_NONFINITE;
                goto end;
            }
            const double slope = lb_dot(gt, d, P);
            const int armijo = ft <= f + c1 * t * gd;
            const int ok = armijo && fabs(slope) <= -c2 * gd;
            if (ok || (armijo && ft < f_new)) {
                memcpy(x_new, xt, P * sizeof(double));
                memcpy(g_new, gt, P * sizeof(double));
                f_new = ft;
            }
            if (ok) {
                done = 1;
                break;
            }
            if (armijo && slope < 0)  /* still steeply downhill */
                lo = t;
            else
                hi = t;
            if (isfinite(hi) && hi - lo <= 0.1 * hi) {  /* a tight bracket: take the best point */
                done = 1;
                break;
            }
            t = isinf(hi) ? 2.0 * lo : 0.5 * (lo + hi);
        }
        if (!done) {
            if (count == 0) {  /* failed with an empty memory: end at the current point */
                code = LB_LS_FAILED;
                goto end;
            }
            count = 0;  /* retry along −∇ (from the best point found, as the numpy loop) */
        }
        /* the new pair replaces the oldest one where the curvature s·y is clearly positive */
        if (done) {  /* xt, gt: s and y (the slot at head may hold the oldest pair until it is replaced) */
            for (Py_ssize_t i = 0; i < P; i++) {
                xt[i] = x_new[i] - x[i];
                gt[i] = g_new[i] - g[i];
            }
            const double syv = lb_dot(xt, gt, P);
            if (syv > eps * -lb_dot(xt, g, P)) {
                memcpy(S + head * P, xt, P * sizeof(double));
                memcpy(Y + head * P, gt, P * sizeof(double));
                sy[head] = syv;
                yy[head] = lb_dot(gt, gt, P);
                head = (head + 1) % m;
                count = count + 1 < m ? count + 1 : m;
            }
        }
        const double f_old = f;
        memcpy(x, x_new, P * sizeof(double));
        memcpy(g, g_new, P * sizeof(double));
        f = f_new;
        nit += done;
        if (done && nit >= max_iter) {
            code = LB_MAX_ITER;
            goto end;
        }
        if (*n_evals > maxfun) {
            code = LB_MAX_EVALS;
            goto end;
        }
        if (done && lb_maxabs(g, P) <= gtol) {
            code = LB_GTOL;
            goto end;
        }
        const double scale = fmax(fmax(fabs(f_old), fabs(f)), 1.0);
        if (done && f_old - f <= 1e-30 * scale) {
            code = LB_NO_REDUCTION;
            goto end;
        }
    }
end:
    *f_out = f;
    *nit_out = nit;
    return code;
}
#undef lb_dot
#undef lb_finite
#undef lb_maxabs
#undef lb_run
