"""PSNR of decoded frames against the reference, on RGB and on BT.709 luma, per frame and overall.

Overall PSNR comes from the MSE over all pixels of all frames (not the mean of per-frame PSNRs).
Luma is Y = 0.2126 R + 0.7152 G + 0.0722 B (BT.709) on the full-range 8-bit RGB values, kept
as floats, with a peak of 255: every codec is scored on the same RGB frames, whatever YUV
conversion it used inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BT709 = np.array([0.2126, 0.7152, 0.0722])
LUMA = "BT.709 (Y = 0.2126 R + 0.7152 G + 0.0722 B on full-range RGB, peak 255)"


@dataclass(frozen=True)
class Quality:
    """PSNRs in dB; infinite where the frames are identical."""

    psnr_rgb: float
    psnr_y: float
    psnr_rgb_per_frame: list[float]
    psnr_y_per_frame: list[float]


def measure(reference_u8: np.ndarray, decoded_u8: np.ndarray) -> Quality:
    """Compare two T x H x W x 3 uint8 clips frame by frame (bounded memory)."""
    if reference_u8.shape != decoded_u8.shape:
        raise ValueError(f"shapes differ: {reference_u8.shape} vs {decoded_u8.shape}")
    mse_rgb, mse_y = [], []
    for reference, decoded in zip(reference_u8, decoded_u8, strict=True):
        error = reference.astype(np.float64) - decoded.astype(np.float64)
        mse_rgb.append(float(np.mean(error * error)))
        luma_error = error @ BT709  # luma is linear in RGB: Y(a) - Y(b) = Y(a - b)
        mse_y.append(float(np.mean(luma_error * luma_error)))
    return Quality(
        psnr_rgb=psnr_from_mse(float(np.mean(mse_rgb))),
        psnr_y=psnr_from_mse(float(np.mean(mse_y))),
        psnr_rgb_per_frame=[psnr_from_mse(m) for m in mse_rgb],
        psnr_y_per_frame=[psnr_from_mse(m) for m in mse_y],
    )


def psnr_from_mse(mse: float) -> float:
    return 10.0 * math.log10(255.0**2 / mse) if mse > 0 else math.inf
