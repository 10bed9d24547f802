"""PSNR, defined once: from a mean squared error, and on uint8 arrays."""

from __future__ import annotations

import math

import numpy as np


def mean_squared_error(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean of the squared differences over every element, in float64."""
    error = np.asarray(reference, dtype=np.float64) - np.asarray(test, dtype=np.float64)
    return float(np.mean(error * error))


def psnr_from_mse(mse: float, peak: float = 1.0) -> float:
    """PSNR in dB of a mean squared error on signals whose peak value is `peak`."""
    return 10.0 * math.log10(peak * peak / mse) if mse > 0 else float("inf")


def mse_from_psnr(psnr: float, peak: float = 1.0) -> float:
    """The mean squared error a PSNR in dB stands for (0 for an infinite PSNR)."""
    return peak**2 * 10.0 ** (-psnr / 10.0)


def psnr(reference_u8: np.ndarray, test_u8: np.ndarray) -> float:
    """PSNR in dB over all pixels and channels of two uint8 arrays of equal shape."""
    return psnr_from_mse(mean_squared_error(reference_u8, test_u8), 255.0)
