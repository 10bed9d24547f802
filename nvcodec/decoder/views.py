"""What a decode shows besides the plain blended frames: the alpha maps, one layer alone or the
others without it, a stabilized render, or the canonical space behind the frames (the paper's
section 4). Options are checked here, so the CLI and the API refuse the same combinations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from nvcodec.decoder.layer_maps import alpha_map, blend_layers, dominant_layer
from nvcodec.decoder.render import codes, render, render_raw
from nvcodec.decoder.stabilize import stabilized_transforms
from nvcodec.errors import SettingsError
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig
from nvcodec.settings import check_layer_index, check_positive, check_size

DEFAULT_CANONICAL_EXTENT = 2.0
"""An MLP model's canonical window is twice the frame's width and height by default: the longer
side then spans [-2, 2], one period of the colour network's lowest Fourier octave, the widest
window in which every position has its own features (beyond it the encoding repeats). A grid
model's is its grids' window, beyond which they repeat their border."""


@dataclass(frozen=True)
class View:
    """Decode options beyond size and time, named after their `cfv decode` flags.

    * `alpha_map`: each pixel coloured sum_k alpha_k palette_k (`nvcodec.layers.PALETTE`);
    * `layer` K: layer K's RGB alone; `drop_layer` K: the other layers, their alphas
      renormalised by a softmax over their own logits (layers are numbered from 0);
    * `stabilize` SIGMA: the camera's transform smoothed by a Gaussian of SIGMA source frames,
      the camera being layer `stabilize_layer` (default: the largest mean alpha);
    * `canonical`: the colour networks sampled with the identity instead of the flow, over a
      window `canonical_extent` times the frame's size (default 2, or for a grid model its
      grids' window, `GridConfig.window_scale`) around the canonical
      origin, where the identity puts the frame's centre; the colour networks' time input
      still follows the frame, so the window shows the mosaic as the clip plays.
    """

    alpha_map: bool = False
    layer: int | None = None
    drop_layer: int | None = None
    stabilize: float | None = None
    stabilize_layer: int | None = None
    canonical: bool = False
    canonical_extent: float | None = None

    def __post_init__(self) -> None:
        shown = (self.alpha_map, self.layer is not None, self.drop_layer is not None)
        if sum(shown) > 1:
            raise SettingsError("give only one of --alpha-map, --layer and --drop-layer")
        if self.stabilize is not None and self.canonical:
            raise SettingsError("--stabilize and --canonical cannot be used together")
        if self.stabilize_layer is not None and self.stabilize is None:
            raise SettingsError("--stabilize-layer needs --stabilize")
        if self.canonical_extent is not None and not self.canonical:
            raise SettingsError("--canonical-extent needs --canonical")
        check_positive("--stabilize", self.stabilize)
        check_positive("--canonical-extent", self.canonical_extent)
        for name in ("layer", "drop_layer", "stabilize_layer"):
            check_layer_index(f"--{name.replace('_', '-')}", getattr(self, name))

    @property
    def plain(self) -> bool:
        """True when nothing beyond the blended frames is asked for."""
        return self == View()

    def zoom(self, config: ModelConfig) -> float:
        """The sampled window's size relative to the frame's, for a model of `config`."""
        if not self.canonical:
            return 1.0
        if self.canonical_extent is not None:
            return self.canonical_extent
        return DEFAULT_CANONICAL_EXTENT if config.grid is None else config.grid.window_scale

    def check(self, config: ModelConfig) -> None:
        """Refuse layer numbers the model lacks, and what a model without flow cannot do."""
        count = config.num_layers
        for name in ("layer", "drop_layer", "stabilize_layer"):
            index = getattr(self, name)
            if index is not None and not 0 <= index < count:
                raise SettingsError(
                    f"--{name.replace('_', '-')} {index} is out of range: the model has "
                    f"{count} layer{'s' if count > 1 else ''} (0 to {count - 1})"
                )
        if self.drop_layer is not None and count < 2:
            raise SettingsError("--drop-layer needs a model of at least 2 layers")
        if self.stabilize is not None and not config.use_flow:
            raise SettingsError("--stabilize needs a model with flow; this one has none")

    def raster(self, width: int, height: int, config: ModelConfig) -> tuple[int, int]:
        """The output size for frames of width x height of a model of `config`: the canonical
        window keeps their pixel density."""
        zoom = self.zoom(config)
        if zoom == 1.0:
            return width, height
        size = max(1, round(width * zoom)), max(1, round(height * zoom))
        check_size(*size)
        return size

    def render(
        self,
        model: CoordFlow,
        canvas: Canvas,
        width: int,
        height: int,
        source_frames: torch.Tensor,
        precision: torch.dtype | None = None,
    ) -> Iterator[np.ndarray]:
        """The frames as H x W x 3 uint8 arrays, rendered as this view asks, the colour nets'
        products in `precision` (`render_raw`'s)."""
        self.check(model.config)
        if self.plain:
            yield from render(model, canvas, width, height, source_frames, precision=precision)
            return
        kept = list(range(model.config.num_layers))
        if self.layer is not None:
            kept = [self.layer]
        elif self.drop_layer is not None:
            kept.remove(self.drop_layer)
        transforms = self._transforms(model, canvas)

        def finish(raw: torch.Tensor) -> torch.Tensor:
            return codes(alpha_map(raw) if self.alpha_map else blend_layers(raw, kept))

        for rgb in render_raw(
            model,
            canvas,
            width,
            height,
            source_frames,
            zoom=self.zoom(model.config),
            transforms=transforms,
            finish=finish,
            precision=precision,
        ):
            yield rgb.reshape(height, width, 3).cpu().numpy()

    def _transforms(
        self, model: CoordFlow, canvas: Canvas
    ) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The matrices that replace the flow's, if any (see `render_raw`)."""
        if self.stabilize is not None:
            camera = self.stabilize_layer
            if camera is None:
                camera = dominant_layer(model, canvas)
            return stabilized_transforms(model, canvas, self.stabilize, camera)
        if self.canonical:
            layers = model.config.num_layers
            return lambda frames: torch.eye(2, 3).expand(layers, len(frames), 2, 3)
        return None
