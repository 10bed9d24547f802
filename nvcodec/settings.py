"""The user's settings as the `cfv` command and the Python API share them: the choices, the
defaults shown in the help, and the checks that turn text or Python values into frame ranges,
sizes and device names (frame rates: `nvcodec.model.canvas.parse_fps`).

Every refusal is a one-line :class:`SettingsError` in the user's words. Nothing here imports
torch, so `cfv --help` and a mistyped option answer at once.
"""

from __future__ import annotations

import math
import numbers
import re

from nvcodec.bitstream.bounds import MAX_LAYERS, MAX_SIDE
from nvcodec.errors import SettingsError

PRECISION_CHOICES = ("auto", "float32", "bfloat16")
CPU_BATCH_SIZE = 4096
GRID_CPU_BATCH_SIZE = 16384
"""A grid model's step pays for its rate term and the latents' update whatever the batch:
larger batches share that cost (tools/results/lambda_sweep_bunny_320x180.json)."""
CUDA_BATCH_SIZE = 65536  # CUDA cores need large batches to fill
DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
BARE_FRAME_HINT = "use --frames 0:{n} for {n} frames, {n}:{next} for frame {n} alone"

FrameRange = tuple[int | None, int | None]
_DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")
_WHOLE = re.compile(r"-?[0-9]+")


def unknown_precision(name: object) -> str:
    """The error message for a precision name that is not one of PRECISION_CHOICES."""
    return f"unknown precision {name!r}; use {', '.join(PRECISION_CHOICES)}"


def check_precision(name: object) -> None:
    """Refuse a precision name that is not one of PRECISION_CHOICES."""
    if name not in PRECISION_CHOICES:
        raise SettingsError(unknown_precision(name))


def frame_range(value: object) -> FrameRange | None:
    """Frames A to B-1 as (A, B), either end None for "from the start" or "to the end".

    Takes "A:B" (or "A:", ":B"), a (start, stop) pair or a slice. A bare number is refused:
    ffmpeg and x265 read `--frames N` as a count, so either reading would surprise someone.
    """
    if value is None:
        return None
    if isinstance(value, str):
        start, sep, stop = value.strip().partition(":")
        if not sep:
            _refuse_bare_frame(value.strip())
        ends = (start.strip() or None, stop.strip() or None)
    elif isinstance(value, slice):
        if value.step not in (None, 1):
            raise SettingsError(f"frames {value}: only a step of 1 is possible")
        ends = (value.start, value.stop)
    elif isinstance(value, tuple | list) and len(value) == 2:
        ends = tuple(value)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        _refuse_bare_frame(str(value))
    else:
        raise SettingsError(f"frames {value!r} is not a range like '10:50' or (10, 50)")
    first, last = (_frame_number(end, value) if end is not None else None for end in ends)
    if first is not None and last is not None and last <= first:
        raise SettingsError(f"frame range {first}:{last} is empty (frames A to B-1 need B > A)")
    return first, last


def _refuse_bare_frame(text: str) -> None:
    if _WHOLE.fullmatch(text) and not text.startswith("-"):
        n = int(text)
        hint = BARE_FRAME_HINT.format(n=n, next=n + 1)
        raise SettingsError(f"frames {n}: a single number is ambiguous; {hint}")
    raise SettingsError(f"{text!r} is not a frame range like 10:50")


def _frame_number(value: object, whole: object) -> int:
    """One end of a frame range: a whole number from 0."""
    if isinstance(value, str):
        if not _WHOLE.fullmatch(value.strip()):
            raise SettingsError(f"{whole!r} is not a frame range like 10:50")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SettingsError(f"frames {whole!r}: frame numbers are whole numbers")
    if value < 0:
        raise SettingsError(f"frames {whole!r}: frame numbers start at 0")
    return int(value)


def frame_size(value: object) -> tuple[int, int] | None:
    """(width, height) from "WxH" such as "1280x720" or a pair of whole numbers."""
    if value is None:
        return None
    if isinstance(value, str):
        width, sep, height = value.strip().lower().partition("x")
        if not (sep and _WHOLE.fullmatch(width) and _WHOLE.fullmatch(height)):
            raise SettingsError(f"{value!r} is not a size like 1280x720")
        size = int(width), int(height)
    elif (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
    ):
        size = int(value[0]), int(value[1])
    else:
        raise SettingsError(f"size {value!r} is not 'WxH' or a (width, height) pair")
    check_size(*size)
    return size


def check_size(width: int, height: int) -> None:
    """Refuse frame sizes that are not positive or exceed MAX_SIDE."""
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise SettingsError(f"frame size {width}x{height} is out of range (1..{MAX_SIDE} per side)")


def device_name(value: object) -> str:
    """A device as the user may name it: auto (or None), cpu, cuda or cuda:N (whether it
    exists is the runtime's to say)."""
    if value is None:
        return "auto"
    if not (isinstance(value, str) and _DEVICE.fullmatch(value.strip())):
        raise SettingsError(f"unknown device {value!r}; use {DEVICE_CHOICES}")
    return value.strip()


def check_positive(name: str, value: object, *, whole: bool = False) -> None:
    """Refuse a setting that is not a positive (whole) number; None means "not given"."""
    if value is None:
        return
    kind = numbers.Integral if whole else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not 0 < value < math.inf:
        noun = "whole number" if whole else "number"
        raise SettingsError(f"{name} must be a positive {noun}, got {value!r}")


def check_layer_index(name: str, value: object) -> None:
    """Refuse a layer number that is not a whole number (the model says which exist); None
    means "not given"."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SettingsError(f"{name} must be a whole layer number, got {value!r}")


def check_encode_settings(
    preset: object,
    params: object,
    bpp: object,
    layers: object,
    batch_size: object,
    epochs: object,
    minutes: object,
    precision: object,
    seed: object,
) -> None:
    """Refuse an encode's settings that are out of range or do not go together."""
    if sum(x is not None for x in (preset, params, bpp)) > 1:
        raise SettingsError("give only one of --model-size, --params and --bpp")
    for name, value in (("params", params), ("layers", layers), ("batch_size", batch_size)):
        check_positive(name, value, whole=True)
    for name, value in (("bpp", bpp), ("epochs", epochs), ("minutes", minutes)):
        check_positive(name, value)
    if layers > MAX_LAYERS:
        raise SettingsError(f"layers {layers}: a .cfv file holds at most {MAX_LAYERS}")
    check_precision(precision)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise SettingsError(f"seed must be a whole number, got {seed!r}")


REPRESENTATIONS = ("grid", "mlp")
"""The colour representations: latent grids, or Fourier features into a wide MLP."""
DEFAULT_REPRESENTATION = "grid"
DEFAULT_LAYERS = {"grid": 4, "mlp": 2}
"""CoordFlow layers when none are asked for, by representation: each layer of a grid model adds
a canonical plane pyramid with its own motion, which bought more quality per bit on the
rate-distortion bench than finer x-y-t grids (docs/measurements.md)."""
DEFAULT_LAMBDA = 0.1
"""The grid model's rate weight when none is given (README, "Rate and quality")."""


def check_representation(model: object, rate_lambda: object) -> None:
    """Refuse an unknown representation, and a rate weight the representation cannot use."""
    if model not in REPRESENTATIONS:
        raise SettingsError(f"unknown model {model!r}; choose one of {', '.join(REPRESENTATIONS)}")
    check_positive("lambda", rate_lambda)
    if rate_lambda is not None and model != "grid":
        raise SettingsError("--lambda sets the rate of the grid model; --model mlp has none")


def layers_for(model: str, layers: int | None) -> int:
    """The layers of an encode: `layers`, or the default of representation `model`."""
    return DEFAULT_LAYERS[model] if layers is None else layers


def check_callback(name: str, callback: object) -> None:
    """Refuse a progress callback that cannot be called."""
    if callback is not None and not callable(callback):
        raise SettingsError(f"{name} must be a function, got {type(callback).__name__}")


DEFAULT_SEGMENT_SECONDS = 4.0
"""Segment length of a long clip when none is asked for."""
ONE_SEGMENT_SECONDS = 20.0
"""Clips up to this long are one segment unless a length is asked for."""
DEFAULT_OVERLAP_FRAMES = 2
"""Frames of each neighbour a segment's model also fits, for the decoder to cross-fade."""


def check_segment_settings(
    segment_frames: object, overlap: object, jobs: object, ray: object, resume: object
) -> None:
    """Refuse segment lengths and job counts that are not positive integers, an overlap that
    is not a non-negative one, and a Ray address that is not text."""
    for name, value, low in (("segment_frames", segment_frames, 1), ("overlap", overlap, 0),
                             ("jobs", jobs, 1)):  # fmt: skip
        if value is None and name == "segment_frames":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            kind = "positive" if low else "non-negative"
            raise SettingsError(f"{name} must be a {kind} integer, got {value!r}")
    if ray is not None and not (isinstance(ray, str) and ray):
        raise SettingsError(f"ray must be 'auto', 'local' or a cluster address, got {ray!r}")
    if not isinstance(resume, bool):
        raise SettingsError(f"resume must be True or False, got {resume!r}")
