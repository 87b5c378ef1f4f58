/* UU consecutive vectors of points (UU · VW points from n0) through every layer and back: included
 * twice by _fused_kernel.h, with UU = 2 (two independent chains of operations in flight, which
 * hides the latency of the additions) and UU = 1 (the last vector).  Every accumulator takes its
 * vectors' contributions in the order of the points, so the sums are those of UU = 1. */
{
    int hh[UU];
    for (int u = 0; u < UU; u++) {
        hh[u] = (int)((n0 / VW + u) % NSET);
        for (int k = 0; k < Q; k++) memcpy(&a[u][0][k], XT + k * Np + n0 + u * VW, sizeof(VEC));
    }
    for (int l = 0; l < L; l++) {               /* hidden layers: a = max(W a + b, 0), NaN kept */
        const double *W = x + l * blk, *b = W + Q * Q;
        for (int i = 0; i < Q; i++) {
            VEC z[UU];
            for (int u = 0; u < UU; u++) z[u] = zero + b[i];
            for (int k = 0; k < Q; k++)
                for (int u = 0; u < UU; u++) z[u] += W[i * Q + k] * a[u][l][k];
            for (int u = 0; u < UU; u++) a[u][l + 1][i] = (VEC)((VECI)z[u] & ~(VECI)(z[u] <= zero));
        }
    }
    VEC g[UU][Q], res[UU][Q];                    /* output layer: residual, cost, its gradient */
    {
        const double *W = x + L * blk, *b = W + Q * Q;
        VEC ww[UU];
        for (int u = 0; u < UU; u++) memcpy(&ww[u], w + n0 + u * VW, sizeof(VEC));
        for (int i = 0; i < Q; i++) {
            VEC z[UU], t;
            for (int u = 0; u < UU; u++) z[u] = zero + b[i];
            for (int k = 0; k < Q; k++)
                for (int u = 0; u < UU; u++) z[u] += W[i * Q + k] * a[u][L][k];
            for (int u = 0; u < UU; u++) {
                memcpy(&t, T + i * Np + n0 + u * VW, sizeof t);
                res[u][i] = z[u] - t;
                g[u][i] = 2.0 * ww[u] * res[u][i];
            }
        }
        for (int u = 0; u < UU; u++)
            for (int i = 0; i < Q; i++) fr[hh[u]] += 0.5 * g[u][i] * res[u][i];
    }
    for (int l = L; l >= 0; l--) {              /* back-propagation */
        const double *W = x + l * blk;
        for (int i = 0; i < Q; i++) {
            for (int u = 0; u < UU; u++) gb[hh[u]][l][i] += g[u][i];
            for (int k = 0; k < Q; k++)
                for (int u = 0; u < UU; u++) gW[hh[u]][l][i][k] += g[u][i] * a[u][l][k];
        }
        if (l) {
            VEC gp[UU][Q];
            for (int k = 0; k < Q; k++) {
                VEC z[UU];
                for (int u = 0; u < UU; u++) z[u] = zero;
                for (int i = 0; i < Q; i++)
                    for (int u = 0; u < UU; u++) z[u] += W[i * Q + k] * g[u][i];
                for (int u = 0; u < UU; u++) gp[u][k] = (VEC)((VECI)z[u] & (VECI)(a[u][l][k] > zero));
            }
            for (int u = 0; u < UU; u++)
                for (int k = 0; k < Q; k++) g[u][k] = gp[u][k];
        }
    }
}
