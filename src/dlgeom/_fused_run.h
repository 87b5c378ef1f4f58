/* The fused kernel's loop over the networks: included twice by _fused_kernel.h, as RUN with SCRATCH
 * declaring the scratch arrays a, gg, gW and gb on the stack (variable-length arrays) or as pointers
 * into ``heap``; the arithmetic is the same text, so the results are the same bytes.
 *
 * The points go through in chunks of CH vectors: the forward pass of a chunk keeps every layer's
 * activations (a), then the backward pass runs layer by layer over the chunk, one output unit i at
 * a time, with that unit's gradient sums in registers for the whole chunk (gg holds the chunk's
 * back-propagated signal).  Every sum still takes its points' contributions in the order of the
 * points, and every point is computed on its own, so the values are those of one point at a time. */
static TARGET void RUN(Py_ssize_t R, Py_ssize_t Np, int L, const double *restrict Xs, const double *restrict XT,
                       const double *restrict T, const double *restrict w, double *restrict f, double *restrict G,
                       char *heap)
{
    (void)heap;
    const Py_ssize_t blk = Q * Q + Q, P = (Py_ssize_t)(L + 1) * blk, NV = Np / VW;
    const VEC zero = {0};
    for (Py_ssize_t r = 0; r < R; r++) {
        const double *restrict x = Xs + r * P;
        SCRATCH
        VEC fr[NSET];                    /* gW, gb, fr: lane-wise partial sums, set h = vector index mod NSET */
        for (int h = 0; h < NSET; h++) {
            fr[h] = zero;
            for (int l = 0; l <= L; l++)
                for (int i = 0; i < Q; i++) {
                    gb[h][l][i] = zero;
                    for (int k = 0; k < Q; k++) gW[h][l][i][k] = zero;
                }
        }
        for (Py_ssize_t v0 = 0; v0 < NV; v0 += CH) {
            const int nv = (int)(NV - v0 < CH ? NV - v0 : CH);  /* a multiple of NSET: Np is one of 8 */
            for (int k = 0; k < Q; k++)
                for (int v = 0; v < nv; v++) memcpy(&a[0][k][v], XT + k * Np + (v0 + v) * VW, sizeof(VEC));
            for (int l = 0; l < L; l++) {           /* hidden layers: a = max(W a + b, 0), NaN kept */
                const double *W = x + l * blk, *b = W + Q * Q;
                for (int i = 0; i < Q; i++)
                    for (int v = 0; v < nv; v++) {
                        VEC z = zero + b[i];
                        for (int k = 0; k < Q; k++) z += W[i * Q + k] * a[l][k][v];
                        a[l + 1][i][v] = (VEC)((VECI)z & ~(VECI)(z <= zero));
                    }
            }
            {                                        /* output layer: residual, cost, its gradient */
                const double *W = x + L * blk, *b = W + Q * Q;
                for (int v = 0; v < nv; v++) {
                    VEC ww, res[Q];
                    memcpy(&ww, w + (v0 + v) * VW, sizeof ww);
                    for (int i = 0; i < Q; i++) {
                        VEC z = zero + b[i], t;
                        for (int k = 0; k < Q; k++) z += W[i * Q + k] * a[L][k][v];
                        memcpy(&t, T + i * Np + (v0 + v) * VW, sizeof t);
                        res[i] = z - t;
                        gg[0][i][v] = 2.0 * ww * res[i];
                    }
                    const int h = (int)(v % NSET);
                    for (int i = 0; i < Q; i++) fr[h] += 0.5 * gg[0][i][v] * res[i];
                }
            }
            int cur = 0;
            for (int l = L; l >= 0; l--) {           /* back-propagation */
                const double *W = x + l * blk;
                for (int i = 0; i < Q; i++) {
                    VEC sb[NSET], sw[NSET][Q];
                    for (int h = 0; h < NSET; h++) {
                        sb[h] = gb[h][l][i];
                        for (int k = 0; k < Q; k++) sw[h][k] = gW[h][l][i][k];
                    }
                    for (int v = 0; v < nv; v += NSET)
                        for (int h = 0; h < NSET; h++) {
                            const VEC gi = gg[cur][i][v + h];
                            sb[h] += gi;
                            for (int k = 0; k < Q; k++) sw[h][k] += gi * a[l][k][v + h];
                        }
                    for (int h = 0; h < NSET; h++) {
                        gb[h][l][i] = sb[h];
                        for (int k = 0; k < Q; k++) gW[h][l][i][k] = sw[h][k];
                    }
                }
                if (l) {
                    for (int v = 0; v < nv; v++)
                        for (int k = 0; k < Q; k++) {
                            VEC z = zero;
                            for (int i = 0; i < Q; i++) z += W[i * Q + k] * gg[cur][i][v];
                            gg[1 - cur][k][v] = (VEC)((VECI)z & (VECI)(a[l][k][v] > zero));
                        }
                    cur = 1 - cur;
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
