/* One specialisation of the fused kernel: included by _fused.c once per width Q and vector type,
 * with Q, VEC (a GCC vector of VW doubles), VECI (its integer mask type), VW and FN defined.
 *
 * A block of 8 points is NSET = 8 / VW vectors; vector h of a block holds points 8b + VW·h + j.
 * Every point is computed on its own (elementwise IEEE operations) and lane j of accumulator set
 * h sums the points with index ≡ VW·h + j (mod 8), so the sums, and the final lane order 0..7, are
 * the same for every VW: the results do not depend on the instruction set. */
#define NSET (8 / VW)
/* CH vectors of points a chunk (see _fused_run.h), stored CHS apart: with a stride of a power of two
 * the activations of consecutive layers sit 4 KiB apart at Q = 4 and the loads wait on the stores
 * (4K aliasing; measured twice as slow). */
#define CH 16
#define CHS (CH + 1)
#define SIZE_A sizeof(VEC[L + 1][Q][CHS])
#define SIZE_GG sizeof(VEC[2][Q][CHS])
#define SIZE_GW sizeof(VEC[NSET][L + 1][Q][Q])
#define SIZE_GB sizeof(VEC[NSET][L + 1][Q])

#define RUN PASTE(FN, _stack, )
#define SCRATCH VEC a[L + 1][Q][CHS], gg[2][Q][CHS]; VEC gW[NSET][L + 1][Q][Q], gb[NSET][L + 1][Q];
#include "_fused_run.h"
#undef RUN
#undef SCRATCH
#define RUN PASTE(FN, _heap, )
#define SCRATCH VEC (*restrict a)[Q][CHS] = (void *)heap; \
    VEC (*restrict gg)[Q][CHS] = (void *)(heap + SIZE_A); \
    VEC (*restrict gW)[L + 1][Q][Q] = (void *)(heap + SIZE_A + SIZE_GG); \
    VEC (*restrict gb)[L + 1][Q] = (void *)(heap + SIZE_A + SIZE_GG + SIZE_GW);
#include "_fused_run.h"
#undef RUN
#undef SCRATCH

/* The scratch space on the stack up to SCRATCH_ON_STACK bytes (the networks of the study), else on
 * the heap (up to a few MB at Q = 8, L = 64): no call needs more than that of a thread's stack. */
static TARGET int FN(Py_ssize_t R, Py_ssize_t Np, int L, const double *restrict Xs, const double *restrict XT,
                     const double *restrict T, const double *restrict w, double *restrict f, double *restrict G)
{
    const size_t size = (SIZE_A + SIZE_GG + SIZE_GW + SIZE_GB + 63) / 64 * 64;
    if (size <= SCRATCH_ON_STACK) {
        PASTE(FN, _stack, )(R, Np, L, Xs, XT, T, w, f, G, NULL);
        return 0;
    }
    char *heap = aligned_alloc(64, size);
    if (!heap)
        return -1;
    PASTE(FN, _heap, )(R, Np, L, Xs, XT, T, w, f, G, heap);
    free(heap);
    return 0;
}
#undef SIZE_A
#undef SIZE_GG
#undef CH
#undef CHS
#undef SIZE_GW
#undef SIZE_GB
#undef NSET
