"""What this CPU can do, as far as the results of quantised models may depend on it.

ONNX Runtime picks its int8 kernels by the CPU it runs on: with AVX-512 VNNI or AVX-VNNI the
products of uint8 activations and int8 weights are summed in int32; with AVX2 alone each two
of them are summed in a *saturating* int16 first. The instruction sets come from the CPUID
instruction as numpy's runtime dispatch reads it (so an emulated CPU reports what it
emulates), with ``/proc/cpuinfo`` for what numpy does not name.
"""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path

#: The instruction sets that decide which int8 and float kernels run, in numpy's names.
RELEVANT = (
    "SSE41", "AVX", "AVX2", "FMA3", "F16C", "AVX512F", "AVX512BW", "AVX512VL", "AVX512VNNI",
    "AVX512BF16", "AVX512FP16", "NEON", "ASIMD", "ASIMDDP", "ASIMDHP", "SVE",
)  # fmt: skip
#: Flags of /proc/cpuinfo that numpy's table lacks (the VEX-encoded VNNI, the int8 matrix ops).
_CPUINFO_EXTRA = {"avx_vnni": "AVX_VNNI", "amx_int8": "AMX_INT8", "i8mm": "I8MM"}


def _numpy_features() -> dict[str, bool]:
    try:
        from numpy._core._multiarray_umath import (  # type: ignore[import-not-found]
            __cpu_features__,
        )
    except ImportError:  # a numpy whose private table moved: fall back to /proc/cpuinfo
        return {}
    return dict(__cpu_features__)


def _cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text("utf-8", "replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


@cache
def instruction_sets() -> list[str]:
    """The relevant instruction sets this CPU has, e.g. ``['SSE41', 'AVX', 'AVX2', ...]``."""
    features = _numpy_features()
    found = [name for name in RELEVANT if features.get(name)]
    if not features:  # no CPUID table: take the kernel's word for it
        flags = {f.upper().replace("_", "") for f in _cpuinfo_flags()}
        found = [name for name in RELEVANT if name.replace("_", "") in flags]
    flags = _cpuinfo_flags()
    found += [name for flag, name in _CPUINFO_EXTRA.items() if flag in flags]
    return found


def int8_dot_product() -> str:
    """How this CPU's int8 kernels add products: what decides whether 8-bit weights saturate."""
    sets = set(instruction_sets())
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return "arm64 dot product (int32)" if "ASIMDDP" in sets else "arm64 NEON (int16 -> int32)"
    if sets & {"AVX512VNNI", "AVX_VNNI", "AMX_INT8"}:
        return "VNNI (int32)"
    if "AVX2" in sets:
        return "AVX2 without VNNI (pairs summed in saturating int16)"
    return f"{machine or 'unknown'} (no AVX2)"


def fingerprint() -> str:
    """A short text naming what results may depend on: machine, instruction sets."""
    return f"{platform.machine()}:{','.join(instruction_sets())}"
