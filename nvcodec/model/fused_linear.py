"""The CPU renderer's linear maps as oneDNN calls with the bias and the activation fused in.

A plain batched product writes the bias into every row before it multiplies, then the
activation makes another pass over the result: three passes over the widest tensors where
oneDNN makes one. The fused calls run one CoordFlow layer at a time; in float32 they differ from
the plain path only in the last bits (spec/cfv.md, section 9). `python -m tools.bench.render_grid
--baseline` measures both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

ONEDNN_ACTIVATIONS = {"gelu": ("gelu", "none"), "silu": ("swish", ""), "relu": ("relu", "")}
"""Each activation as oneDNN's fused op names it: (post-op, algorithm); GELU's is the exact,
erf-based one."""

LinearMaps = list[tuple[torch.Tensor, torch.Tensor]]
"""(bias [layers, 1, out], transposed weight [layers, in, out]) of each map, as
`StackedMLP.linear_maps` prepares them."""


@functools.cache
def fused_linear_available(dtype: torch.dtype = torch.float32) -> bool:
    """Whether this torch build has oneDNN's fused linear op and it runs on this CPU in
    `dtype` (bfloat16 needs vector units that oneDNN supports it on)."""
    try:
        op = torch.ops.mkldnn._linear_pointwise
        ones = functools.partial(torch.ones, dtype=dtype)
        probe = op(ones(2, 3), ones(4, 3), ones(4), "gelu", [], "none")
    except (AttributeError, RuntimeError):
        return False
    return probe.shape == (2, 4)


def fused_stack(maps: LinearMaps, activation: str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The MLP of `maps` (activation between maps, none after the last) as fused oneDNN calls:
    a function of x [layers, N, in] -> [layers, N, out].

    The products run in the maps' dtype (float32 or bfloat16, each map's input converted to
    it) and the result comes back in float32. None where it does not apply, so the caller
    keeps its plain path: for maps off the CPU or in another dtype, an activation oneDNN
    lacks, autograd on, or a torch without the op.
    """
    bias, weight_t = maps[0]
    if (
        weight_t.device.type != "cpu"
        or weight_t.dtype not in (torch.float32, torch.bfloat16)
        or activation not in ONEDNN_ACTIVATIONS
        or torch.is_grad_enabled()
        or not fused_linear_available(weight_t.dtype)
    ):
        return None
    post_op, algorithm = ONEDNN_ACTIVATIONS[activation]
    layers = weight_t.shape[0]
    per_layer = [
        [(w[layer].detach().t().contiguous(), b[layer].detach().reshape(-1)) for b, w in maps]
        for layer in range(layers)
    ]
    op = torch.ops.mkldnn._linear_pointwise
    dtype = weight_t.dtype

    def run(x: torch.Tensor) -> torch.Tensor:
        outputs = []
        for layer, layer_maps in enumerate(per_layer):
            h = x[layer].to(dtype, memory_format=torch.contiguous_format)
            for index, (weight, layer_bias) in enumerate(layer_maps):
                if index < len(layer_maps) - 1:
                    h = op(h, weight, layer_bias, post_op, [], algorithm)
                else:
                    h = op(h, weight, layer_bias, "none", [], "")
            outputs.append(h)
        return torch.stack(outputs).float()

    return run
