"""Context-adaptive range coding of latent grids (version 1.4, spec/cfv.md section 4.7).

A grid's int8 codes are taken as slices of its last two axes, and coded under one model in C
order, as any tensor, or by context, whichever is cheaper. Each code's **context class** is
`min(2 (|left| + |up|) + |up-left| + |up-right|, 11)` over its already-coded neighbours in its
slice (0 beyond the slice's edges), and each class of each grid has a model of its own
(those of nvcodec.bitstream.entropy), so a latent beside large latents is coded under a wide
distribution and one among zeros under a narrow one. Codes are coded by wavefronts
`d = 2 i + j` (row i, column j), whose neighbours all lie on earlier wavefronts: a decoder
classifies a whole wavefront at once, then decodes its classes in turn, every slice together.
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

Magnitudes = TypeVar("Magnitudes", np.ndarray, "torch.Tensor")
"""Neighbour magnitudes: numpy arrays for the coder, torch tensors for the fit's estimate."""

GridModels = TensorModel | list[TensorModel]
"""How one grid is coded: one model for all its codes in C order, or one per context class."""


def slice_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """A grid of `shape` as (slices, rows, columns): its last two axes are the slices' own."""
    if len(shape) < 2:
        raise ValueError(f"a context-coded grid has at least two axes, not shape {shape}")
    return math.prod(shape[:-2]), shape[-2], shape[-1]


def context_class(
    left: Magnitudes, up: Magnitudes, up_left: Magnitudes, up_right: Magnitudes
) -> Magnitudes:
    """The context class of codes whose neighbours have these magnitudes: numpy arrays for
    the coder, torch tensors for the fit's rate estimate."""
    return (2 * (left + up) + up_left + up_right).clip(max=CONTEXT_CLASSES - 1)


def context_classes(codes: np.ndarray) -> np.ndarray:
    """Each code's context class, from codes [slices, rows, columns]."""
    return padded_context_classes(np.pad(np.abs(codes.astype(np.int32)), ((0, 0), (1, 0), (1, 1))))


def padded_context_classes(padded: Magnitudes) -> Magnitudes:
    """The context classes of magnitudes [slices, rows + 1, columns + 2] that have a zero row
    on top and a zero column either side of each slice."""
    return context_class(
        padded[:, 1:, :-2], padded[:, :-1, 1:-1], padded[:, :-1, :-2], padded[:, :-1, 2:]
    )


def _fit_grid_models(grid: np.ndarray, classes: np.ndarray) -> GridModels:
    """The cheaper coding of one grid's int8 codes [slices, rows, columns] of these context
    classes, headers included: one model, or one per class."""
    by_class = [fit_model_and_bits(grid[classes == k]) for k in range(CONTEXT_CLASSES)]
    one_model, one_model_bits = fit_model_and_bits(grid)
    if sum(bits for _, bits in by_class) < one_model_bits:
        return [model for model, _ in by_class]
    return one_model


def encode_grids(tensors: Sequence[np.ndarray]) -> tuple[list[GridModels], bytes]:
    """Range-code int8 grids (values -127..127) into one stream, each in C order under one
    model or by wavefronts under its context classes' models, whichever is cheaper. Returns
    each grid's models and the payload."""
    encoder = constriction.stream.queue.RangeEncoder()
    all_models = []
    for tensor in tensors:
        grid = np.asarray(tensor).reshape(slice_shape(np.shape(tensor)))
        classes = context_classes(grid)
        models = _fit_grid_models(grid, classes)
        all_models.append(models)
        if not isinstance(models, list):
            encode_codes(encoder, grid.ravel(), models)
            continue
        classes = classes.ravel()
        rows, columns = grid.shape[1:]
        wavefront = 2 * np.arange(rows)[:, None] + np.arange(columns)
        keys = np.broadcast_to(wavefront, grid.shape).ravel() * CONTEXT_CLASSES + classes
        order = np.argsort(keys, kind="stable")  # C order within a wavefront's class
        codes, sorted_classes = grid.ravel()[order], classes[order]
        cuts = [0, *(np.flatnonzero(np.diff(keys[order])) + 1), len(order)]
        for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
            encode_codes(encoder, codes[start:stop], models[sorted_classes[start]])
    return all_models, encoder.get_compressed().astype("<u4").tobytes()


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
    stride = columns + 2  # a padded row: a zero column either side
    padded = np.zeros(slices * (rows + 1) * stride, np.int32)  # and a zero row on top
    magnitude = np.zeros_like(padded)
    positions, starts = _wavefront_positions(slices, rows, columns)
    for start, stop in zip(starts[:-1], starts[1:], strict=True):
        at = positions[start:stop]
        classes = context_class(
            magnitude[at - 1],
            magnitude[at - stride],
            magnitude[at - stride - 1],
            magnitude[at - stride + 1],
        )
        for k in np.unique(classes):
            chosen = at[classes == k]
            values = decode_codes(decoder, models[k], len(chosen))
            padded[chosen] = values
            magnitude[chosen] = np.abs(values)
    grid = padded.reshape(slices, rows + 1, stride)[:, 1:, 1:-1]
    return grid.astype(np.int8).reshape(shape)


@lru_cache(maxsize=4)
def _wavefront_positions(slices: int, rows: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """The codes in coding order as indices into the padded grid (a zero row on top and a zero
    column either side of each slice), and where each wavefront starts in that order."""
    stride = columns + 2
    s, i, j = np.indices((slices, rows, columns)).reshape(3, -1)
    wavefront = 2 * i + j
    order = np.argsort(wavefront, kind="stable")  # within a wavefront: slice, then row
    positions = (s * (rows + 1) + i + 1) * stride + j + 1
    starts = np.searchsorted(wavefront[order], np.arange(2 * (rows - 1) + columns + 1))
    return positions[order], starts
