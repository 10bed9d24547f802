"""The source clip's geometry, which a fitted model's coordinates are defined over."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Canvas:
    """The source clip's geometry, which fixes the coordinate convention of a fitted model."""

    width: int
    height: int
    num_frames: int
    fps: Fraction

    @property
    def extent(self) -> tuple[float, float]:
        """Half-extent of the frame in model units: the longer side spans [-1, 1]."""
        longer = max(self.width, self.height)
        return self.width / longer, self.height / longer
