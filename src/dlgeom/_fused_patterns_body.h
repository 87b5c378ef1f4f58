/* dlgeom._fused_patterns: the kernels' bodies, included once per instruction set by _fused_patterns.c with
 *   SFX       a suffix for the function names (_base, _avx2, _avx512)
 *   TARGET    the function attribute of that instruction set (empty for the baseline)
 *   FMA8      FMA8(w, a, z): fma(w, a[k], z[k]) on every lane k of the 8-double vectors a and z
 * The bodies take q as an argument; the wrappers pass constants 1..8, so that the compiler unrolls the
 * loops over units and keeps the vectors in registers.  Every build does the same operations in the
 * same order (one correctly rounded fma per multiply-add, contraction off otherwise): the same bytes. */

#define NAME_(a, b) a##b
#define NAME(a, b) NAME_(a, b)

TARGET static inline __attribute__((always_inline)) void NAME(moments_body, SFX)(
    Py_ssize_t M, Py_ssize_t N, const int q, int L, const double *XT, const double *W, const double *B,
    const double *w, const double *sw, const double *Tc, double *H, double *G, double *C)
{
    double wsum = 0.0;
    for (Py_ssize_t n = 0; n < N; n++)
        wsum += w[n];
    for (Py_ssize_t m = 0; m < M; m++) {
        const double *b = B + m * L * q;
        double *h = H + m * q * N;
        v8 msum[MAX_WIDTH];
        for (int i = 0; i < q; i++)
            msum[i] = (v8){0};
        /* pass 1: the last hidden layer z_n of 8 points at a time, and Σ_n w_n z_n */
        for (Py_ssize_t n0 = 0; n0 < N; n0 += LANES) {
            const int nc = N - n0 < LANES ? (int)(N - n0) : LANES;
            v8 a[MAX_WIDTH], z[MAX_WIDTH];
            for (int i = 0; i < q; i++)
                a[i] = load8(XT + i * N + n0, nc);
            for (int l = 0; l < L; l++) {
                const double *Wl = W + (Py_ssize_t)l * q * q;
                /* unit i: fma(W_i,q−1, a_q−1, … fma(W_i1, a_1, W_i0 a_0)) + b_i, the order of the BLAS
                 * products of the sequential code.  The fused multiply-adds matter: in the layers of
                 * ill-conditioned cones (θ near π) large products cancel, and rounding every product
                 * made the central differences dC²/dμ several times noisier than the sequential code's. */
                for (int i = 0; i < q; i++)
                    z[i] = Wl[i * q] * a[0];
                for (int j = 1; j < q; j++)
                    for (int i = 0; i < q; i++)
                        z[i] = FMA8(Wl[i * q + j], a[j], z[i]);
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
        v8 g[MAX_WIDTH * MAX_WIDTH], c[MAX_WIDTH * MAX_WIDTH];
        for (int i = 0; i < q * q; i++)
            g[i] = c[i] = (v8){0};
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

TARGET static inline __attribute__((always_inline)) void NAME(residuals_body, SFX)(
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

#define WIDTH(Q) \
    TARGET static void NAME(moments_##Q, SFX)(MOMENTS_ARGS) \
    { NAME(moments_body, SFX)(M, N, Q, L, XT, W, B, w, sw, Tc, H, G, C); } \
    TARGET static void NAME(residuals_##Q, SFX)(RESIDUALS_ARGS) { NAME(residuals_body, SFX)(M, N, Q, H, A, Tc, v); }
WIDTH(1)
WIDTH(2)
WIDTH(3)
WIDTH(4)
WIDTH(5)
WIDTH(6)
WIDTH(7)
WIDTH(8)
#undef WIDTH

TARGET static void NAME(moments_any, SFX)(Py_ssize_t M, Py_ssize_t N, int q, MOMENTS_ARGS_Q)
{
    NAME(moments_body, SFX)(M, N, q, L, XT, W, B, w, sw, Tc, H, G, C);
}

TARGET static void NAME(residuals_any, SFX)(Py_ssize_t M, Py_ssize_t N, int q, RESIDUALS_ARGS_Q)
{
    NAME(residuals_body, SFX)(M, N, q, H, A, Tc, v);
}

static const struct kernels NAME(KERNELS, SFX) = {
    {NULL, NAME(moments_1, SFX), NAME(moments_2, SFX), NAME(moments_3, SFX), NAME(moments_4, SFX),
     NAME(moments_5, SFX), NAME(moments_6, SFX), NAME(moments_7, SFX), NAME(moments_8, SFX)},
    {NULL, NAME(residuals_1, SFX), NAME(residuals_2, SFX), NAME(residuals_3, SFX), NAME(residuals_4, SFX),
     NAME(residuals_5, SFX), NAME(residuals_6, SFX), NAME(residuals_7, SFX), NAME(residuals_8, SFX)},
    NAME(moments_any, SFX), NAME(residuals_any, SFX)};

#undef NAME
#undef NAME_
