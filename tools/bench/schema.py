"""The RD benchmark's result file: one JSON schema for every codec, a writer and a checking reader.

    {"schema": "nvcodec-rd/1", "command": ..., "environment": {...}, "luma": ..., "anchor": ...,
     "clip": {"path", "frames": [start, stop], "size": [w, h], "fps": "25/1", "resized"},
     "curves": [{"codec", "settings": {...}, "bd": {...}, "points": [
         {"setting": {...}, "info": {...}, "bytes", "bpp", "psnr_rgb", "psnr_y",
          "psnr_rgb_per_frame": [...], "psnr_y_per_frame": [...],
          "encode_seconds", "decode_seconds"}]}]}

bpp = 8 bytes / (width height frames). PSNRs are in dB; an infinite PSNR (identical frames) is
written as null. encode_seconds is the wall time of the encoder call (nvcodec: fitting,
quantization and its own PSNR check; classic: RGB to YUV conversion and encoding),
decode_seconds that of decoding back to RGB frames. `bd` maps each metric
("psnr_rgb", "psnr_y") to {"bd_rate_percent", "bd_rate_reason", "bd_psnr_db",
"bd_psnr_reason"} against the anchor curve (a value, or null and the reason).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from nvcodec.errors import FileError

SCHEMA = "nvcodec-rd/1"


@dataclass(frozen=True)
class Point:
    """One encode: `setting` is what was asked (params, bpp or crf), `info` what came out."""

    setting: dict
    info: dict
    bytes: int
    bpp: float
    psnr_rgb: float
    psnr_y: float
    psnr_rgb_per_frame: list[float]
    psnr_y_per_frame: list[float]
    encode_seconds: float
    decode_seconds: float


@dataclass(frozen=True)
class Curve:
    codec: str
    settings: dict
    points: list[Point]
    bd: dict


@dataclass(frozen=True)
class Clip:
    """The frames every codec saw: `frames` = [start, stop) of the input, `size` = [w, h]."""

    path: str
    frames: list[int]
    size: list[int]
    fps: str
    resized: bool

    @property
    def num_frames(self) -> int:
        return self.frames[1] - self.frames[0]

    @property
    def pixels(self) -> int:
        return self.size[0] * self.size[1] * self.num_frames


@dataclass(frozen=True)
class RdResult:
    command: str
    environment: dict
    luma: str
    anchor: str
    clip: Clip
    curves: list[Curve]


def write_result(result: RdResult, path: str | os.PathLike) -> None:
    """Write the result as indented JSON (infinite PSNRs as null)."""
    payload = {"schema": SCHEMA, **asdict(result)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(_finite(payload), indent=1) + "\n")


def read_result(path: str | os.PathLike) -> RdResult:
    """Read and check a result file; any defect is one FileError."""
    try:
        payload = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileError(f"{path}: not a JSON file ({exc})") from None
    return parse_result(payload, str(path))


def parse_result(payload: Any, source: str = "result") -> RdResult:
    """A checked RdResult from parsed JSON; FileError naming `source` and the first problem."""
    try:
        if not isinstance(payload, dict) or payload.get("schema") != SCHEMA:
            raise ValueError(f"'schema' is not {SCHEMA!r}")
        result = _build(RdResult, {k: v for k, v in payload.items() if k != "schema"}, "result")
        _check_consistent(result)
    except ValueError as exc:
        raise FileError(f"{source}: not an RD result file: {exc}") from None
    return result


def _build(cls: type, data: Any, where: str) -> Any:
    """A dataclass from a dict with exactly its fields, each of its annotated type."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} is not an object")
    names = [f.name for f in fields(cls)]
    missing, extra = set(names) - data.keys(), data.keys() - set(names)
    if missing or extra:
        problem = f"lacks {sorted(missing)}" if missing else f"has unknown keys {sorted(extra)}"
        raise ValueError(f"{where} {problem}")
    hints = get_type_hints(cls)
    return cls(**{n: _typed(hints[n], data[n], f"{where}.{n}") for n in names})


def _typed(hint: Any, value: Any, where: str) -> Any:
    if is_dataclass(hint):
        return _build(hint, value, where)
    if get_origin(hint) is list:
        if not isinstance(value, list):
            raise ValueError(f"{where} is not a list")
        (item,) = get_args(hint)
        return [_typed(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint is float:
        if value is None:  # how the writer stores an infinite PSNR
            return math.inf
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ValueError(f"{where} is {type(value).__name__}, not {hint.__name__}")


def _check_consistent(result: RdResult) -> None:
    clip = result.clip
    if len(clip.frames) != 2 or clip.num_frames <= 0 or len(clip.size) != 2:
        raise ValueError("clip.frames must be [start, stop) and clip.size [width, height]")
    if not result.curves:
        raise ValueError("no curves")
    for curve in result.curves:
        for point in curve.points:
            lengths = {len(point.psnr_rgb_per_frame), len(point.psnr_y_per_frame)}
            if lengths != {clip.num_frames}:
                raise ValueError(f"{curve.codec}: per-frame lists are not {clip.num_frames} long")


def _finite(value: Any) -> Any:
    """JSON has no infinity: infinite floats become null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
