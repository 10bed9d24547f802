"""The CUDA path: fitting, rendering, rate control and the bitstream on the GPU, and the GPU's
decode of a file encoded on the CPU against the CPU's own decode.

The `cuda`-marked tests are skipped without a GPU; `python -m tools.device_check` runs them on
one, and its dry run on the CPU (`cuda_device` is then the CPU), so they stay runnable. A
decode on CUDA runs its products in bfloat16, so it is held to a tolerance rather than to the
CPU's bits (tools.device_check.GPU_DECODE_MIN_PSNR); the one unmarked test measures, in every
run, that a bfloat16 render on the CPU stays within it.
"""

import copy
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

import nvcodec.encoder.fit as fit_module
from nvcodec.api import decode, encode
from nvcodec.bitstream import decode_cfv, encode_cfv
from nvcodec.decoder.render import render
from nvcodec.decoder.views import View
from nvcodec.encoder.fit import FitConfig, fit
from nvcodec.encoder.loss_weights import pixel_weights
from nvcodec.encoder.ratecontrol import MAX_DB_PER_BIT, QMAX_LEVELS, choose_qmax
from nvcodec.encoder.sampler import PixelSample
from nvcodec.metrics import psnr
from nvcodec.model.coordflow import ModelConfig
from nvcodec.runtime import synchronize
from tools.device_check import decode_difference

SMALL = ModelConfig(num_layers=2, colour_width=32, colour_depth=2, xy_octaves=4, t_octaves=2)
cuda = pytest.mark.cuda


def frames_of(model, canvas, width: int, height: int, times: torch.Tensor, **options):
    return np.stack(list(render(model, canvas, width, height, times, **options)))


def test_a_bfloat16_render_stays_within_the_gpu_decode_tolerance(tiny_cfv) -> None:
    float32 = decode(tiny_cfv, device="cpu", scale=2)
    bfloat16 = decode(tiny_cfv, device="cpu", scale=2, precision="bfloat16")
    assert (float32.precision, bfloat16.precision) == ("float32", "bfloat16")
    float32, bfloat16 = float32.frames_u8, bfloat16.frames_u8
    assert not np.array_equal(float32, bfloat16)  # the products did run in bfloat16
    difference = decode_difference(float32, bfloat16)
    assert difference["within_tolerance"], difference


def test_synchronize_waits_on_cuda_only(monkeypatch) -> None:
    waited = []
    monkeypatch.setattr(torch.cuda, "synchronize", waited.append)
    synchronize(torch.device("cpu"))
    assert waited == []
    synchronize(torch.device("cuda"))
    assert waited == [torch.device("cuda")]


def test_a_fit_waits_for_its_device_before_its_time_is_read(tiny_clip, monkeypatch) -> None:
    waited = []
    monkeypatch.setattr(fit_module, "synchronize", waited.append)
    fit(tiny_clip, SMALL, FitConfig(epochs=1, batch_size=1024))
    assert waited == [torch.device("cpu")]


@cuda
def test_loss_weights_on_the_device_match_the_cpu(tiny_clip, cuda_device) -> None:
    on_device = pixel_weights(tiny_clip, cuda_device)
    assert on_device.device.type == cuda_device.type and on_device.dtype == torch.float16
    difference = (on_device.cpu().float() - pixel_weights(tiny_clip).float()).abs()
    # cuDNN's convolutions may round through TF32, so a Canny edge may flip where a gradient
    # lies within that rounding of its threshold; the rest moves by rounding only.
    assert difference.mean() < 0.02 and (difference > 0.02).float().mean() < 0.02


@cuda
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_a_fit_on_the_device_learns_the_clip(tiny_clip, cuda_device, precision) -> None:
    config = FitConfig(epochs=20, batch_size=1024, precision=precision, device=str(cuda_device))
    result = fit(tiny_clip, SMALL, config)
    assert next(result.model.parameters()).device.type == cuda_device.type
    assert result.precision == precision and result.steps == 120
    times = torch.arange(8, dtype=torch.float64)
    # 27.6 dB in both precisions on the CPU.
    assert psnr(tiny_clip, frames_of(result.model, result.canvas, 32, 24, times)) > 25.0


