import time
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.decoder.render import (
    CACHED_ACTIVATIONS,
    FRAMES_IN_FLIGHT_BYTES,
    MAX_CPU_RENDER_BATCH,
    default_render_batch,
    frame_workers,
    in_order,
    render,
    render_layers,
    render_raw,
)
from nvcodec.metrics import psnr
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig
from nvcodec.model.coordinates import frame_times, pixel_coordinates, resampled_frames
from nvcodec.model.presets import config_for_preset, grid_model_config

CANVAS = Canvas(width=32, height=24, num_frames=8, fps=Fraction(24))


@pytest.fixture(scope="module")
def model() -> CoordFlow:
    torch.manual_seed(0)
    return CoordFlow(ModelConfig(colour_width=16, colour_depth=2, xy_octaves=3)).eval()


@settings(max_examples=15, deadline=None)
@given(
    width=st.integers(1, 48),
    height=st.integers(1, 48),
    frames=st.lists(st.floats(-2.0, 10.0), min_size=1, max_size=5),
)
def test_render_shapes_for_any_size_and_time(model, width, height, frames) -> None:
    out = list(render(model, CANVAS, width, height, torch.tensor(frames)))
    assert len(out) == len(frames)
    assert all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f in out)


def test_batching_does_not_change_pixels(model) -> None:
    frames = torch.tensor([0.0, 3.5, 7.0])
    whole = torch.stack(list(render_raw(model, CANVAS, 20, 10, frames, batch_pixels=1 << 16)))
    pieces = torch.stack(list(render_raw(model, CANVAS, 20, 10, frames, batch_pixels=37)))
    torch.testing.assert_close(whole, pieces)


def test_subnormals_are_flushed_only_while_a_frame_renders(model) -> None:
    subnormal = torch.tensor([1e-40])
    seen = []

    def finish(raw: torch.Tensor) -> torch.Tensor:
        seen.append(float(subnormal * 1.0))
        return raw

    frames = list(render_raw(model, CANVAS, 8, 6, torch.tensor([0.0, 1.0]), finish=finish))
    assert len(frames) == 2 and seen == [0.0, 0.0]
    assert float(subnormal * 1.0) > 0.0  # the caller's arithmetic is left as it was


def test_layers_and_alpha_maps(model) -> None:
    (frame,) = render_layers(model, CANVAS, 12, 9, torch.tensor([1.0]))
    assert frame.layer_rgb.shape == (2, 9, 12, 3) and frame.alpha.shape == (2, 9, 12)
    np.testing.assert_allclose(frame.alpha.sum(0), 1.0, rtol=1e-5)
    blended = np.clip((frame.alpha[..., None] * frame.layer_rgb).sum(0), 0, 1)
    assert np.abs(blended - frame.rgb).max() < 0.51  # layers are clamped before blending


def test_pixel_centres_keep_the_aspect() -> None:
    x, y = pixel_coordinates(CANVAS, 32, 24)
    assert x[0] == pytest.approx(-1 + 1 / 32) and x[-1] == pytest.approx(1 - 1 / 32)
    assert y[-1] == pytest.approx(0.75 * (1 - 1 / 24))
    x2, _ = pixel_coordinates(CANVAS, 64, 48)
    # Two pixels of the 2x raster straddle the centre of one source pixel.
    torch.testing.assert_close((x2[0::2] + x2[1::2]) / 2, x)


def test_times_are_linear_in_frames() -> None:
    t = frame_times(CANVAS, torch.tensor([0.0, 4.0, 8.0]))
    torch.testing.assert_close(t, torch.tensor([-1.0, 0.0, 1.0]))


@pytest.mark.parametrize(
    ("fps", "count", "second"),
    [(Fraction(48), 16, 0.5), (Fraction(12), 4, 2.0), (Fraction(30000, 1001), 10, 0.8008)],
)
def test_resampled_frames(fps: Fraction, count: int, second: float) -> None:
    frames = resampled_frames(CANVAS, fps)
    assert len(frames) == count
    assert frames[0] == 0 and frames[1].item() == pytest.approx(second)


def test_psnr() -> None:
    a = np.zeros((2, 4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0, 0] = 255
    assert psnr(a, b) == pytest.approx(10 * np.log10(96))
    assert psnr(a, a) == float("inf")


def test_render_chunks_follow_the_colour_network_width() -> None:
    cpu = torch.device("cpu")
    wide = config_for_preset("xs", 320, 180, 132)
    narrow = grid_model_config(320, 180, 132)
    # A wide MLP's chunk keeps its activations in cache; a narrow net's grows to the cap.
    assert default_render_batch(wide, cpu) * wide.colour_width * wide.num_layers <= 2 * (
        CACHED_ACTIVATIONS
    )
    assert default_render_batch(narrow, cpu) == MAX_CPU_RENDER_BATCH
    assert default_render_batch(wide, torch.device("cuda")) > MAX_CPU_RENDER_BATCH


def test_frames_rendered_side_by_side_equal_one_by_one(model) -> None:
    frames = torch.tensor([0.0, 1.5, 3.0, 5.0, 7.0])
    one_by_one = list(render_raw(model, CANVAS, 12, 9, frames, batch_pixels=40, workers=1))
    side_by_side = list(render_raw(model, CANVAS, 12, 9, frames, batch_pixels=40, workers=3))
    assert len(side_by_side) == len(frames)
    for a, b in zip(one_by_one, side_by_side, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_side_by_side_work_keeps_order_and_restores_threads() -> None:
    threads = torch.get_num_threads()
    seen_threads = []

    def slow_square(n: int) -> int:
        seen_threads.append(torch.get_num_threads())
        time.sleep(0.02 * (n % 3))
        return n * n

    assert list(in_order(slow_square, iter(range(9)), 3)) == [n * n for n in range(9)]
    assert set(seen_threads) == {1} and torch.get_num_threads() == threads
    results = in_order(slow_square, iter(range(9)), 2)
    assert next(results) == 0
    results.close()  # a consumer that stops early
    assert torch.get_num_threads() == threads


def test_side_by_side_work_passes_errors_on() -> None:
    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n

    with pytest.raises(ValueError, match="three"):
        list(in_order(fail_on_three, iter(range(6)), 2))


def test_frames_side_by_side_follow_the_threads_and_the_memory() -> None:
    cpu, threads = torch.device("cpu"), torch.get_num_threads()
    assert frame_workers(cpu, 100) == threads
    assert frame_workers(cpu, 1) == 1
    assert frame_workers(cpu, 100, FRAMES_IN_FLIGHT_BYTES) == 1
    assert frame_workers(cpu, 100, FRAMES_IN_FLIGHT_BYTES // 2) == min(2, threads)
    assert frame_workers(torch.device("cuda"), 100) == 1
