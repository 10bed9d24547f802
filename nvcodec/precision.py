"""Arithmetic precision and the CPU settings that keep fitting and rendering fast.

The colour networks' products may run in bfloat16 (float32 accumulation and master weights).
Whether that pays depends on the processor: on a 2-core AMD EPYC with AVX512-BF16 a 2048^3
bfloat16 product ran 4x faster than in float32, while an Intel Xeon with AVX512-BF16 but no
AMX ran it at half the float32 speed. `auto` therefore measures instead of reading CPU flags.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16}
PRECISION_CHOICES = ("auto", *PRECISIONS)
MIN_BFLOAT16_SPEEDUP = 2.0
"""How much faster a bfloat16 product must be before `auto` fits in bfloat16 on a CPU: far from
1, so that timing noise never flips the choice between runs on the same machine."""
PROBE_SIZE = 512

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_HEAP_BYTES = 512 << 20
_MMAP_ABOVE_BYTES = 64 << 20


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """The dtype of the colour nets' products for `name` (auto, float32 or bfloat16) on `device`.

    auto is bfloat16 on CUDA, and on a CPU where bfloat16 products run at least
    MIN_BFLOAT16_SPEEDUP times faster than float32 ones; float32 otherwise.
    """
    if name == "auto":
        if device.type == "cuda" or bfloat16_speedup() >= MIN_BFLOAT16_SPEEDUP:
            return torch.bfloat16
        return torch.float32
    if name not in PRECISIONS:
        raise ValueError(unknown_precision(name))
    return PRECISIONS[name]


def unknown_precision(name: str) -> str:
    """The error message for a precision name that is not one of PRECISION_CHOICES."""
    return f"unknown precision {name!r}; use {', '.join(PRECISION_CHOICES)}"


def precision_name(dtype: torch.dtype) -> str:
    """`torch.bfloat16` -> 'bfloat16', as the CLI, the files and the results name it."""
    return str(dtype).removeprefix("torch.")


def render_precision(device: torch.device) -> torch.dtype:
    """Rendering is float32 on a CPU, where it reproduces the test vectors bit for bit
    (spec section 9), and bfloat16 on CUDA."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


@functools.cache
def bfloat16_speedup() -> float:
    """How many times faster this CPU multiplies bfloat16 than float32 matrices (best of 3
    products of PROBE_SIZE^3 each; about 20 ms in all)."""
    seconds = {}
    for dtype in (torch.float32, torch.bfloat16):
        a = torch.randn(PROBE_SIZE, PROBE_SIZE).to(dtype)
        b = torch.randn(PROBE_SIZE, PROBE_SIZE).to(dtype)
        a @ b
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
        seconds[dtype] = best
    return seconds[torch.float32] / seconds[torch.bfloat16]


@contextmanager
def flushed_denormals(device: torch.device) -> Iterator[None]:
    """Flush subnormal floats to zero on the CPU while fitting.

    As a fit converges, softmax weights and gradients of a fading layer sink into the
    subnormal range, which x86 cores handle in slow microcode: without this a two-layer fit
    lost a fifth of its speed within a minute and kept slowing.
    """
    flushing = device.type == "cpu" and torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if flushing:
            torch.set_flush_denormal(False)


@functools.cache
def retain_freed_memory() -> bool:
    """Let glibc keep freed memory for reuse rather than hand it back to the system.

    A fitting step allocates and frees tens of megabytes of activations. By default glibc
    maps blocks that large afresh and trims its heap after each step, so every step
    page-faults its activations in again: about 1,600 faults per xs step, and ~10% of its
    time. Blocks under 64 MiB now come from the heap, which keeps up to 512 MiB free; the
    clip and other large arrays are still mapped and returned. Process-wide and done once;
    False where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_ABOVE_BYTES)
        and mallopt(_M_TRIM_THRESHOLD, _KEEP_HEAP_BYTES)
    )
