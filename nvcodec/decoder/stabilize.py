"""Video stabilization (the paper's section 4.3 and Algorithm 1): render every frame through a
smoothed version of the camera's similarity transform.

What is smoothed is the flow network's own output per frame, (log s, theta, dx, dy), not the
entries of the 2 x 3 matrices. Averaging matrices of different rotations shrinks them (the mean
of two rotations by +-theta is a scaling by cos theta), so a jittery rotation would turn into a
zoom; in (log s, theta) the scale and the angle are smoothed separately, and the translation
column is the same either way.

One layer's motion defines the camera (by default the layer with the largest mean alpha, the
one covering most of the clip). Every layer is then sampled through the same correction, so
objects keep their motion relative to the background and the layers stay aligned.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, similarity_matrices
from nvcodec.model.coordinates import frame_times

TRUNCATE = 4.0
"""The Gaussian window ends at this many sigmas."""


def gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Smooth a trajectory [F, ...] along its first axis with a Gaussian of `sigma` samples.

    Each sample is replaced by a Gaussian-weighted straight-line fit through its window,
    evaluated at the sample. Away from the clip's ends the window is symmetric and this is
    exactly a Gaussian average; within 4 sigma of an end the window is one-sided, and the line
    fit keeps the end from being pulled inward (as reflect or nearest padding would do) or
    pinned to its own jitter (as odd reflection would do). Constant trajectories come back
    unchanged bit for bit, linear ones up to rounding.
    """
    values = np.asarray(values, dtype=np.float64)
    count = len(values)
    if count < 2:
        return values.copy()
    radius = max(1, math.ceil(TRUNCATE * sigma))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    index = np.arange(count)[:, None] + np.arange(-radius, radius + 1)  # [F, window]
    inside = (index >= 0) & (index < count)
    with np.errstate(over="ignore"):  # a tiny sigma squares to inf: a weight of exactly 0
        weights = np.where(inside, np.exp(-0.5 * (offsets / sigma) ** 2), 0.0)
    s0, s1, s2 = (np.sum(weights * offsets**k, axis=1, keepdims=True) for k in range(3))
    determinant = s0 * s2 - s1 * s1
    # Weighted least squares of a line, solved in closed form for its value at offset 0. A
    # sigma so small that the neighbours' weights underflow leaves no line to fit: keep the
    # sample itself.
    single = determinant <= 1e-300
    kernel = np.where(
        single,
        (offsets == 0).astype(np.float64),
        weights * (s2 - offsets * s1) / np.where(single, 1.0, determinant),
    )
    # Relative to the first sample, so that a constant trajectory is all zeros to the kernel.
    anchor = values[:1]
    relative = values - anchor
    window = relative[np.clip(index, 0, count - 1)]  # [F, window, ...]
    kernel = kernel.reshape(kernel.shape + (1,) * (values.ndim - 1))
    return np.sum(kernel * window, axis=1) + anchor


def sample_trajectory(trajectory: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """A trajectory [T, D] given at source frames 0..T-1, linearly interpolated at (possibly
    fractional) frame numbers [F]: [F, D]; held constant past the last frame."""
    known = np.arange(len(trajectory))
    return np.stack([np.interp(frames, known, column) for column in trajectory.T], axis=-1)


def stabilized_transforms(
    model: CoordFlow, canvas: Canvas, sigma: float, camera: int
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The per-frame matrices of a stabilized render, for `render_raw(transforms=...)`.

    Layer `camera`'s flow is smoothed over the clip's own frames with a Gaussian of `sigma`
    frames (`gaussian_smooth`), whatever the output's frame rate. A frame at source time t is
    rendered through C(t) = T_camera(t)^-1 T'_camera(t), the correction that turns the
    camera's transform T into its smoothed T': layer k samples T_k(t) C(t) p, so the camera
    layer sees exactly T'(t) and the others move with it.
    """
    device = next(model.parameters()).device
    with torch.no_grad():
        source = torch.arange(canvas.num_frames, dtype=torch.float64)
        params = model.flow_parameters(frame_times(canvas, source).to(device))[camera]
    smoothed = gaussian_smooth(params.double().cpu().numpy(), sigma)

    def transforms(frames: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            params = model.flow_parameters(frame_times(canvas, frames).to(device))
        flow = _homogeneous(similarity_matrices(params.double().cpu()))
        wanted = similarity_matrices(torch.from_numpy(sample_trajectory(smoothed, frames.numpy())))
        correction = torch.linalg.solve(flow[camera], _homogeneous(wanted))
        return (flow @ correction)[..., :2, :]

    return transforms


def _homogeneous(matrices: torch.Tensor) -> torch.Tensor:
    """[..., 2, 3] affine matrices to [..., 3, 3] with the row (0, 0, 1) appended."""
    last = torch.zeros(matrices.shape[:-2] + (1, 3), dtype=matrices.dtype)
    last[..., 2] = 1.0
    return torch.cat((matrices, last), dim=-2)
