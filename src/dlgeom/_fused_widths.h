/* The fused kernel for every width Q = 1..MAX_WIDTH at one vector type (VEC, VW, TARGET): included by _fused.c. */
#define Q 1
#define FN PASTE(cg_, VW, _1)
#include "_fused_kernel.h"
#undef Q
#undef FN
#define Q 2
#define FN PASTE(cg_, VW, _2)
#include "_fused_kernel.h"
#undef Q
#undef FN
#define Q 3
#define FN PASTE(cg_, VW, _3)
#include "_fused_kernel.h"
#undef Q
#undef FN
#define Q 4
#define FN PASTE(cg_, VW, _4)
#include "_fused_kernel.h"
#undef Q
#undef FN
#define Q 5
#define FN PASTE(cg_, VW, _5)
#include "_fused_kernel.h"
#undef Q
#undef FN
#define Q 6
#define FN PASTE(cg_, VW, _6)
#include "_fused_kernel.h"
#undef Q
#undef FN
#define Q 7
#define FN PASTE(cg_, VW, _7)
#include "_fused_kernel.h"
#undef Q
#undef FN
#define Q 8
#define FN PASTE(cg_, VW, _8)
#include "_fused_kernel.h"
#undef Q
#undef FN
