"""nvcodec: the CoordFlow neural video codec.

    nvcodec.encode("clip.mp4", "clip.cfv", preset="xs")
    nvcodec.decode("clip.cfv", "clip_2x.mp4", scale=2)
    nvcodec.probe("clip.cfv")

The functions are imported on first use, so that `import nvcodec` stays light (no torch until
a model is fitted or decoded). Every error they raise for bad input is an `NvcodecError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nvcodec.errors import (
    CfvError,
    CfvVersionError,
    DeviceError,
    FileError,
    FitError,
    NvcodecError,
    SettingsError,
    VideoError,
)

if TYPE_CHECKING:
    from nvcodec.api import decode, encode
    from nvcodec.io.cfv_file import probe

    __version__: str

__all__ = [
    "CfvError",
    "CfvVersionError",
    "DeviceError",
    "FileError",
    "FitError",
    "NvcodecError",
    "SettingsError",
    "VideoError",
    "__version__",
    "decode",
    "encode",
    "probe",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("nvcodec")
        except PackageNotFoundError:  # run from a source tree that was never installed
            return "0+unknown"
    if name in ("decode", "encode"):
        from nvcodec import api

        return getattr(api, name)
    if name == "probe":
        from nvcodec.io.cfv_file import probe

        return probe
    raise AttributeError(f"module 'nvcodec' has no attribute {name!r}")