@cuda
def test_rendering_on_the_device_matches_the_cpu(tiny_cfv, cuda_device) -> None:
    data = Path(tiny_cfv).read_bytes()
    on_cpu, on_device = decode_cfv(data), decode_cfv(data, device=cuda_device)
    times = torch.tensor([0.0, 2.5, 7.0], dtype=torch.float64)
    for width, height, batch in ((32, 24, None), (45, 17, 100)):
        expected = frames_of(on_cpu.model, on_cpu.canvas, width, height, times)
        rendered = frames_of(
            on_device.model, on_device.canvas, width, height, times, batch_pixels=batch
        )
        assert rendered.shape == (3, height, width, 3) and rendered.dtype == np.uint8
        assert decode_difference(expected, rendered)["within_tolerance"]


@cuda
@pytest.mark.parametrize(
    "view",
    [
        {"alpha_map": True},
        {"layer": 1},
        {"drop_layer": 0},
        {"stabilize": 2.0},
        {"canonical": True},
    ],
)
def test_views_on_the_device_match_the_cpu(tiny_cfv, cuda_device, view) -> None:
    expected = decode(tiny_cfv, device="cpu", view=View(**view)).frames_u8
    rendered = decode(tiny_cfv, device=str(cuda_device), view=View(**view)).frames_u8
    difference = decode_difference(expected, rendered)
    assert difference["within_tolerance"], difference


@cuda
@pytest.mark.parametrize(("scale", "fps"), [(1.0, None), (2.0, 48)])
def test_a_cpu_encoded_file_decodes_on_the_device_as_on_the_cpu(
    tiny_cfv, cuda_device, scale, fps
) -> None:
    on_cpu = decode(tiny_cfv, device="cpu", scale=scale, fps=fps)
    on_device = decode(tiny_cfv, device=str(cuda_device), scale=scale, fps=fps)
    assert on_device.device.startswith(cuda_device.type)
    difference = decode_difference(on_cpu.frames_u8, on_device.frames_u8)
    assert difference["within_tolerance"], difference


@cuda
def test_rate_control_on_the_device(tiny_clip, cuda_device) -> None:
    result = fit(tiny_clip, SMALL, FitConfig(epochs=4, batch_size=1024, device=str(cuda_device)))
    choice = choose_qmax(result.model, result.canvas, tiny_clip)
    assert len(choice.qmax) == len(result.model.linear_weights())
    assert set(choice.qmax) <= set(QMAX_LEVELS)
    # Every move it kept cost at most the exchange rate, so the sum does too.
    lost = choice.psnr_finest - choice.psnr_quantized
    assert lost <= MAX_DB_PER_BIT * choice.saved_bits_per_parameter + 1e-6
    on_cpu = PixelSample(result.canvas, tiny_clip).psnr(copy.deepcopy(result.model).cpu())
    assert choice.psnr_float == pytest.approx(on_cpu, abs=0.05)


@cuda
def test_the_bitstream_round_trip_on_the_device(tiny_clip, cuda_device) -> None:
    result = fit(tiny_clip, SMALL, FitConfig(epochs=1, batch_size=1024, device=str(cuda_device)))
    data = encode_cfv(result.model, result.canvas, qmax=63)
    assert data == encode_cfv(copy.deepcopy(result.model).cpu(), result.canvas, qmax=63)
    on_device, on_cpu = decode_cfv(data, device=cuda_device), decode_cfv(data)
    expected = on_cpu.model.state_dict()
    for name, tensor in on_device.model.state_dict().items():
        assert tensor.device.type == cuda_device.type
        assert torch.equal(tensor.cpu(), expected[name]), name


@cuda
def test_an_encode_on_the_device_decodes_on_the_cpu(tiny_clip, cuda_device) -> None:
    summary = encode(tiny_clip, fps=Fraction(24), params=8000, epochs=2, device=str(cuda_device))
    assert summary.device.startswith(cuda_device.type)
    on_cpu = decode(summary.data, device="cpu").frames_u8
    assert psnr(tiny_clip, on_cpu) == pytest.approx(summary.psnr, abs=0.1)
