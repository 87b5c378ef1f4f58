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
        VEC a[2][L + 1][Q];              /* the activations of 2 × VW points, layer by layer */
        VEC gW[NSET][L + 1][Q][Q], gb[NSET][L + 1][Q], fr[NSET];   /* lane-wise partial sums */
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
#undef NSET
