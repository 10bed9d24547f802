"""A description of the machine and libraries, stored beside every measured number."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import torch


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_environment(device: torch.device | None = None) -> dict:
    """Device, CPU and its vector instructions, thread count, library versions and the date."""
    from importlib.metadata import version

    import av
    import numpy

    cuda = (device is None or device.type == "cuda") and torch.cuda.is_available()
    return {
        "device": f"cuda ({torch.cuda.get_device_name()})" if cuda else "cpu",
        "cpu": cpu_name(),
        # The vector instructions torch's CPU kernels use (AVX2, AVX512...): two CPUs of one
        # name can differ here, and their timings by a factor of several.
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "av": av.__version__,
        "constriction": version("constriction"),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }
