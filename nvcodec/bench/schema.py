"""The benchmark's result file: one JSON schema for every codec, a writer and a checking reader.

    {"schema": "nvcodec-rd/2", "command", "environment": {...}, "colour", "anchor",
     "clip": {"path", "frames": [start, stop], "size": [w, h], "fps": "25/1", "resized"},
     "curves": [{"codec", "source", "settings": {...}, "points": [
         {"setting": {...}, "info": {...}, "bytes", "bpp",
          "psnr_rgb", "psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ms_ssim",
          "per_frame": {"psnr_rgb": [...], ...}, "encode_seconds", "decode_seconds"}]}],
     "bd": [{"test", "anchor", "metric", "method", "bd_rate_percent", "bd_quality",
             "rate_range": [low, high], "quality_range": [low, high], "reason"}],
     "notes": [...]}

bpp = 8 bytes / (width height frames). `colour` names the RGB <-> YUV conversion every codec
was fed and scored through (`nvcodec.io.colour`). The metrics are those of
`nvcodec.bench.metrics`; a metric that was not measured is null, and an infinite PSNR
(identical frames) is the string "inf". `source` is "measured" for a curve of this run, or
names the earlier result it was taken from. encode_seconds is the wall time of the encoder
call (nvcodec: fitting, quantization and its own PSNR check; classic: RGB to YUV conversion
and encoding), decode_seconds that of decoding back to RGB. Each `bd` entry compares two
curves on one metric by one method (`nvcodec.bench.bd`), with the rate (bpp) and quality
ranges the curves share; a missing number is null with the reason.

Files of the first schema, "nvcodec-rd/1", are read too and converted: their PSNR-RGB is kept,
their luma PSNR (BT.709 luma of RGB, not a codec's Y) moves to each point's info, and the
metrics they lack are null.
"""

from __future__ import annotations

import json
import math
import os
import types
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from nvcodec.bench.metrics import METRICS
from nvcodec.errors import FileError

SCHEMA = "nvcodec-rd/2"
SCHEMA_V1 = "nvcodec-rd/1"
MEASURED = "measured"
NVCODEC = "nvcodec"
"""The name of nvcodec's curve."""


@dataclass(frozen=True)
class Point:
    """One encode: `setting` is what was asked (params, bpp or crf), `info` what came out."""

    setting: dict
    info: dict
    bytes: int
    bpp: float
    psnr_rgb: float | None
    psnr_y: float | None
    psnr_u: float | None
    psnr_v: float | None
    psnr_yuv: float | None
    ms_ssim: float | None
    per_frame: dict[str, list[float | None]]
    encode_seconds: float
    decode_seconds: float

    def metric(self, name: str) -> float | None:
        return getattr(self, name)


@dataclass(frozen=True)
class Curve:
    codec: str
    source: str
    settings: dict
    points: list[Point]


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
class BdEntry:
    test: str
    anchor: str
    metric: str
    method: str
    bd_rate_percent: float | None
    bd_quality: float | None
    rate_range: list[float] | None
    quality_range: list[float] | None
    reason: str | None


@dataclass(frozen=True)
class RdResult:
    command: str
    environment: dict
    colour: str
    anchor: str
    clip: Clip
    curves: list[Curve]
    bd: list[BdEntry]
    notes: list[str]

    def curve(self, codec: str) -> Curve | None:
        return next((c for c in self.curves if c.codec == codec), None)

    def bd_of(self, test: str, anchor: str, metric: str, method: str) -> BdEntry | None:
        wanted = (test, anchor, metric, method)
        return next((e for e in self.bd if (e.test, e.anchor, e.metric, e.method) == wanted), None)


def write_result(result: RdResult, path: str | os.PathLike) -> None:
    """Write the result as indented JSON (infinite PSNRs as "inf")."""
    Path(path).write_text(dumps(result))


def dumps(value: Any) -> str:
    """Indented JSON of a result or any part of it, infinite floats as "inf"."""
    payload = asdict(value) if is_dataclass(value) else value
    if isinstance(value, RdResult):
        payload = {"schema": SCHEMA, **payload}
    return json.dumps(json_safe(payload), indent=1) + "\n"


def read_result(path: str | os.PathLike) -> RdResult:
    """Read and check a result file of either schema; any defect is one FileError."""
    return parse_result(read_json(path), str(path))


def read_json(path: str | os.PathLike) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileError(f"{path}: not a JSON file ({exc})") from None


def parse_result(payload: Any, source: str = "result") -> RdResult:
    """A checked RdResult from parsed JSON; FileError naming `source` and the first problem."""
    try:
        schema = payload.get("schema") if isinstance(payload, dict) else None
        if schema == SCHEMA_V1:
            payload = _upgrade_v1(payload)
        elif schema != SCHEMA:
            raise ValueError(f"'schema' is not {SCHEMA!r} or {SCHEMA_V1!r}")
        result = build(RdResult, {k: v for k, v in payload.items() if k != "schema"}, "result")
        _check_consistent(result)
    except ValueError as exc:
        raise FileError(f"{source}: not an RD result file: {exc}") from None
    return result


def build(cls: type, data: Any, where: str) -> Any:
    """A dataclass from a dict with exactly its fields, each of its annotated type; ValueError
    naming the first field that is missing, unknown or of the wrong type."""
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
    if get_origin(hint) in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [option for option in options if option is not type(None)]
    if is_dataclass(hint):
        return build(hint, value, where)
    if get_origin(hint) is list:
        if not isinstance(value, list):
            raise ValueError(f"{where} is not a list")
        (item,) = get_args(hint)
        return [_typed(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if get_origin(hint) is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object")
        _, item = get_args(hint)
        return {k: _typed(item, v, f"{where}.{k}") for k, v in value.items()}
    if hint is float:
        if value == "inf":
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
            if set(point.per_frame) - set(METRICS):
                raise ValueError(f"{curve.codec}: per_frame has unknown metrics")
            if any(len(values) != clip.num_frames for values in point.per_frame.values()):
                raise ValueError(f"{curve.codec}: per-frame lists are not {clip.num_frames} long")


def _upgrade_v1(payload: dict) -> dict:
    """A first-schema result as a second-schema payload (see the module docstring)."""
    if not isinstance(payload.get("curves"), list):
        raise ValueError("result.curves is not a list")
    curves = []
    for curve in payload["curves"]:
        if not isinstance(curve, dict) or not isinstance(curve.get("points"), list):
            raise ValueError("a curve without a points list")
        points = []
        for point in curve["points"]:
            if not isinstance(point, dict):
                raise ValueError("a point is not an object")
            rgb = _inf_from_null(point.get("psnr_rgb"))
            per_frame = [_inf_from_null(v) for v in point.get("psnr_rgb_per_frame", [])]
            info = {**point.get("info", {}), "psnr_luma_bt709_of_rgb": point.get("psnr_y")}
            kept = {k: point.get(k) for k in ("setting", "bytes", "bpp")}
            times = {k: point.get(k) for k in ("encode_seconds", "decode_seconds")}
            missing = dict.fromkeys(METRICS[1:])
            points.append(
                {
                    **kept,
                    "info": info,
                    "psnr_rgb": rgb,
                    **missing,
                    "per_frame": {"psnr_rgb": per_frame},
                    **times,
                }
            )
        curves.append(
            {
                "codec": curve.get("codec"),
                "source": MEASURED,
                "settings": curve.get("settings"),
                "points": points,
            }
        )
    return {
        "schema": SCHEMA,
        **{k: payload.get(k) for k in ("command", "environment", "anchor", "clip")},
        "colour": "RGB converted to YUV 4:2:0 by swscale's defaults (first schema)",
        "curves": curves,
        "bd": [],
        "notes": [f"converted from {SCHEMA_V1}; its BD numbers were cubic (VCEG-M33)"],
    }


def _inf_from_null(value: Any) -> Any:
    """The first schema wrote an infinite PSNR as null."""
    return "inf" if value is None else value


def json_safe(value: Any) -> Any:
    """JSON has no infinity: infinite floats become "inf", recursively."""
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
