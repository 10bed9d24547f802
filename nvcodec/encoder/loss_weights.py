"""Per-pixel loss weights (paper section 2.3): Laplacian magnitude, Canny edges, temporal change
and a constant, so detail and motion get more of the fit's attention than flat areas."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

LUMA = (0.299, 0.587, 0.114)
# Canny thresholds as quantiles of each frame's gradient magnitude: scale-free, so the same
# setting serves dark and bright, soft and sharp clips.
CANNY_HIGH_QUANTILE = 0.85
CANNY_LOW_RATIO = 0.5
HYSTERESIS_STEPS = 32
# Each continuous map is divided by this quantile over the clip and clipped to [0, 1].
NORMALISING_QUANTILE = 0.99


def pixel_weights(
    frames_u8: np.ndarray | torch.Tensor, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """T x H x W x 3 uint8 frames -> T x H x W float16 weights with mean 1, on `device`.

    w = 1 + |Laplacian| + Canny edge + |temporal change|, the two continuous maps normalised to
    [0, 1]; then the whole map is divided by its mean so the loss keeps its scale. Every map
    is held in float16 (edges as bools) and combined frame by frame, so the working set stays
    a few bytes per pixel: a float32 map of a 1080p, 600-frame clip alone would take 5 GB.
    The maps are computed on `device`, where the fit reads them: on a GPU the frames' filters
    take a small fraction of the time a CPU spends on them.
    """
    frames = torch.as_tensor(frames_u8)
    count = frames.shape[0]
    laplacian = torch.empty(frames.shape[:3], dtype=torch.float16, device=device)
    temporal = torch.empty_like(laplacian)
    edges = torch.empty(frames.shape[:3], dtype=torch.bool, device=device)
    previous = None
    for index in range(count):
        luma = _luma(frames[index].to(device))
        nxt = _luma(frames[index + 1].to(device)) if index + 1 < count else None
        laplacian[index] = _laplacian_magnitude(luma).half()
        edges[index] = canny(luma) > 0
        temporal[index] = _temporal_change(previous, luma, nxt).half()
        previous = luma
    scales = _normalising_scale(laplacian), _normalising_scale(temporal)

    def unnormalised(index: int) -> torch.Tensor:
        maps = (laplacian[index], temporal[index])
        continuous = sum(_normalised(m, scale) for m, scale in zip(maps, scales, strict=True))
        return 1.0 + continuous + edges[index].float()

    mean = sum(unnormalised(index).double().sum().item() for index in range(count))
    mean /= laplacian.numel()
    for index in range(count):  # the Laplacian's frame is read before it is overwritten
        laplacian[index] = (unnormalised(index) / mean).half()
    return laplacian


def _luma(frame_u8: torch.Tensor) -> torch.Tensor:
    rgb = frame_u8.float() / 255.0
    return rgb[..., 0] * LUMA[0] + rgb[..., 1] * LUMA[1] + rgb[..., 2] * LUMA[2]


def _conv(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    pad = kernel.shape[-1] // 2
    padded = F.pad(image[None, None], (pad, pad, pad, pad), mode="replicate")
    return F.conv2d(padded, kernel[None, None])[0, 0]


def _laplacian_magnitude(luma: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], device=luma.device)
    return _conv(luma, kernel).abs()


def _temporal_change(
    previous: torch.Tensor | None, luma: torch.Tensor, nxt: torch.Tensor | None
) -> torch.Tensor:
    diffs = [(luma - other).abs() for other in (previous, nxt) if other is not None]
    return torch.stack(diffs).mean(0) if diffs else torch.zeros_like(luma)


def _normalising_scale(values: torch.Tensor, samples: int = 1 << 20) -> float:
    """The map's NORMALISING_QUANTILE, estimated from a fixed random sample of its values."""
    flat = values.flatten()
    if flat.numel() > samples:
        generator = torch.Generator().manual_seed(0)
        index = torch.randint(flat.numel(), (samples,), generator=generator)
        flat = flat[index.to(flat.device)]
    return torch.quantile(flat.float(), NORMALISING_QUANTILE).item()


def _normalised(values: torch.Tensor, scale: float) -> torch.Tensor:
    if scale <= 0:
        return torch.zeros(values.shape, device=values.device)
    return (values.float() / scale).clamp_(0.0, 1.0)


def canny(luma: torch.Tensor) -> torch.Tensor:
    """Canny edges of an H x W image in [0, 1] as a 0/1 float map.

    Gaussian blur (sigma 1), Sobel gradients, non-maximum suppression along the gradient
    direction quantised to four angles, and hysteresis by repeated 8-neighbour growth of the
    strong edges into the weak ones.
    """
    gauss = torch.exp(-(torch.arange(-2.0, 3.0, device=luma.device) ** 2) / 2.0)
    gauss = torch.outer(gauss, gauss) / gauss.sum() ** 2
    blurred = _conv(luma, gauss)
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=luma.device)
    gx, gy = _conv(blurred, sobel), _conv(blurred, sobel.T)
    magnitude = torch.hypot(gx, gy)
    thin = magnitude * _is_local_maximum(magnitude, torch.atan2(gy, gx))
    positive = thin[thin > 0]
    if positive.numel() == 0:
        return torch.zeros_like(luma)
    high = torch.quantile(positive[: 1 << 24], CANNY_HIGH_QUANTILE)
    strong = thin >= high
    weak = thin >= high * CANNY_LOW_RATIO
    for _ in range(HYSTERESIS_STEPS):
        grown = F.max_pool2d(strong[None, None].float(), 3, stride=1, padding=1)[0, 0] > 0
        grown &= weak
        if torch.equal(grown, strong):
            break
        strong = grown
    return strong.float()


def _is_local_maximum(magnitude: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    padded = F.pad(magnitude[None, None], (1, 1, 1, 1))[0, 0]
    height, width = magnitude.shape

    def shifted(dy: int, dx: int) -> torch.Tensor:
        return padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]

    # Direction bins of 45 degrees: 0 = horizontal gradient, 1 = diagonal, 2 = vertical, 3 = anti.
    sector = torch.remainder(torch.round(angle / (torch.pi / 4)), 4).long()
    neighbours = [((0, 1), (0, -1)), ((1, 1), (-1, -1)), ((1, 0), (-1, 0)), ((1, -1), (-1, 1))]
    keep = torch.zeros_like(magnitude, dtype=torch.bool)
    for index, (a, b) in enumerate(neighbours):
        is_max = (magnitude >= shifted(*a)) & (magnitude >= shifted(*b))
        keep |= (sector == index) & is_max
    return keep
