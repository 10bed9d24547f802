"""Context-adaptive range coding of latent grids (versions 1.4 and 1.5, spec/cfv.md 4.7).

A grid's int8 codes are taken as slices of its last two axes, and coded under one model in C
order, as any tensor, or by context, whichever is cheaper. Each code's **context class** is
`min(2 (|left| + |up|) + |up-left| + |up-right|, 11)` over its already-coded neighbours in its
slice (0 beyond the slice's edges), and each class of each grid has a model of its own
(those of nvcodec.bitstream.entropy), so a latent beside large latents is coded under a wide
distribution and one among zeros under a narrow one. A grid whose third-last axis is time
(a volume's frames) may also tell apart, within each class, the magnitude of the code at the
same place in the previous frame's slice (version 1.5): what persists from frame to frame
is cheap. Codes are coded by wavefronts `d = 2 i + j` (row i, column j), plus the slice's
frame when the previous frame is read, so that every code a class reads lies on an earlier
wavefront: a decoder classifies a whole wavefront at once, then decodes its classes in turn,
every slice together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

import constriction
import numpy as np

from nvcodec.bitstream.entropy import (
    TensorModel,
    decode_codes,
    encode_codes,
    fit_model_and_bits,
    range_decoder,
)

if TYPE_CHECKING:
    import torch

CONTEXT_CLASSES = 12
"""Models of a context-coded grid: one per context class."""
PREVIOUS_LEVELS = 4
"""Magnitudes of the previous frame's code that a class with the previous frame tells apart:
0, 1, 2, and 3 or more."""
TEMPORAL_CLASSES = CONTEXT_CLASSES * PREVIOUS_LEVELS
"""Models of a grid coded by context with the previous frame."""

Magnitudes = TypeVar("Magnitudes", np.ndarray, "torch.Tensor")
"""Neighbour magnitudes: numpy arrays for the coder, torch tensors for the fit's estimate."""

GridModels = TensorModel | list[TensorModel]
"""How one grid is coded: one model for all its codes in C order, or one per context class
(CONTEXT_CLASSES of them, or TEMPORAL_CLASSES with the previous frame)."""


def slice_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """A grid of `shape` as (slices, rows, columns): its last two axes are the slices' own."""
    if len(shape) < 2:
        raise ValueError(f"a context-coded grid has at least two axes, not shape {shape}")
    return math.prod(shape[:-2]), shape[-2], shape[-1]


def frames_of(shape: Sequence[int]) -> int:
    """The frames of a grid of `shape`: the length of its third-last axis (1 for two axes),
    along which a slice's previous frame is the slice before it."""
    return shape[-3] if len(shape) >= 3 else 1


def context_class(
    left: Magnitudes, up: Magnitudes, up_left: Magnitudes, up_right: Magnitudes
) -> Magnitudes:
    """The context class of codes whose neighbours have these magnitudes: numpy arrays for
    the coder, torch tensors for the fit's rate estimate."""
    return (2 * (left + up) + up_left + up_right).clip(max=CONTEXT_CLASSES - 1)


def context_classes(codes: np.ndarray) -> np.ndarray:
    """Each code's context class, from codes [slices, rows, columns]."""
    return padded_context_classes(np.pad(np.abs(codes.astype(np.int32)), ((0, 0), (1, 0), (1, 1))))


def with_previous_frame(classes: Magnitudes, magnitudes: Magnitudes) -> Magnitudes:
    """Context classes [runs, frames, rows, columns] refined by the magnitude of the code at
    the same place in the previous frame's slice (none before the first frame), given the
    magnitudes of the same shape: `PREVIOUS_LEVELS class + min(|previous|, 3)`."""
    refined = classes * PREVIOUS_LEVELS
    refined[:, 1:] += magnitudes[:, :-1].clip(max=PREVIOUS_LEVELS - 1)
    return refined


def temporal_context_classes(codes: np.ndarray, frames: int) -> np.ndarray:
    """Each code's context class with the previous frame, from codes [slices, rows, columns]
    whose slices run through `frames` frames at a time."""
    magnitudes = np.abs(codes.astype(np.int32)).reshape(-1, frames, *codes.shape[1:])
    classes = context_classes(codes).reshape(magnitudes.shape)
    return with_previous_frame(classes, magnitudes).reshape(codes.shape)


def padded_context_classes(padded: Magnitudes) -> Magnitudes:
    """The context classes of magnitudes [slices, rows + 1, columns + 2] that have a zero row
    on top and a zero column either side of each slice."""
    return context_class(
        padded[:, 1:, :-2], padded[:, :-1, 1:-1], padded[:, :-1, :-2], padded[:, :-1, 2:]
    )


def _fit_grid_models(grid: np.ndarray, frames: int) -> tuple[GridModels, np.ndarray | None]:
    """The cheapest coding of one grid's int8 codes [slices, rows, columns], headers
    included: one model, one per context class, or (for more than one frame) one per class
    with the previous frame; with the classes it codes by (None for one model)."""
    one_model, best_bits = fit_model_and_bits(grid)
    best: tuple[GridModels, np.ndarray | None] = (one_model, None)
    partitions = [(context_classes(grid), CONTEXT_CLASSES)]
    if frames > 1:
        partitions.append((temporal_context_classes(grid, frames), TEMPORAL_CLASSES))
    for classes, count in partitions:
        by_class = [fit_model_and_bits(grid[classes == k]) for k in range(count)]
        bits = sum(bits for _, bits in by_class)
        if bits < best_bits:
            best, best_bits = ([model for model, _ in by_class], classes), bits
    return best


