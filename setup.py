"""The compiled part of dlgeom: the fused landscape kernel (src/dlgeom/_fused.c) and the pattern
analysis's least-squares moments (src/dlgeom/_fused_patterns.c).  Everything else is in pyproject.toml.
Both extensions are optional: without a C compiler dlgeom installs without them, the landscape's
'fused' engine says so (the 'batched' and 'sequential' engines need no compiler) and the pattern
analysis runs its numpy version (equal to rounding)."""

from setuptools import Extension, setup

FLAGS = ["-O3", "-ffp-contract=off", "-std=c11", "-Wno-psabi"]
HEADERS = [
    "src/dlgeom/_fused_kernel.h",
    "src/dlgeom/_fused_widths.h",
    "src/dlgeom/_fused_run.h",
    "src/dlgeom/_fused_lbfgs.h",
    "src/dlgeom/_fused_first_order.h",
]
PATTERN_HEADERS = ["src/dlgeom/_fused_patterns_body.h"]

setup(
    ext_modules=[
        Extension("dlgeom._fused", ["src/dlgeom/_fused.c"], depends=HEADERS, extra_compile_args=FLAGS, optional=True),
        Extension(
            "dlgeom._fused_patterns",
            ["src/dlgeom/_fused_patterns.c"],
            depends=PATTERN_HEADERS,
            extra_compile_args=FLAGS,
            optional=True,
        ),
    ]
)
