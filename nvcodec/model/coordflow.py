"""CoordFlow: parallel layers, each a flow MLP on t and a colour MLP on flowed (x', y', t).

The colour MLP reads the flowed point through Fourier features (the MLP representation) or
through latent grids over the canonical space (the grid representation, `latent_grid`).

Coordinate convention (also in spec/cfv.md):
  * space: pixel centres of a W x H frame map to x = (2 (i + 0.5) / W - 1) * W / max(W, H) and
    y = (2 (j + 0.5) / H - 1) * H / max(W, H), so the longer side spans [-1, 1] and the aspect is
    kept; any render size samples the same continuous domain;
  * time: source frame k (fractional k for sub-frame times) maps to t = 2 k / T - 1 for a clip of
    T frames, so t is linear in seconds and frame 0 sits at t = -1.

All layers' weights live in stacked tensors (leading dimension = layer) so that one batched
matrix product evaluates every layer at once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import nn

from nvcodec.model.config import ModelConfig, encoding_size
from nvcodec.model.coordinates import affine_points
from nvcodec.model.fused_linear import fused_stack
from nvcodec.model.latent_grid import LatentGrids

ACTIVATIONS = {"gelu": nn.functional.gelu, "silu": nn.functional.silu, "relu": torch.relu}
# Without autograd the activation may overwrite its input: one pass over the activations
# instead of a read, a fresh allocation and a write, which on a CPU is a fifth of a hidden layer.
ACTIVATIONS_IN_PLACE = {
    "gelu": torch.ops.aten.gelu_,
    "silu": torch.ops.aten.silu_,
    "relu": torch.relu_,
}


def fourier_features(coords: torch.Tensor, octaves: int) -> torch.Tensor:
    """Map [..., D] coordinates to [..., D (1 + 2 octaves)]: raw, sin and cos at pi 2^(k-1).

    The lowest octave has period 4, twice the frame's extent, so content the flow moves by up to
    a frame width still gets distinct features.
    """
    if octaves == 0:
        return coords
    angles = (coords.unsqueeze(-1) * _frequencies(octaves, coords.dtype, coords.device)).flatten(-2)
    return torch.cat([coords, torch.sin(angles), torch.cos(angles)], dim=-1)


@functools.cache
def _frequencies(octaves: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # Cached: a renderer encodes hundreds of pixel chunks per frame.
    return math.pi * 2.0 ** torch.arange(-1, octaves - 1, dtype=dtype, device=device)


class StackedMLP(nn.Module):
    """`layers` independent MLPs of equal shape, evaluated with batched matrix products.

    Weights are [layers, out, in] (the output channel first, as int8 quantization expects).
    The first linear map may be split: when `x` has fewer features than the first layer takes,
    the missing trailing features were projected by the caller and arrive as
    `first_bias_offset` (see `CoordFlow.frame_evaluator`), which lets inputs shared by a whole
    frame be projected once per frame.
    """

    def __init__(self, layers: int, sizes: list[int], activation: str) -> None:
        super().__init__()
        self.activation_name = activation
        self.activation = ACTIVATIONS[activation]
        self.activation_in_place = ACTIVATIONS_IN_PLACE[activation]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(
                nn.Parameter(torch.empty(layers, fan_out, fan_in).uniform_(-bound, bound))
            )
            self.biases.append(
                nn.Parameter(torch.empty(layers, 1, fan_out).uniform_(-bound, bound))
            )

    def forward(
        self,
        x: torch.Tensor,
        first_bias_offset: torch.Tensor | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """x: [layers, N, in'] -> [layers, N, out] in float32; `first_bias_offset`
        [layers, 1, hidden] is added to the first layer's bias.

        Every product runs in `dtype` with float32 accumulation. The last one too: in
        bfloat16 its outputs are rounded to 8 significant bits (a quarter of an 8-bit code
        value for a colour), where a float32 last product copied the widest activations to
        float32 and their gradient back at every step.
        """
        return self.apply_maps(self.linear_maps(x.shape[-1], first_bias_offset, dtype), x)

    def linear_maps(
        self, fan_in: int, first_bias_offset: torch.Tensor | None, dtype: torch.dtype
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(bias [layers, 1, out], transposed weight [layers, in, out]) of each map in `dtype`,
        the first cut to `fan_in` inputs with `first_bias_offset` in its bias: what `forward`
        uses, prepared once for many batches that share them."""
        maps = []
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            if index == 0:
                weight = weight[:, :, :fan_in]
                if first_bias_offset is not None:
                    bias = bias + first_bias_offset
            maps.append((bias.to(dtype), weight.to(dtype).transpose(1, 2)))
        return maps

    def evaluator(
        self,
        fan_in: int,
        first_bias_offset: torch.Tensor | None,
        dtype: torch.dtype,
        fused: bool = True,
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """`forward` for many batches that share its maps, prepared once: as fused oneDNN
        calls where `fused` asks for them and they apply (`fused_stack`), else `apply_maps`."""
        maps = self.linear_maps(fan_in, first_bias_offset, dtype)
        fast = fused_stack(maps, self.activation_name) if fused else None
        return fast or functools.partial(self.apply_maps, maps)

    def apply_maps(
        self, maps: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor
    ) -> torch.Tensor:
        """Run x [layers, N, in'] through `linear_maps`' output: [layers, N, out] in float32."""
        activation = self.activation if torch.is_grad_enabled() else self.activation_in_place
        x = x.to(maps[0][1].dtype)
        for index, (bias, weight_t) in enumerate(maps):
            x = torch.baddbmm(bias, x, weight_t)
            if index < len(maps) - 1:
                x = activation(x)
        return x.float()


class CoordFlow(nn.Module):
    """N CoordFlow layers blended by a softmax over their alphas (paper eqs. 1-4)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        layers = config.num_layers
        self.flow: StackedMLP | None = None
        if config.use_flow:
            self.flow = StackedMLP(layers, config.flow_sizes, config.activation)
            # Zero last layer: s = exp(0) = 1, theta = dx = dy = 0, the identity at first.
            nn.init.zeros_(self.flow.weights[-1])
            nn.init.zeros_(self.flow.biases[-1])
        self.grids: LatentGrids | None = None
        if config.grid is not None:
            self.grids = LatentGrids(config.grid, layers)
        self.xy_features = encoding_size(config.xy_octaves, 2)
        self.colour = StackedMLP(layers, config.colour_sizes, config.activation)

    def linear_weights(self) -> list[nn.Parameter]:
        """The weights of every linear map, flow net first, as the file and its rate control
        count them (each stacked over the layers: [layers, out, in])."""
        flow = [] if self.flow is None else list(self.flow.weights)
        return flow + list(self.colour.weights)

    def similarity(self, t: torch.Tensor) -> torch.Tensor:
        """Per-layer 2 x 3 similarity matrices of eq. (1) for times t [F]: [layers, F, 2, 3]."""
        layers = self.config.num_layers
        if self.flow is None:
            eye = torch.eye(2, 3, dtype=t.dtype, device=t.device)
            return eye.expand(layers, t.shape[0], 2, 3)
        return similarity_matrices(self.flow_parameters(t))

    def flow_parameters(self, t: torch.Tensor) -> torch.Tensor:
        """Each layer's flow output (log s, theta, dx, dy) at times t [F]: [layers, F, 4]; zeros,
        the identity, for a model without flow."""
        layers = self.config.num_layers
        if self.flow is None:
            return t.new_zeros(layers, t.shape[0], 4)
        encoded = fourier_features(t.unsqueeze(-1), self.config.flow_octaves)
        return self.flow(encoded.expand(layers, -1, -1))

    def frame_terms(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What depends on time only, computed once per frame: the similarity matrices and the
        time features' contribution to the colour net's first layer ([layers, F, width]), or
        for the grid representation the times themselves."""
        if self.grids is not None:
            return self.similarity(t), t
        t_encoded = fourier_features(t.unsqueeze(-1), self.config.t_octaves)
        t_weight = self.colour.weights[0][:, :, self.xy_features :]
        t_projection = torch.matmul(t_encoded, t_weight.transpose(1, 2))
        return self.similarity(t), t_projection

    def layer_outputs(
        self,
        xy: torch.Tensor,
        frame_index: torch.Tensor,
        times: torch.Tensor,
        dtype: torch.dtype = torch.float32,
        latents: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Raw RGB-alpha of every layer for pixels xy [N, 2] at times[frame_index]: [layers, N, 4]
        in float32, the colour nets' products in `dtype`; a grid model reads `latents`
        (`LatentGrids.read_all`) when given.

        The fitting path: pixels of many frames in one batch. The time features join each
        pixel's input, so the first layer is one product whose backward is a plain matrix
        product too (a per-frame projection gathered per pixel would need a scatter back).
        """
        # index_select, not fancy indexing: its backward is a dense index_add, several times
        # faster on the CPU than the scatter that fancy indexing's backward runs.
        m = self.similarity(times).index_select(1, frame_index)  # [layers, N, 2, 3]
        x, y = xy[:, 0], xy[:, 1]
        flowed = torch.stack(
            (
                m[..., 0, 0] * x + m[..., 0, 1] * y + m[..., 0, 2],
                m[..., 1, 0] * x + m[..., 1, 1] * y + m[..., 1, 2],
            ),
            dim=-1,
        )
        if self.grids is not None:
            features = self.grids.features(flowed, times.index_select(0, frame_index), latents)
            return self.colour(features, dtype=dtype)
        t_encoded = fourier_features(times.unsqueeze(-1), self.config.t_octaves)
        t_features = t_encoded.index_select(0, frame_index).expand(self.config.num_layers, -1, -1)
        return self.colour(
            torch.cat([fourier_features(flowed, self.config.xy_octaves), t_features], -1),
            dtype=dtype,
        )

    def frame_evaluator(
        self,
        frame: int,
        frame_terms: tuple[torch.Tensor, torch.Tensor],
        dtype: torch.dtype = torch.float32,
        fused: bool = True,
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """`layer_outputs` for pixels that all lie in one frame, the renderer's case, as a
        function of the pixels xy [N, 2]: the frame's matrices act as one small product and its
        time term joins the first bias, so no per-pixel copies of either are made, and what the
        frame's pixel chunks share is prepared once; `fused` as in `StackedMLP.evaluator`."""
        matrices, time_term = frame_terms
        m = matrices[:, frame]  # [layers, 2, 3]
        if self.grids is not None:
            read = self.grids.frame_reader(float(time_term[frame]), m)
            colour = self.colour.evaluator(self.config.colour_in, None, dtype, fused)
            return lambda xy: colour(read(xy))
        flowed = affine_points(m)
        colour = self.colour.evaluator(
            self.xy_features, time_term[:, frame : frame + 1], dtype, fused
        )
        octaves = self.config.xy_octaves
        return lambda xy: colour(fourier_features(flowed(xy), octaves))

    def forward(
        self, xy: torch.Tensor, frame_index: torch.Tensor, times: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Blend the layers for pixels xy [N, 2] at times[frame_index].

        Returns (rgb [N, 3], layer_rgb [layers, N, 3], weights [layers, N]) where `weights` is
        the softmax over the layers' alphas.
        """
        return blend(self.layer_outputs(xy, frame_index, times))


def blend(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eqs. (3)-(4): softmax over the layers' alphas weights their RGB (offset by 0.5)."""
    layer_rgb = raw[..., :3] + 0.5
    weights = torch.softmax(raw[..., 3], dim=0)
    rgb = (weights.unsqueeze(-1) * layer_rgb).sum(dim=0)
    return rgb, layer_rgb, weights


def similarity_matrices(params: torch.Tensor) -> torch.Tensor:
    """(log s, theta, dx, dy) [..., 4] -> [[s cos, -s sin, dx], [s sin, s cos, dy]] [..., 2, 3].

    The scale is exp(log s) so it stays positive and the zero output is the identity.
    """
    log_s, theta, dx, dy = params.unbind(-1)
    s = torch.exp(log_s)
    cos, sin = s * torch.cos(theta), s * torch.sin(theta)
    rows = (torch.stack((cos, -sin, dx), -1), torch.stack((sin, cos, dy), -1))
    return torch.stack(rows, dim=-2)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