def encode_grids(
    tensors: Sequence[np.ndarray], previous_frame: bool = True
) -> tuple[list[GridModels], bytes]:
    """Range-code int8 grids (values -127..127) into one stream, each in C order under one
    model or by wavefronts under its context classes' models (with the previous frame, unless
    `previous_frame` is false: format 1.4's codings only), whichever is cheapest. Returns each
    grid's models and the payload."""
    encoder = constriction.stream.queue.RangeEncoder()
    all_models = []
    for tensor in tensors:
        frames = frames_of(np.shape(tensor)) if previous_frame else 1
        grid = np.asarray(tensor).reshape(slice_shape(np.shape(tensor)))
        models, classes = _fit_grid_models(grid, frames)
        all_models.append(models)
        if classes is None:
            encode_codes(encoder, grid.ravel(), models)
            continue
        classes = classes.ravel()
        wavefront = _wavefronts(grid.shape, frames if len(models) == TEMPORAL_CLASSES else 1)
        keys = wavefront.ravel() * len(models) + classes
        order = np.argsort(keys, kind="stable")  # C order within a wavefront's class
        codes, sorted_classes = grid.ravel()[order], classes[order]
        cuts = [0, *(np.flatnonzero(np.diff(keys[order])) + 1), len(order)]
        for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
            encode_codes(encoder, codes[start:stop], models[sorted_classes[start]])
    return all_models, encoder.get_compressed().astype("<u4").tobytes()


def _wavefronts(shape: tuple[int, int, int], frames: int) -> np.ndarray:
    """The wavefront of each position of a grid [slices, rows, columns]: `2 i + j`, plus the
    slice's frame when the previous frame is read (`frames` > 1)."""
    s, i, j = np.indices(shape)
    return 2 * i + j + s % frames


def decode_grids(
    models: Sequence[GridModels], shapes: Sequence[tuple[int, ...]], payload: bytes
) -> list[np.ndarray]:
    """Inverse of :func:`encode_grids`, given each grid's models (as `read_model` checked
    them) and shape, which the caller has bounded. A damaged payload raises CfvError or
    decodes to wrong values (the chunk CRC catches damage)."""
    decoder = range_decoder(payload)
    out = []
    for grid_models, shape in zip(models, shapes, strict=True):
        if isinstance(grid_models, list):
            out.append(_decode_by_wavefronts(decoder, grid_models, shape))
        else:
            codes = decode_codes(decoder, grid_models, math.prod(shape))
            out.append(codes.astype(np.int8).reshape(shape))
    return out


def _decode_by_wavefronts(
    decoder: object, models: Sequence[TensorModel], shape: tuple[int, ...]
) -> np.ndarray:
    slices, rows, columns = slice_shape(shape)
    if slices * rows * columns == 0:
        return np.zeros(shape, np.int8)
    frames = frames_of(shape) if len(models) == TEMPORAL_CLASSES else 1
    stride = columns + 2  # a padded row: a zero column either side
    padded = np.zeros(slices * (rows + 1) * stride, np.int32)  # and a zero row on top
    magnitude = np.zeros_like(padded)
    positions, previous, starts = _wavefront_positions(slices, rows, columns, frames)
    for start, stop in zip(starts[:-1], starts[1:], strict=True):
        at = positions[start:stop]
        classes = context_class(
            magnitude[at - 1],
            magnitude[at - stride],
            magnitude[at - stride - 1],
            magnitude[at - stride + 1],
        )
        if frames > 1:
            before = magnitude[previous[start:stop]].clip(max=PREVIOUS_LEVELS - 1)
            classes = classes * PREVIOUS_LEVELS + before
        for k in np.unique(classes):
            chosen = at[classes == k]
            values = decode_codes(decoder, models[k], len(chosen))
            padded[chosen] = values
            magnitude[chosen] = np.abs(values)
    grid = padded.reshape(slices, rows + 1, stride)[:, 1:, 1:-1]
    return grid.astype(np.int8).reshape(shape)


@lru_cache(maxsize=4)
def _wavefront_positions(
    slices: int, rows: int, columns: int, frames: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The codes in coding order as indices into the padded grid (a zero row on top and a zero
    column either side of each slice), the index of each one's place in the previous frame's
    slice (0, a padding zero, in a first frame), and where each wavefront starts in that
    order."""
    stride = columns + 2
    s, i, j = np.indices((slices, rows, columns)).reshape(3, -1)
    wavefront = _wavefronts((slices, rows, columns), frames).ravel()
    order = np.argsort(wavefront, kind="stable")  # within a wavefront: slice, then row
    positions = (s * (rows + 1) + i + 1) * stride + j + 1
    previous = np.where(s % frames > 0, positions - (rows + 1) * stride, 0)
    starts = np.searchsorted(wavefront[order], np.arange(wavefront.max() + 2))
    return positions[order], previous[order], starts
