"""Latent grids: the grid representation's colour input, read at the flowed coordinates.

Each CoordFlow layer has a pyramid of one-channel 2-D grids over the canonical window and one
coarse multi-channel (x', y', t) grid. A point reads every grid by bilinear (trilinear for the
x-y-t grid) interpolation, the grid's cells centred as `grid_sample` with
`align_corners=False` has them, coordinates beyond the window clamped to its border
(spec/cfv.md, section 6.4). The latents are stored as integers times a per-channel scale.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.functional import grid_sample

from nvcodec.model.config import GridConfig
from nvcodec.model.coordinates import affine_points

Quantizer = Callable[[torch.Tensor], torch.Tensor]


class LatentGrids(nn.Module):
    """The latent grids of every layer: `planes[k]` [layers, 1, h_k, w_k] (finest first) and
    `volume` [layers, C, T', h, w]; zero at first, as an untrained grid says nothing.

    `quantizer`, when set, maps each grid before it is read (the encoder's noise or rounding);
    a decoded model has none, its latents being already on their grid."""

    def __init__(self, grid: GridConfig, layers: int) -> None:
        super().__init__()
        self.grid = grid
        self.planes = nn.ParameterList(
            nn.Parameter(torch.zeros(layers, 1, h, w)) for h, w in grid.level_sizes
        )
        self.volume = nn.Parameter(torch.zeros(layers, *grid.xyt_shape))
        half_x, half_y = grid.half_extent
        self.inverse_half_window = (1.0 / half_x, 1.0 / half_y)
        self.quantizer: Quantizer | None = None

    def tensors(self) -> list[nn.Parameter]:
        """Every grid, planes finest first then the volume, as the file stores them."""
        return [*self.planes, self.volume]

    def read(self, tensor: torch.Tensor) -> torch.Tensor:
        """A grid as the colour nets see it: through `quantizer`, if set."""
        return tensor if self.quantizer is None else self.quantizer(tensor)

    def read_all(self) -> list[torch.Tensor]:
        """Every grid as `read` gives it, in `tensors` order: one draw of the encoder's noise
        for a step, shared by the features and the rate."""
        return [self.read(tensor) for tensor in self.tensors()]

    def _window_coordinates(self, flowed: torch.Tensor) -> torch.Tensor:
        """Flowed points [layers, N, 2] in the window's [-1, 1] units: [layers, 1, N, 2]."""
        return (flowed * flowed.new_tensor(self.inverse_half_window)).unsqueeze(1)

    def features(
        self, flowed: torch.Tensor, t: torch.Tensor, latents: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Grid values at flowed points [layers, N, 2] and their times t [N]: [layers, N, F],
        the 2-D levels finest first, then the x-y-t channels; read from `latents` (`read_all`'s
        list) when given."""
        *planes, volume = self.read_all() if latents is None else latents
        layers, count = flowed.shape[:2]
        uv = self._window_coordinates(flowed)
        planes = [_sample(plane, uv) for plane in planes]
        uvt = torch.cat([uv, t.view(1, 1, count, 1).expand(layers, 1, count, 1)], -1)
        volume = grid_sample(
            volume,
            uvt.unsqueeze(1),
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        ).view(layers, -1, count)
        return torch.cat([*planes, volume], 1).transpose(1, 2)

    def frame_reader(
        self, t: float, matrices: torch.Tensor
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """`features` of pixels xy [N, 2] that all lie at time t, flowed by the layers' 2 x 3
        `matrices` [layers, 2, 3], as a function of xy: the volume is interpolated in time
        once, leaving 2-D reads only, and the flow and the window's scale act as one product.
        The features come out as a transposed view of [layers, F, N]: the reads join whole,
        and the colour nets' products take the transposed operand as it is, where
        interleaving the reads into [layers, N, F] costs more than those products."""
        planes = [self.read(plane) for plane in self.planes]
        volume = self.read(self.volume)
        frames = volume.shape[2]
        position = min(max(((t + 1.0) * frames - 1.0) / 2.0, 0.0), frames - 1.0)
        before = int(position)
        after = min(before + 1, frames - 1)
        share = position - before
        snapshot = torch.lerp(volume[:, :, before], volume[:, :, after], share)
        grids = [*planes, snapshot]
        window_points = affine_points(matrices, self.inverse_half_window)

        def read(xy: torch.Tensor) -> torch.Tensor:
            uv = window_points(xy).unsqueeze(1)
            return torch.cat([_sample(grid, uv) for grid in grids], 1).transpose(1, 2)

        return read


def _sample(grid: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear reads of grid [layers, C, h, w] at uv [layers, 1, N, 2]: [layers, C, N]."""
    out = grid_sample(grid, uv, mode="bilinear", padding_mode="border", align_corners=False)
    return out.flatten(2)
