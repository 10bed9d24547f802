"""The quality metrics of the benchmark, per frame and pooled over the clip.

- `psnr_rgb`: PSNR over the three RGB channels; pooled from the MSE over all pixels of all
  frames (not the mean of per-frame PSNRs).
- `psnr_y`, `psnr_u`, `psnr_v`: PSNR of each 4:2:0 plane, pooled the same way. The reference
  planes are the input converted by `nvcodec.io.colour`; a 4:2:0 codec is scored on the planes
  it decoded, any other codec (nvcodec, 4:4:4, RGB) on its RGB output converted the same way.
- `psnr_yuv`: (6 psnr_y + psnr_u + psnr_v) / 8, the weighting of JVET's common test
  conditions, per frame and of the pooled values.
- `ms_ssim`: MS-SSIM on RGB (`pytorch-msssim`, its default 11-tap Gaussian window and five
  scales, data range 255), pooled as the mean over frames. It needs frames larger than 160
  pixels on their short side; for smaller ones it is not measured (null).

Peak 255 throughout (8-bit samples).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nvcodec.io.colour import Yuv
from nvcodec.metrics import psnr_from_mse

PEAK = 255.0
METRICS = ("psnr_rgb", "psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ms_ssim")
MS_SSIM_MIN_SIDE = 161
"""pytorch-msssim's minimum short side for its five scales of an 11-tap window."""
MS_SSIM_BATCH = 8


@dataclass(frozen=True)
class Quality:
    """Each metric pooled over the clip and per frame; None where it was not measured."""

    pooled: dict[str, float | None]
    per_frame: dict[str, list[float | None]]


def measure(
    reference_rgb: np.ndarray, decoded_rgb: np.ndarray, reference_yuv: Yuv, decoded_yuv: Yuv
) -> Quality:
    """Compare T x H x W x 3 uint8 clips and their T-frame 4:2:0 planes, frame by frame."""
    if reference_rgb.shape != decoded_rgb.shape:
        raise ValueError(f"shapes differ: {reference_rgb.shape} vs {decoded_rgb.shape}")
    pooled: dict[str, float | None] = {}
    per_frame: dict[str, list[float | None]] = {}
    pairs = {
        "psnr_rgb": (reference_rgb, decoded_rgb),
        "psnr_y": (reference_yuv.y, decoded_yuv.y),
        "psnr_u": (reference_yuv.u, decoded_yuv.u),
        "psnr_v": (reference_yuv.v, decoded_yuv.v),
    }
    for name, (reference, decoded) in pairs.items():
        errors = [_mse(r, d) for r, d in zip(reference, decoded, strict=True)]
        pooled[name] = psnr_from_mse(float(np.mean(errors)), PEAK)
        per_frame[name] = [psnr_from_mse(e, PEAK) for e in errors]
    pooled["psnr_yuv"] = yuv_611(pooled["psnr_y"], pooled["psnr_u"], pooled["psnr_v"])
    per_frame["psnr_yuv"] = [
        yuv_611(*values)
        for values in zip(
            per_frame["psnr_y"], per_frame["psnr_u"], per_frame["psnr_v"], strict=True
        )
    ]
    scores = ms_ssim_per_frame(reference_rgb, decoded_rgb)
    pooled["ms_ssim"] = None if scores is None else float(np.mean(scores))
    per_frame["ms_ssim"] = [None] * len(reference_rgb) if scores is None else scores
    return Quality(pooled, per_frame)


def yuv_611(psnr_y: float, psnr_u: float, psnr_v: float) -> float:
    """JVET's PSNR-YUV: luma weighted 6, each chroma plane 1."""
    return (6.0 * psnr_y + psnr_u + psnr_v) / 8.0


def ms_ssim_per_frame(reference_rgb: np.ndarray, decoded_rgb: np.ndarray) -> list[float] | None:
    """MS-SSIM of each frame pair, or None when the frames are too small for its scales."""
    if min(reference_rgb.shape[1:3]) < MS_SSIM_MIN_SIDE:
        return None
    import torch
    from pytorch_msssim import ms_ssim

    scores: list[float] = []
    for start in range(0, len(reference_rgb), MS_SSIM_BATCH):
        batch = [
            torch.from_numpy(np.ascontiguousarray(clip[start : start + MS_SSIM_BATCH]))
            .permute(0, 3, 1, 2)
            .to(torch.float32)
            for clip in (reference_rgb, decoded_rgb)
        ]
        with torch.no_grad():
            values = ms_ssim(*batch, data_range=255.0, size_average=False)
        scores += [float(v) for v in values]
    return scores


def _mse(reference: np.ndarray, decoded: np.ndarray) -> float:
    error = reference.astype(np.float64) - decoded.astype(np.float64)
    return float(np.mean(error * error))
