"""nvcodec: the CoordFlow neural video codec.

    nvcodec.encode("clip.mp4", "clip.cfv", preset="xs")
    nvcodec.decode("clip.cfv", "clip_2x.mp4", scale=2)
    nvcodec.probe("clip.cfv")

The functions live in nvcodec.api, imported on first use so that `import nvcodec` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nvcodec.api import decode, encode, probe

__all__ = ["decode", "encode", "probe"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from nvcodec import api

        return getattr(api, name)
    raise AttributeError(f"module 'nvcodec' has no attribute {name!r}")
