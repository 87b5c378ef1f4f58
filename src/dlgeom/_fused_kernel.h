/* One specialisation of the fused kernel: included by _fused.c once per width Q and vector type,
 * with Q, VEC (a GCC vector of VW doubles), VECI (its integer mask type), VW and FN defined.
 *
 * A block of 8 points is NSET = 8 / VW vectors; vector h of a block holds points 8b + VW·h + j.
 * Every point is computed on its own (elementwise IEEE operations) and lane j of accumulator set
 * h sums the points with index ≡ VW·h + j (mod 8), so the sums, and the final lane order 0..7, are
 * the same for every VW: the results do not depend on the instruction set. */
#define NSET (8 / VW)
static TARGET void FN(Py_ssize_t R, Py_ssize_t Np, int L, const double *restrict Xs, const double *restrict XT,
                      const double *restrict T, const double *restrict w, double *restrict f, double *restrict G)
{
    const Py_ssize_t blk = Q * Q + Q, P = (Py_ssize_t)(L + 1) * blk;
    const VEC zero = {0};
    for (Py_ssize_t r = 0; r < R; r++) {
        const double *restrict x = Xs + r * P;
        VEC a[L + 1][Q];                 /* the activations of VW points, layer by layer */
        VEC gW[NSET][L + 1][Q][Q], gb[NSET][L + 1][Q], fr[NSET];   /* lane-wise partial sums */
        for (int h = 0; h < NSET; h++) {
            fr[h] = zero;
            for (int l = 0; l <= L; l++)
                for (int i = 0; i < Q; i++) {
                    gb[h][l][i] = zero;
                    for (int k = 0; k < Q; k++) gW[h][l][i][k] = zero;
                }
        }
        for (Py_ssize_t n0 = 0; n0 < Np; n0 += VW) {
            const int h = (int)((n0 / VW) % NSET);
            for (int k = 0; k < Q; k++) memcpy(&a[0][k], XT + k * Np + n0, sizeof(VEC));
            for (int l = 0; l < L; l++) {           /* hidden layers: a = max(W a + b, 0) */
                const double *W = x + l * blk, *b = W + Q * Q;
                for (int i = 0; i < Q; i++) {
                    VEC z = zero + b[i];
                    for (int k = 0; k < Q; k++) z += W[i * Q + k] * a[l][k];
                    a[l + 1][i] = (VEC)((VECI)z & (VECI)(z > zero));
                }
            }
            VEC g[Q];                                /* output layer: residual, cost, its gradient */
            {
                const double *W = x + L * blk, *b = W + Q * Q;
                VEC ww, t;
                memcpy(&ww, w + n0, sizeof ww);
                for (int i = 0; i < Q; i++) {
                    VEC z = zero + b[i];
                    for (int k = 0; k < Q; k++) z += W[i * Q + k] * a[L][k];
                    memcpy(&t, T + i * Np + n0, sizeof t);
                    const VEC res = z - t;
                    g[i] = 2.0 * ww * res;
                    fr[h] += 0.5 * g[i] * res;
                }
            }
            for (int l = L; l >= 0; l--) {          /* back-propagation */
                const double *W = x + l * blk;
                for (int i = 0; i < Q; i++) {
                    gb[h][l][i] += g[i];
                    for (int k = 0; k < Q; k++) gW[h][l][i][k] += g[i] * a[l][k];
                }
                if (l) {
                    VEC gp[Q];
                    for (int k = 0; k < Q; k++) {
                        VEC z = zero;
                        for (int i = 0; i < Q; i++) z += W[i * Q + k] * g[i];
                        gp[k] = (VEC)((VECI)z & (VECI)(a[l][k] > zero));
                    }
                    for (int k = 0; k < Q; k++) g[k] = gp[k];
                }
            }
        }
        double s = 0.0;
        for (int h = 0; h < NSET; h++)
            for (int j = 0; j < VW; j++) s += fr[h][j];
        f[r] = s;
        double *restrict gr = G + r * P;
        for (int l = 0; l <= L; l++)
            for (int i = 0; i < Q; i++) {
                for (int k = 0; k < Q; k++) {
                    s = 0.0;
                    for (int h = 0; h < NSET; h++)
                        for (int j = 0; j < VW; j++) s += gW[h][l][i][k][j];
                    gr[l * blk + i * Q + k] = s;
                }
                s = 0.0;
                for (int h = 0; h < NSET; h++)
                    for (int j = 0; j < VW; j++) s += gb[h][l][i][j];
                gr[l * blk + Q * Q + i] = s;
            }
    }
}
#undef NSET
