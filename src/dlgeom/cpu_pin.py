"""The same arithmetic on every x86-64 CPU with AVX2: the OpenBLAS kernel and numpy's SIMD dispatch
are pinned before numpy loads.

Two libraries pick machine code for the CPU they run on, and their choices round differently in the
last bit, which the study's chaotic parts (optimiser end points) turn into other tables:

* OpenBLAS (bundled by the numpy and scipy wheels, one copy each) picks its kernels: SkylakeX on an
  AVX-512 Xeon, Haswell on most AVX2 machines, Zen on AMD.  Both copies read
  ``OPENBLAS_CORETYPE`` once, when loaded; the pin is :data:`OPENBLAS_PIN`.
* numpy (≥ 2.4) dispatches its own loops (``exp``, ``log``, reductions, …) to the best of its
  targets X86_V3 (AVX2), X86_V4 and AVX512_ICL/SPR (AVX-512); ``NPY_ENABLE_CPU_FEATURES`` limits it
  to :data:`NUMPY_PIN`.  Measured here: the tiny study with the AVX-512 targets off differs from
  one with them on in 27 of its 58 tables and figures.

:func:`pin` sets both variables before anything imports numpy: ``dlgeom/__init__`` imports this
module first, and every study job, the command line and the tests import dlgeom; the jobs
Snakemake starts (locally or on a cluster) inherit the variables.  The pin is set only where it
can run: Linux on an x86-64 CPU with the x86-64-v3 features (AVX2, FMA, BMI1/2, F16C, MOVBE,
LZCNT: Intel since 2013, AMD since 2015).  Elsewhere (older CPUs, ARM, macOS, Windows) both
libraries choose as usual, the bytes may differ from the committed reference, and ``dlgeom
verify`` checks the contract of docs/studies.md instead.  A value the user set is kept; a value
this module set in a parent process on another machine (a cluster node without AVX2) is removed.
"""

from __future__ import annotations

import os
import platform

#: The OpenBLAS kernel the committed results are built with.
OPENBLAS_PIN = ("OPENBLAS_CORETYPE", "Haswell")
#: numpy's dispatch level of the committed results (the names of numpy ≥ 2.4).
NUMPY_PIN = ("NPY_ENABLE_CPU_FEATURES", "X86_V3")
#: What both pins need from the CPU (``/proc/cpuinfo`` names; ``abm`` is LZCNT).
REQUIRED_FLAGS = ("avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm")
#: Lists the variables of the pin that this module (not the user) set, with their values.
MARKER = "DLGEOM_CPU_PIN"


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags as Linux names them, or an empty set where they cannot be read."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def can_pin(machine: str | None = None, flags: frozenset[str] | None = None) -> bool:
    """True when this CPU runs the pinned code: x86-64 with the x86-64-v3 features."""
    if (machine or platform.machine()).lower() not in ("x86_64", "amd64"):
        return False
    flags = cpu_flags() if flags is None else flags
    return all(f in flags for f in REQUIRED_FLAGS)


def _numpy_version() -> str | None:
    """The installed numpy's version without importing numpy: its ``numpy/version.py`` (read as
    text; importing ``importlib.metadata`` costs every job a tenth of its start-up), else the
    package metadata."""
    import importlib.util
    import re

    try:
        spec = importlib.util.find_spec("numpy")
        if spec is not None and spec.origin:
            with open(os.path.join(os.path.dirname(spec.origin), "version.py"), encoding="utf-8") as fh:
                m = re.search(r"""^version(?:\s*:\s*str)?\s*=\s*["']([^"']+)["']""", fh.read(), re.M)
            if m:
                return m.group(1)
    except (OSError, ImportError, ValueError):
        pass
    from importlib import metadata

    try:
        return metadata.version("numpy")
    except metadata.PackageNotFoundError:
        return None


def _numpy_knows_x86_v3() -> bool:
    """numpy ≥ 2.4 names its dispatch levels X86_V3/X86_V4; older numpy would warn on the name."""
    try:
        major, minor = (int(p) for p in (_numpy_version() or "").split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (2, 4)


def pin(
    environ=None, machine: str | None = None, flags: frozenset[str] | None = None, numpy_names: bool | None = None
) -> dict[str, str]:
    """Set the pin's variables in ``environ`` (default ``os.environ``) unless the user set them, and
    return the variables of the pin in force afterwards.  Takes effect only if numpy and scipy are
    imported afterwards."""
    environ = os.environ if environ is None else environ
    ours = dict(item.split("=", 1) for item in environ.get(MARKER, "").split(",") if "=" in item)
    for name, value in ours.items():  # set by a parent process: decide again here
        if environ.get(name) == value:
            environ.pop(name)
    wanted = [OPENBLAS_PIN]
    if numpy_names if numpy_names is not None else _numpy_knows_x86_v3():
        wanted.append(NUMPY_PIN)
    set_here = {}
    if can_pin(machine, flags):
        for name, value in wanted:
            if not environ.get(name):
                environ[name] = set_here[name] = value
    if set_here:
        environ[MARKER] = ",".join(f"{k}={v}" for k, v in set_here.items())
    else:
        environ.pop(MARKER, None)
    return {name: environ[name] for name in (OPENBLAS_PIN[0], NUMPY_PIN[0]) if environ.get(name)}


def blas_kernels() -> list[dict]:
    """The BLAS libraries loaded in this process, each with the kernel that actually runs, as
    threadpoolctl (a scikit-learn dependency) reports them; empty without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {
            "library": os.path.basename(i.get("filepath") or ""),
            "version": i.get("version"),
            "kernel": i.get("architecture"),
        }
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]


def numpy_dispatch() -> list[str]:
    """numpy's dispatch targets enabled in this process (empty where numpy does not say)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        try:  # numpy < 2
            from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        except ImportError:
            return []
    return [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]


def machine_report() -> dict:
    """The machine details that do not go into committed files: CPU model and flags, the pin, the
    BLAS kernels and numpy dispatch actually in force (for run logs and ``dlgeom verify``)."""
    import numpy  # noqa: F401 - loads numpy's BLAS
    import scipy.linalg  # noqa: F401 - loads scipy's BLAS

    model = None
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            model = next((ln.partition(":")[2].strip() for ln in fh if ln.startswith("model name")), None)
    except OSError:
        pass
    flags = cpu_flags()
    return {
        "machine": platform.machine(),
        "cpu": model or platform.processor() or None,
        "cpu_pin_possible": can_pin(),
        "avx512": sorted(f for f in flags if f.startswith("avx512")),
        "pin": {k: os.environ[k] for k in (OPENBLAS_PIN[0], NUMPY_PIN[0]) if os.environ.get(k)},
        "blas": blas_kernels(),
        "numpy_dispatch": numpy_dispatch(),
    }


pin()
