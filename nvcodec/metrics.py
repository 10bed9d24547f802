"""PSNR, defined once: on uint8 arrays, and from a mean squared error."""

from __future__ import annotations

import math

import numpy as np


def psnr(reference_u8: np.ndarray, test_u8: np.ndarray) -> float:
    """PSNR in dB over all pixels and channels of two uint8 arrays of equal shape."""
    error = reference_u8.astype(np.float64) - test_u8.astype(np.float64)
    mse = float(np.mean(error * error))
    return 10.0 * np.log10(255.0**2 / mse) if mse > 0 else float("inf")


def psnr_from_mse(mse: float, peak: float = 1.0) -> float:
    """PSNR in dB of a mean squared error on signals whose peak value is `peak`."""
    return 10.0 * math.log10(peak * peak / mse) if mse > 0 else float("inf")
