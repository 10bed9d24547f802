"""The rate term of grid fitting: a differentiable estimate of the latents' coded bits.

Each grid has a zero-mean Laplace distribution of learned scale for each of the context
classes by which the file codes it (`nvcodec.bitstream.context`: a latent beside large
latents, a wide one; among zeros, a narrow one); a latent `v` costs `-log2 P(v)`, `P` its
class's mass on `[v - 1/2, v + 1/2]`, the bin that rounding maps to `round(v)`. During
fitting the latents are read with uniform noise of one step (the noise that rounding would
add, in expectation), later through straight-through rounding, so that the fit sees the
integers the file stores (`noisy`, `straight_through`).
The file's own entropy coder fits its models to the rounded latents afterwards; this estimate
only steers the fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nvcodec.bitstream.context import (
    TEMPORAL_CLASSES,
    frames_of,
    padded_context_classes,
    with_previous_frame,
)
from nvcodec.model.latent_grid import LatentGrids

MIN_PROBABILITY = 2.0**-16
"""Floor of a latent's probability: 16 bits at most, and a finite gradient everywhere."""
LATENT_LIMIT = 127.0
"""Latents are stored as int8 codes of step 1."""


def noisy(latents: torch.Tensor) -> torch.Tensor:
    """Latents plus uniform noise in [-1/2, 1/2): rounding's error as a differentiable proxy."""
    return latents + (torch.rand_like(latents) - 0.5)


def straight_through(latents: torch.Tensor) -> torch.Tensor:
    """Rounded latents whose gradient is that of the identity."""
    return latents + (latents.round() - latents).detach()


def laplace_bits(values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Bits of each value's unit bin under a zero-mean Laplace of `scale` (broadcast)."""
    magnitude = values.abs()
    upper = torch.exp(-(magnitude + 0.5) / scale)
    near = torch.exp(-(magnitude - 0.5).abs() / scale)  # the bin's edge nearer zero
    # |v| >= 1/2: half of the mass between the two tails; |v| < 1/2: all but the two tails.
    probability = torch.where(magnitude >= 0.5, 0.5 * (near - upper), 1.0 - 0.5 * (near + upper))
    return -torch.log2(probability.clamp(min=MIN_PROBABILITY))


def latent_context_classes(latents: torch.Tensor) -> torch.Tensor:
    """The context class with the previous frame of each latent as read (noise included), as
    the file's coder assigns it to rounded latents: from the rounded neighbours left, up,
    up-left and up-right within each slice of the last two axes, and the rounded latent at
    the same place in the previous frame (the third-last axis; a plane has one frame, so
    its classes are those of plain context coding). Not differentiable, and needs none."""
    magnitude = latents.detach().round().abs().reshape(-1, *latents.shape[-2:])
    padded = torch.nn.functional.pad(magnitude, (1, 1, 1, 0))
    by_frame = (-1, frames_of(latents.shape), *latents.shape[-2:])
    classes = padded_context_classes(padded).view(by_frame)
    return with_previous_frame(classes, magnitude.view(by_frame)).long().view(latents.shape)


class LatentRate(nn.Module):
    """Learned Laplace scales, one per context class with the previous frame of each grid, as
    the file codes a volume (`latent_context_classes`), and the bits they give."""

    def __init__(self, grids: LatentGrids) -> None:
        super().__init__()
        self.log_scales = nn.ParameterList(
            nn.Parameter(torch.zeros(TEMPORAL_CLASSES)) for _ in grids.tensors()
        )

    def bits(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        """Estimated bits of the grids as read (`LatentGrids.read_all`), in `tensors` order."""
        total = torch.zeros((), device=self.log_scales[0].device)
        for values, log_scale in zip(latents, self.log_scales, strict=True):
            # index_select: its backward is a dense index_add, where indexing's is a scatter.
            classes = latent_context_classes(values).flatten()
            scale = log_scale.exp().index_select(0, classes).view_as(values)
            total = total + laplace_bits(values, scale).sum()
        return total


def round_latents(grids: LatentGrids) -> None:
    """Put the latents on the integers the file stores, and stop training them."""
    with torch.no_grad():
        for tensor in grids.tensors():
            tensor.copy_(tensor.round().clamp(-LATENT_LIMIT, LATENT_LIMIT))
            tensor.requires_grad_(False)
    grids.quantizer = None
