"""The compiled part of dlgeom: the fused landscape kernel (src/dlgeom/_fused.c).  Everything else
is in pyproject.toml.  The extension is optional: without a C compiler dlgeom installs without it,
and the landscape's 'fused' engine says so (the 'batched' and 'sequential' engines need no compiler)."""

from setuptools import Extension, setup

HEADERS = ["src/dlgeom/_fused_kernel.h", "src/dlgeom/_fused_widths.h", "src/dlgeom/_fused_block.h",
           "src/dlgeom/_fused_run.h"]

setup(ext_modules=[Extension("dlgeom._fused", ["src/dlgeom/_fused.c"], depends=HEADERS,
                             extra_compile_args=["-O3", "-ffp-contract=off", "-std=c11", "-Wno-psabi"],
                             optional=True)])
