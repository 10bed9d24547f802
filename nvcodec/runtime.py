"""Where and how the codec computes: the device, the arithmetic precision, and the CPU settings
that keep fitting and rendering fast.

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

from nvcodec.errors import DeviceError
from nvcodec.settings import PRECISION_CHOICES, device_name, unknown_precision

PRECISIONS = {name: getattr(torch, name) for name in PRECISION_CHOICES if name != "auto"}
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


def precision_name(dtype: torch.dtype) -> str:
    """`torch.bfloat16` -> 'bfloat16', as the CLI, the files and the results name it."""
    return str(dtype).removeprefix("torch.")


def render_precision(device: torch.device, name: str = "auto") -> torch.dtype:
    """The dtype of rendering's products for `name` (auto, float32 or bfloat16) on `device`.

    auto is float32 on a CPU, where the frames reproduce the test vectors within the
    conformance bound (spec section 9), and bfloat16 on CUDA. bfloat16 on a CPU with native
    bfloat16 products renders faster, some samples a few steps away from float32's.
    """
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if name not in PRECISIONS:
        raise ValueError(unknown_precision(name))
    return PRECISIONS[name]


def matmul_seconds(
    size: int, dtype: torch.dtype, device: torch.device | None = None, repeats: int = 3
) -> float:
    """Best wall time of `repeats` size^3 matrix products in `dtype` (after one warm-up)."""
    device = device or torch.device("cpu")
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    best = float("inf")
    for _ in range(repeats + 1):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a clock read after it is honest: CUDA
    kernels run asynchronously, and the host may be several steps ahead of them."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@functools.cache
def bfloat16_speedup() -> float:
    """How many times faster this CPU multiplies bfloat16 than float32 matrices (best of 3
    products of PROBE_SIZE^3 each; about 20 ms in all)."""
    return matmul_seconds(PROBE_SIZE, torch.float32) / matmul_seconds(PROBE_SIZE, torch.bfloat16)


@contextmanager
def flushed_denormals(device: torch.device) -> Iterator[None]:
    """Flush subnormal floats to zero on the CPU while fitting or rendering.

    x86 cores handle subnormals in slow microcode. As a fit converges, softmax weights and
    gradients of a fading layer sink into that range: without this a two-layer fit lost a
    fifth of its speed within a minute and kept slowing. When rendering, a GELU's outputs for
    strongly negative inputs are subnormal and slow the next product several times. Values
    that small change no 8-bit sample.
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


def resolve_device(device: str) -> torch.device:
    """'auto' picks CUDA when present; cpu, cuda and cuda:N name a device, and one this machine
    lacks is a clear error."""
    device = device_name(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {device} was asked for, but no CUDA device is available")
    resolved = torch.device(device)
    count = torch.cuda.device_count() if resolved.type == "cuda" else 0
    if resolved.index is not None and resolved.index >= count:
        raise DeviceError(f"no CUDA device {resolved.index}: this machine has {count} (from 0)")
    return resolved
