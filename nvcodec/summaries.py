"""What `encode` and `decode` return: the summaries the command prints and `--json` writes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np

from nvcodec.encoder.pipeline import EncodedClip


@dataclass(frozen=True)
class EncodeSummary(EncodedClip):
    """What an encode produced; `psnr` is that of the decoded file against the input frames."""

    output: str | None = None
    seconds: float = 0.0

    @property
    def width(self) -> int:
        return self.info.canvas.width

    @property
    def height(self) -> int:
        return self.info.canvas.height

    @property
    def frames(self) -> int:
        return self.info.canvas.num_frames

    @property
    def fps(self) -> Fraction:
        return self.info.canvas.fps

    @property
    def params(self) -> int:
        return self.info.params

    @property
    def bytes(self) -> int:
        return self.info.bytes

    @property
    def bpp(self) -> float:
        return self.info.bpp

    @property
    def bits_per_weight(self) -> float:
        return self.info.bits_per_weight

    @property
    def architecture(self) -> dict:
        return self.info.config.to_dict()

    def to_dict(self) -> dict:
        """JSON-ready (the file's bytes left out; infinite PSNRs of exact fits as null)."""
        keys = ("output", "width", "height", "frames", "params", "bytes", "bpp")
        keys += ("bits_per_weight", "qmax", "epochs", "fit_seconds", "seconds", "device")
        keys += ("precision", "rate_lambda", "architecture", "warnings")
        out = {key: getattr(self, key) for key in keys}
        out["qmax"] = list(self.qmax)
        out["fps"] = f"{self.fps.numerator}/{self.fps.denominator}"
        out["psnr"] = _finite_or_none(self.psnr)
        out["psnr_unquantized"] = _finite_or_none(self.psnr_unquantized)
        out["psnr_per_frame"] = [_finite_or_none(v) for v in self.psnr_per_frame]
        return out


@dataclass(frozen=True)
class DecodeSummary:
    """What a decode rendered; `frames_u8` holds the frames when no output path was given."""

    output: str | None
    width: int
    height: int
    frames: int
    first_frame: int
    fps: Fraction
    seconds: float
    device: str
    precision: str
    """Of the colour nets' products (float32 or bfloat16)."""
    segments_decoded: int = 1
    """How many of the file's segments the frames asked for needed."""
    frames_u8: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "frames_u8"}
        out["fps"] = f"{self.fps.numerator}/{self.fps.denominator}"
        return out


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
