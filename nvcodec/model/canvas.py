"""The source clip's geometry, which a fitted model's coordinates are defined over, and the
frame rates it is given in."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from nvcodec.errors import SettingsError


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


def parse_fps(fps: Fraction | float | str) -> Fraction:
    """A positive frame rate from a Fraction, a number, or text such as "30000/1001"."""
    if isinstance(fps, bool):  # Fraction(True) would be 1
        raise SettingsError(f"frame rate {fps!r} is not a number or a ratio like 30000/1001")
    try:
        # Through its shortest text a float such as 29.97 becomes 2997/100, not a binary fraction.
        value = Fraction(repr(fps) if isinstance(fps, float) else fps)
    except (ValueError, ZeroDivisionError, TypeError, OverflowError):
        raise SettingsError(
            f"frame rate {fps!r} is not a number or a ratio like 30000/1001"
        ) from None
    value = value.limit_denominator(2**32 - 1)
    if value <= 0 or value.numerator >= 2**32:
        raise SettingsError(f"frame rate {fps} must be positive and below 2^32")
    return value
