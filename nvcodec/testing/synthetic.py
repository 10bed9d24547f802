"""Synthetic clips with known motion, for tests and measurements: a natural-looking texture seen
through a window that moves along a known trajectory."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def texture(height: int, width: int, seed: int = 0, falloff: float = 1.6) -> torch.Tensor:
    """A 3 x H x W texture in [0, 1] with a 1/f^falloff spectrum, like natural images."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(3, height, width, generator=generator)
    fy = torch.fft.fftfreq(height).reshape(-1, 1)
    fx = torch.fft.rfftfreq(width).reshape(1, -1)
    radius = torch.sqrt(fx * fx + fy * fy).clamp_min(1.0 / max(height, width))
    image = torch.fft.irfft2(torch.fft.rfft2(noise) / radius**falloff, s=(height, width))
    low = image.amin(dim=(1, 2), keepdim=True)
    high = image.amax(dim=(1, 2), keepdim=True)
    return (image - low) / (high - low)


def default_trajectory(num_frames: int, width: int, height: int) -> np.ndarray:
    """A smooth, non-linear pan in pixels, [frames, 2] as (dx, dy): a sway plus a drift."""
    k = np.arange(num_frames) / max(num_frames - 1, 1)
    dx = 0.25 * width * np.sin(2.0 * np.pi * k)
    dy = 0.15 * height * k
    return np.stack((dx, dy), axis=-1)


def pan_clip(
    width: int,
    height: int,
    trajectory: np.ndarray,
    seed: int = 0,
) -> np.ndarray:
    """T x H x W x 3 uint8 frames: frame k shows the texture shifted right/down by
    trajectory[k] pixels (content at canvas position p appears at p + trajectory[k])."""
    margin_x = int(np.ceil(np.abs(trajectory[:, 0]).max())) + 2
    margin_y = int(np.ceil(np.abs(trajectory[:, 1]).max())) + 2
    big_w, big_h = width + 2 * margin_x, height + 2 * margin_y
    image = texture(big_h, big_w, seed)[None]
    frames = []
    columns = torch.arange(width, dtype=torch.float64) + margin_x
    rows = torch.arange(height, dtype=torch.float64) + margin_y
    for dx, dy in trajectory:
        # Sample the big texture at (p - shift), mapped to grid_sample's [-1, 1] (pixel centres).
        gx = (2.0 * (columns - dx) + 1.0) / big_w - 1.0
        gy = (2.0 * (rows - dy) + 1.0) / big_h - 1.0
        grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)[None].float()
        frame = F.grid_sample(image, grid, mode="bicubic", align_corners=False)
        frames.append(frame[0].permute(1, 2, 0))
    return (torch.stack(frames).clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()


def object_clip(
    width: int,
    height: int,
    background: np.ndarray,
    path: np.ndarray,
    radius: float,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A textured disc moving over a panning texture, with the disc's true masks.

    The background pans along `background` ([frames, 2] pixels, as in `pan_clip`); the disc,
    of `radius` pixels with a texture of its own that moves with it, is centred at the frame's
    centre plus `path[k]` in frame k. Returns T x H x W x 3 uint8 frames and T x H x W bool
    masks (True on the disc, judged at pixel centres; the disc's edge is hard, so the masks
    are exact).
    """
    scene = pan_clip(width, height, background, seed)
    disc = pan_clip(width, height, path, seed + 1)
    x = np.arange(width) + 0.5 - width / 2
    y = np.arange(height) + 0.5 - height / 2
    dx = x[None, None, :] - path[:, 0, None, None]
    dy = y[None, :, None] - path[:, 1, None, None]
    masks = dx * dx + dy * dy <= radius * radius
    return np.where(masks[..., None], disc, scene), masks
