"""Exact RGB <-> YUV conversion in numpy: the BT.601 or BT.709 matrix, limited or full range,
4:4:4 or 4:2:0, 8 or 10 bits.

4:2:0 chroma is the 2x2 box average of the full-resolution chroma, so each chroma sample sits
at the centre of its 2x2 block of luma samples (JPEG/MPEG-1 siting). Going back to RGB, the
chroma is upsampled bilinearly for that siting (weights 3/4 and 1/4, edges repeated). The
benchmark feeds every classic codec and scores every codec through these functions, so no
result depends on swscale's default matrix, range or chroma filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nvcodec.errors import SettingsError

MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}
"""(Kr, Kb) of each matrix; Kg = 1 - Kr - Kb."""
RANGES = ("limited", "full")
CHROMAS = ("4:2:0", "4:4:4")


@dataclass(frozen=True)
class Colour:
    """How RGB maps to YUV: `matrix` (bt601, bt709), `range` (limited: Y 16-235 and chroma
    16-240 at 8 bits; full: 0-255) and `bits` per sample (8 or 10)."""

    matrix: str = "bt709"
    range: str = "limited"
    bits: int = 8

    def __post_init__(self) -> None:
        if self.matrix not in MATRICES:
            raise SettingsError(f"unknown matrix {self.matrix!r}; use {' or '.join(MATRICES)}")
        if self.range not in RANGES:
            raise SettingsError(f"unknown range {self.range!r}; use limited or full")
        if self.bits not in (8, 10):
            raise SettingsError(f"{self.bits} bits per sample: use 8 or 10")

    @property
    def dtype(self) -> type:
        return np.uint8 if self.bits == 8 else np.uint16

    def describe(self) -> str:
        """One line for result files, such as 'BT.709 limited range, 8 bits'."""
        return f"{self.matrix.upper().replace('BT', 'BT.')} {self.range} range, {self.bits} bits"

    def _scales(self) -> tuple[float, float, float, float]:
        """(luma offset, luma scale, chroma offset, chroma scale) in code values."""
        if self.range == "limited":
            step = 2 ** (self.bits - 8)
            return 16.0 * step, 219.0 * step, 128.0 * step, 224.0 * step
        peak = 2.0**self.bits - 1
        return 0.0, peak, 2.0 ** (self.bits - 1), peak


@dataclass(frozen=True)
class Yuv:
    """Y, U (Cb) and V (Cr) planes of one frame (H x W) or clip (T x H x W); U and V are half
    the size in both directions for 4:2:0."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def chroma(self) -> str:
        return "4:4:4" if self.u.shape == self.y.shape else "4:2:0"

    @property
    def planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.y, self.u, self.v


def rgb_to_yuv(rgb_u8: np.ndarray, colour: Colour, chroma: str = "4:2:0") -> Yuv:
    """Convert ... x H x W x 3 uint8 RGB (full range, 0-255) to YUV planes."""
    if chroma not in CHROMAS:
        raise SettingsError(f"unknown chroma format {chroma!r}; use 4:2:0 or 4:4:4")
    height, width = rgb_u8.shape[-3:-1]
    if chroma == "4:2:0" and (height % 2 or width % 2):
        raise SettingsError(f"{width}x{height}: 4:2:0 needs an even width and height")
    kr, kb = MATRICES[colour.matrix]
    rgb = rgb_u8.astype(np.float64) / 255.0
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    luma = kr * red + (1.0 - kr - kb) * green + kb * blue
    blue_difference = (blue - luma) / (2.0 * (1.0 - kb))
    red_difference = (red - luma) / (2.0 * (1.0 - kr))
    if chroma == "4:2:0":
        blue_difference, red_difference = _box_half(blue_difference), _box_half(red_difference)
    y_offset, y_scale, c_offset, c_scale = colour._scales()
    return Yuv(
        _quantize(y_offset + y_scale * luma, colour),
        _quantize(c_offset + c_scale * blue_difference, colour),
        _quantize(c_offset + c_scale * red_difference, colour),
    )


def yuv_to_rgb(yuv: Yuv, colour: Colour) -> np.ndarray:
    """Convert YUV planes (4:4:4 or 4:2:0) back to ... x H x W x 3 uint8 RGB."""
    kr, kb = MATRICES[colour.matrix]
    y_offset, y_scale, c_offset, c_scale = colour._scales()
    luma = (yuv.y.astype(np.float64) - y_offset) / y_scale
    blue_difference = (yuv.u.astype(np.float64) - c_offset) / c_scale
    red_difference = (yuv.v.astype(np.float64) - c_offset) / c_scale
    if yuv.chroma == "4:2:0":
        blue_difference = _bilinear_double(blue_difference)
        red_difference = _bilinear_double(red_difference)
    red = luma + 2.0 * (1.0 - kr) * red_difference
    blue = luma + 2.0 * (1.0 - kb) * blue_difference
    green = (luma - kr * red - kb * blue) / (1.0 - kr - kb)
    rgb = np.stack([red, green, blue], axis=-1) * 255.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _quantize(values: np.ndarray, colour: Colour) -> np.ndarray:
    return np.clip(np.rint(values), 0, 2**colour.bits - 1).astype(colour.dtype)


def _box_half(plane: np.ndarray) -> np.ndarray:
    """The mean of each 2x2 block of the last two axes."""
    return 0.25 * (
        plane[..., 0::2, 0::2]
        + plane[..., 1::2, 0::2]
        + plane[..., 0::2, 1::2]
        + plane[..., 1::2, 1::2]
    )


def _bilinear_double(plane: np.ndarray) -> np.ndarray:
    """Twice the size in the last two axes, for samples sited at the centres of 2x2 blocks."""
    for axis in (-2, -1):
        moved = np.moveaxis(plane, axis, 0)
        before = np.concatenate([moved[:1], moved[:-1]])
        after = np.concatenate([moved[1:], moved[-1:]])
        doubled = np.empty((2 * len(moved), *moved.shape[1:]), moved.dtype)
        doubled[0::2] = 0.75 * moved + 0.25 * before
        doubled[1::2] = 0.75 * moved + 0.25 * after
        plane = np.moveaxis(doubled, 0, axis)
    return plane
