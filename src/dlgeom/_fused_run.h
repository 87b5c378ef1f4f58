/* The fused kernel's loop over the networks: included twice by _fused_kernel.h, as RUN with SCRATCH
 * declaring the scratch arrays a, gW and gb on the stack (variable-length arrays) or as pointers
 * into ``heap``; the arithmetic is the same text, so the results are the same bytes. */
static TARGET void RUN(Py_ssize_t R, Py_ssize_t Np, int L, const double *restrict Xs, const double *restrict XT,
                       const double *restrict T, const double *restrict w, double *restrict f, double *restrict G,
                       char *heap)
{
    (void)heap;
    const Py_ssize_t blk = Q * Q + Q, P = (Py_ssize_t)(L + 1) * blk;
    const VEC zero = {0};
    for (Py_ssize_t r = 0; r < R; r++) {
        const double *restrict x = Xs + r * P;
        SCRATCH                          /* a: the activations of 2 × VW points, layer by layer */
        VEC fr[NSET];                    /* gW, gb, fr: lane-wise partial sums */
        for (int h = 0; h < NSET; h++) {
            fr[h] = zero;
            for (int l = 0; l <= L; l++)
                for (int i = 0; i < Q; i++) {
                    gb[h][l][i] = zero;
                    for (int k = 0; k < Q; k++) gW[h][l][i][k] = zero;
                }
        }
        Py_ssize_t n0 = 0;
        for (; n0 + 2 * VW <= Np; n0 += 2 * VW)
#define UU 2
#include "_fused_block.h"
#undef UU
        for (; n0 < Np; n0 += VW)
#define UU 1
#include "_fused_block.h"
#undef UU
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
