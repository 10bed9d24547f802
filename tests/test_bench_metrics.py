"""The benchmark's metrics on inputs whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nvcodec.bench.metrics import measure, ms_ssim_per_frame, yuv_611
from nvcodec.io.colour import Yuv


def _psnr(mse: float) -> float:
    return 10 * math.log10(255**2 / mse)


def _planes(frames: int, offsets: tuple[int, int, int]) -> Yuv:
    """4:2:0 planes of 8x6 frames at mid grey plus a constant offset per plane."""
    y, u, v = (
        np.full(shape, 100 + d, np.uint8)
        for shape, d in zip(((frames, 6, 8), (frames, 3, 4), (frames, 3, 4)), offsets, strict=True)
    )
    return Yuv(y, u, v)


def test_constant_offsets_give_the_analytic_psnrs() -> None:
    rgb = np.zeros((2, 6, 8, 3), np.uint8)
    decoded = rgb.copy()
    decoded[0] += 4  # frame 0 off by 4 in every channel, frame 1 exact
    reference_yuv = _planes(2, (0, 0, 0))
    decoded_yuv = _planes(2, (2, 3, 6))
    decoded_yuv.y[1] = 100  # frame 1's luma exact
    quality = measure(rgb, decoded, reference_yuv, decoded_yuv)
    assert quality.pooled["psnr_rgb"] == pytest.approx(_psnr(16 / 2))  # MSE pooled over frames
    assert quality.per_frame["psnr_rgb"] == [pytest.approx(_psnr(16)), math.inf]
    assert quality.pooled["psnr_y"] == pytest.approx(_psnr(4 / 2))
    assert quality.pooled["psnr_u"] == pytest.approx(_psnr(9))
    assert quality.pooled["psnr_v"] == pytest.approx(_psnr(36))
    expected = (6 * _psnr(2) + _psnr(9) + _psnr(36)) / 8
    assert quality.pooled["psnr_yuv"] == pytest.approx(expected)
    assert quality.per_frame["psnr_yuv"][1] == math.inf
    assert quality.pooled["ms_ssim"] is None and quality.per_frame["ms_ssim"] == [None, None]


def test_yuv_611_weights_luma_six_times() -> None:
    assert yuv_611(40.0, 32.0, 32.0) == 38.0


def test_ms_ssim_is_one_for_identical_frames_and_lower_for_noisy_ones() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 176, 176, 3), dtype=np.uint8)
    assert ms_ssim_per_frame(frames, frames) == [pytest.approx(1.0, abs=1e-6)] * 2
    noisy = np.clip(frames + rng.normal(0, 20, frames.shape), 0, 255).astype(np.uint8)
    assert all(score < 0.99 for score in ms_ssim_per_frame(frames, noisy))
    assert ms_ssim_per_frame(frames[:, :160], frames[:, :160]) is None  # too small for 5 scales
