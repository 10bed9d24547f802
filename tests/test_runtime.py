import platform
import subprocess
import sys

import pytest
import torch

import nvcodec.runtime as runtime
from nvcodec.model.coordflow import StackedMLP
from nvcodec.runtime import render_precision, resolve_precision


def test_named_precisions_resolve_as_asked() -> None:
    cpu = torch.device("cpu")
    assert resolve_precision("float32", cpu) is torch.float32
    assert resolve_precision("bfloat16", cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="unknown precision"):
        resolve_precision("float16", cpu)


@pytest.mark.parametrize(("speedup", "expected"), [(0.5, torch.float32), (4.5, torch.bfloat16)])
def test_auto_follows_the_measured_bfloat16_speed(monkeypatch, speedup, expected) -> None:
    monkeypatch.setattr(runtime, "bfloat16_speedup", lambda: speedup)
    assert resolve_precision("auto", torch.device("cpu")) is expected
    assert resolve_precision("auto", torch.device("cuda")) is torch.bfloat16


def test_the_probe_measures_a_positive_ratio() -> None:
    assert runtime.bfloat16_speedup() > 0


def test_rendering_stays_float32_on_the_cpu() -> None:
    assert render_precision(torch.device("cpu")) is torch.float32
    assert render_precision(torch.device("cuda")) is torch.bfloat16


def test_a_named_render_precision_is_taken_on_any_device() -> None:
    assert render_precision(torch.device("cpu"), "bfloat16") is torch.bfloat16
    assert render_precision(torch.device("cuda"), "float32") is torch.float32
    with pytest.raises(ValueError, match="unknown precision"):
        render_precision(torch.device("cpu"), "float16")


FAULTS_PER_STEP = """
import resource, sys, torch
from nvcodec.model.coordflow import StackedMLP
from nvcodec.runtime import retain_freed_memory
if sys.argv[1] == "retain":
    assert retain_freed_memory()
mlp = StackedMLP(2, [35, 144, 144, 144, 4], "gelu")
x = torch.rand(2, 4096, 35)
def step():
    mlp.zero_grad(set_to_none=True)
    mlp(x).square().sum().backward()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def faults_per_step(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", FAULTS_PER_STEP, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_freed_activations_are_reused_without_page_faults() -> None:
    """An xs-sized step (2 layers, 144 wide, 4096 samples) page-faults its activations in
    afresh under glibc's defaults; with the setting it reuses the heap."""
    default, retained = faults_per_step("default"), faults_per_step("retain")
    assert retained < 0.3 * default, (default, retained)


def test_bfloat16_products_track_float32_and_train_float32_weights() -> None:
    torch.manual_seed(0)
    mlp = StackedMLP(2, [11, 64, 64, 4], "gelu")
    x = torch.rand(2, 300, 11) * 2 - 1
    exact = mlp(x)
    reduced = mlp(x, dtype=torch.bfloat16)
    assert reduced.dtype is torch.float32
    # bfloat16 keeps 8 bits of mantissa: errors of a few parts per thousand of the outputs.
    assert (reduced - exact).abs().max() < 0.02 * exact.abs().max()
    reduced.square().sum().backward()
    for weight in mlp.weights:
        assert weight.grad is not None and weight.grad.dtype is torch.float32
        assert torch.isfinite(weight.grad).all()
