"""Video in and out through PyAV: anything FFmpeg reads becomes uint8 RGB frames and a rate,
and frames go out as H.264, FFV1, y4m or PNG to files, pipes and devices, tagged with their
colour description and converted to YUV with the matrix the tags name."""

from __future__ import annotations

import itertools
import os
import re
import stat
import warnings
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePath

import av
import numpy as np

from nvcodec.errors import NvcodecWarning, SettingsError, VideoError
from nvcodec.io.raw import RawFormat
from nvcodec.settings import check_size

# Largest clip we agree to hold in memory as uint8 RGB; beyond that the request is
# almost certainly a mistake (a typo in -s, a wrong range) rather than a real job.
MAX_CLIP_BYTES = 16 * 2**30

STDIO = "-"
"""The name of stdin as an input and of stdout as an output."""
ASSUMED_FPS = Fraction(25)
"""FFmpeg's rate for inputs that carry none (raw YUV, PNG patterns)."""
OUTPUT_FORMATS = ("mp4", "mkv", "y4m", "png")

CFV_COLOUR = {
    "colour_primaries": 1,
    "transfer_characteristics": 13,
    "matrix_coefficients": 0,
    "full_range": 1,
}
"""H.273 code points of what a .cfv model renders: full-range sRGB on BT.709 primaries."""

# H.273 MatrixCoefficients that swscale converts with, as its names; and the YUV matrix that
# belongs to RGB on given primaries (BT.709 for BT.709, BT.601 for 625 and 525 lines, BT.2020).
_SWSCALE_MATRICES = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M", 9: "BT2020"}
_MATRIX_OF_PRIMARIES = {1: 1, 5: 5, 6: 6, 9: 9}
_UNSPECIFIED = 2  # H.273's "unspecified" for primaries, transfer and matrix alike
_RANGE_LIMITED, _RANGE_FULL = 1, 2  # FFmpeg's AVColorRange
# Formats with no place for a matrix: cfv writes them with BT.709, so it reads them so.
_UNTAGGED_IS_BT709 = ("yuv4mpegpipe", "rawvideo")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True)
class Video:
    """A clip in memory: `frames_u8` is T x H x W x 3 uint8 RGB, `fps` the frame rate."""

    frames_u8: np.ndarray
    fps: Fraction

    @property
    def num_frames(self) -> int:
        return int(self.frames_u8.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames_u8.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames_u8.shape[2])


def read_video(
    path: str | os.PathLike,
    start: int = 0,
    stop: int | None = None,
    size: tuple[int, int] | None = None,
    *,
    fps: Fraction | None = None,
    raw: RawFormat | None = None,
) -> Video:
    """Decode frames [start, stop) of the first video stream as RGB, resized to `size` (W, H).

    `path` is a file, a PNG pattern, `-` for stdin, or any URL FFmpeg opens (`pipe:0`,
    `https://...`); `raw` describes a headerless YUV input. `fps` is the clip's rate: it
    overrides the input's, and without it an input that has none is taken at 25 fps, with a
    warning. Resizing uses FFmpeg's area filter while decoding, so a large clip never exists in
    memory at full size. Samples deeper than 8 bits are rounded to 8, with a warning.
    """
    clip_fps, frames = stream_video(path, start, stop, size, fps=fps, raw=raw)
    return Video(stack_frames(frames, str(path)), clip_fps)


def stack_frames(frames: Generator[np.ndarray, None, None], name: str) -> np.ndarray:
    """Decoded frames as one T x H x W x 3 array, refusing a clip larger than MAX_CLIP_BYTES."""
    kept: list[np.ndarray] = []
    clip_bytes = 0
    for rgb in frames:
        clip_bytes += rgb.nbytes
        if clip_bytes > MAX_CLIP_BYTES:
            frames.close()
            raise VideoError(
                f"{name}: the selected frames exceed {MAX_CLIP_BYTES >> 30} GiB as RGB; "
                "select fewer frames or a smaller size, or encode it by segments"
            )
        kept.append(rgb)
    return np.stack(kept)


def stream_video(
    path: str | os.PathLike,
    start: int = 0,
    stop: int | None = None,
    size: tuple[int, int] | None = None,
    *,
    fps: Fraction | None = None,
    raw: RawFormat | None = None,
) -> tuple[Fraction, Generator[np.ndarray, None, None]]:
    """The clip's frame rate and its frames [start, stop), decoded one at a time as `read_video`
    decodes them, so a long clip never needs to fit in memory."""
    name = str(path)
    source, options = _input_source(name, fps, raw)
    if start < 0 or (stop is not None and stop <= start):
        raise VideoError(f"empty or negative frame range {start}:{'' if stop is None else stop}")
    if size is not None:
        check_size(*size)
    try:
        container = av.open(source, format="rawvideo" if raw else None, options=options)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"{name}: not a readable video ({_reason(exc)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{name}: contains no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    if fps is None and (container.format.name == "image2" or (raw and raw.fps is None)):
        warnings.warn(
            f"{name}: the input has no frame rate; taking {ASSUMED_FPS} fps (set it with -r)",
            NvcodecWarning,
            stacklevel=2,
        )
    clip_fps = fps if fps is not None else _frame_rate(stream)
    untagged_is_bt709 = container.format.name in _UNTAGGED_IS_BT709

    def frames() -> Generator[np.ndarray, None, None]:
        found = False
        with container:
            try:
                for index, frame in enumerate(container.decode(stream)):
                    if index < start:
                        continue
                    if stop is not None and index >= stop:
                        break
                    if not found:
                        _warn_if_deep(name, frame)
                    found = True
                    width, height = size if size is not None else (frame.width, frame.height)
                    yield _to_rgb(frame, width, height, untagged_is_bt709)
            except av.error.FFmpegError as exc:
                raise VideoError(f"{name}: decoding failed ({_reason(exc)})") from None
        if not found and (start, stop) == (0, None):
            raise VideoError(f"{name}: contains no frames")
        if not found:  # the range asked for lies beyond the clip: a usage mistake
            end = "" if stop is None else stop
            raise SettingsError(f"{name}: no frames in the range {start}:{end}")

    return clip_fps, frames()


def count_frames(
    path: str | os.PathLike,
    start: int = 0,
    stop: int | None = None,
    *,
    fps: Fraction | None = None,
    raw: RawFormat | None = None,
) -> int | None:
    """How many of frames [start, stop) a file holds, from its packets without decoding them;
    None for stdin, which cannot be read twice."""
    name = str(path)
    if name == STDIO:
        return None
    source, options = _input_source(name, fps, raw)
    try:
        with av.open(source, format="rawvideo" if raw else None, options=options) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            packets = sum(1 for packet in container.demux(stream) if packet.size)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return None
    end = packets if stop is None else min(stop, packets)
    return max(0, end - start)


def _input_source(
    name: str, fps: Fraction | None, raw: RawFormat | None
) -> tuple[str, dict[str, str]]:
    """What to hand FFmpeg for input `name`, and its demuxer options.

    Local names must exist; URLs and protocols (anything like `scheme:...`) go to FFmpeg as
    they are; a PNG pattern starts at its lowest-numbered file, wherever that is.
    """
    if raw is not None:
        return ("pipe:0" if name == STDIO else name), raw.demuxer_options(fps)
    if name == STDIO:
        return "pipe:0", {}
    if os.path.exists(name) or _URL.match(name):
        return name, {}
    if "%" in PurePath(name).name:
        rate = {} if fps is None else {"framerate": f"{fps.numerator}/{fps.denominator}"}
        return name, {"start_number": str(_first_number(name)), **rate}
    raise VideoError(f"{name}: no such file")


def _first_number(pattern: str) -> int:
    """The lowest frame number of the files a pattern such as `frames/%05d.png` names."""
    folder, file_pattern = os.path.split(pattern)
    field = re.fullmatch(r"(.*?)%(0?\d*)d(.*)", file_pattern)
    if field is None:
        raise VideoError(f"{pattern}: a PNG pattern needs one integer field such as %05d")
    digits = r"\d+" if not field.group(2) else rf"\d{{{int(field.group(2))},}}"
    matcher = re.compile(re.escape(field.group(1)) + f"({digits})" + re.escape(field.group(3)))
    try:
        names = os.listdir(folder or ".")
    except OSError:
        names = []
    numbers = [int(m.group(1)) for m in map(matcher.fullmatch, names) if m]
    if not numbers:
        raise VideoError(f"{pattern}: no files match the pattern")
    return min(numbers)


def _warn_if_deep(name: str, frame: av.VideoFrame) -> None:
    bits = _bit_depth(frame.format)
    if bits > 8:
        warnings.warn(
            f"{name}: {bits}-bit samples; the model codes 8 bits per channel, so they are "
            "rounded to 8 bits",
            NvcodecWarning,
            stacklevel=3,
        )


def _bit_depth(pixel_format: av.VideoFormat) -> int:
    return max(component.bits for component in pixel_format.components)


def _to_rgb(frame: av.VideoFrame, width: int, height: int, untagged_is_bt709: bool) -> np.ndarray:
    """One frame as H x W x 3 uint8 RGB, converted with the matrix and range its tags name.

    Deeper samples go through 16-bit RGB and are rounded, where swscale's own 8-bit path
    would truncate them.
    """
    matrix = "ITU709" if untagged_is_bt709 and frame.colorspace == _UNSPECIFIED else None
    deep = _bit_depth(frame.format) > 8
    rgb = frame.reformat(
        width=width,
        height=height,
        format="rgb48le" if deep else "rgb24",
        src_colorspace=matrix,
        interpolation="AREA",
    ).to_ndarray()
    if deep:
        rgb = ((rgb.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return rgb


def resize_frames(frames_u8: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """T x H x W x 3 uint8 frames resized to `size` (W, H) with the filter `read_video` uses."""
    check_size(*size)
    width, height = size
    return np.stack(
        [
            av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            .reformat(width=width, height=height, format="rgb24", interpolation="AREA")
            .to_ndarray()
            for rgb in frames_u8
        ]
    )


def _frame_rate(stream: av.video.stream.VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        return ASSUMED_FPS
    return Fraction(rate.numerator, rate.denominator)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]


# --- output ---


def is_stream(path: str | os.PathLike) -> bool:
    """Whether an output is written through rather than replaced: stdout, or an existing
    pipe, device or socket (links followed)."""
    name = str(path)
    if name == STDIO:
        return True
    try:
        mode = os.stat(name).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def output_format(path: str | os.PathLike, forced: str | None = None) -> str:
    """The format an output gets: `forced`, else by its suffix or PNG pattern; a stream
    without a suffix (stdout, a pipe, a device) gets y4m."""
    name = str(path)
    if forced is not None:
        if forced not in OUTPUT_FORMATS:
            raise SettingsError(f"unknown format {forced!r}; choose {', '.join(OUTPUT_FORMATS)}")
        if forced == "png" and not is_stream(name) and "%" not in PurePath(name).name:
            raise VideoError(f"{name}: PNG files need a pattern such as f_%05d.png")
        return forced
    if "%" in PurePath(name).name:
        return "png"
    suffix = PurePath(name).suffix.lower().lstrip(".")
    if suffix in ("mp4", "mkv", "y4m"):
        return suffix
    if not suffix and is_stream(name):
        return "y4m"
    raise VideoError(
        f"{name}: unknown output type; use .mp4, .mkv, .y4m, a PNG pattern like f_%05d.png, or -f"
    )


def write_video(
    path: str | os.PathLike,
    frames_u8: np.ndarray | Iterable[np.ndarray],
    fps: Fraction,
    lossless: bool = False,
    *,
    colour: Mapping[str, int] | None = None,
    format: str | None = None,
) -> int:
    """Write uint8 RGB frames; the format is `format` or follows the name. Returns the count.

    `frames_u8` is a T x H x W x 3 array or any iterable of H x W x 3 frames, which is written
    as it arrives so a long clip never has to be held in memory. `path` may be `-` (stdout),
    a pipe or a device. `mp4`: H.264 (yuv420p, CRF 18), or lossless RGB H.264 with `lossless`;
    `mkv`: FFV1 RGB, always lossless; `y4m`: raw 4:4:4; `png`: one file per frame under a
    pattern such as `f_%05d.png`, or a stream of PNGs. `colour` holds H.273 code points of the
    RGB frames (`CFV_COLOUR` by default, with the keys of `CfvInfo.colour`): every stream is
    tagged with them, and YUV is made with the matrix they imply (`yuv_matrix`), limited range.
    """
    name = str(path)
    kind = output_format(name, format)
    frames = _checked_frames(frames_u8)
    first = next(frames, None)
    if first is None:
        raise VideoError(f"{name}: no frames to write")
    frames = itertools.chain([first], frames)
    height, width = first.shape[:2]
    colour = CFV_COLOUR if colour is None else colour
    if kind == "png" and not is_stream(name):
        return _write_png_sequence(name, frames, width, height, colour)
    codec, pix_fmt, options = _encoder(kind, lossless)
    if codec == "ffv1" and width == 1:
        # FFV1 splits frames into slices by default, and cannot slice a one-pixel-wide frame.
        options = {**options, "slices": "1"}
    if pix_fmt == "yuv420p" and (width % 2 or height % 2):
        raise VideoError(f"H.264 4:2:0 needs even sizes, got {width}x{height}; use --lossless")
    # The mp4 index goes at the end, which a stream cannot seek back to: fragment it instead.
    muxer_options = {"movflags": "frag_keyframe+empty_moov"} if is_stream(name) else {}
    count = 0
    try:
        with av.open(
            "pipe:1" if name == STDIO else name,
            mode="w",
            format=_MUXERS[kind],
            options=muxer_options if kind == "mp4" else {},
        ) as out:
            stream = out.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            stream.options = options
            conversion = _tag(stream.codec_context, pix_fmt, colour)
            for rgb in frames:
                frame = _rgb_frame(rgb, colour).reformat(format=pix_fmt, **conversion)
                for packet in stream.encode(frame):
                    out.mux(packet)
                count += 1
            for packet in stream.encode():
                out.mux(packet)
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoError(f"{name}: cannot write ({_reason(exc)})") from None
    return count


def yuv_matrix(colour: Mapping[str, int]) -> int:
    """The H.273 matrix for YUV made from RGB described by `colour`: its own matrix when that
    is a YUV one swscale knows, else the one that belongs to its primaries (BT.709 when they
    name none)."""
    matrix = colour["matrix_coefficients"]
    if matrix in _SWSCALE_MATRICES:
        return matrix
    return _MATRIX_OF_PRIMARIES.get(colour["colour_primaries"], 1)


def _tag(
    context: av.video.codeccontext.VideoCodecContext, pix_fmt: str, colour: Mapping[str, int]
) -> dict[str, str]:
    """Tag the encoder with `colour`; the swscale arguments that make its pixel format."""
    context.color_primaries = colour["colour_primaries"]
    context.color_trc = colour["transfer_characteristics"]
    if not pix_fmt.startswith("yuv"):
        context.colorspace = colour["matrix_coefficients"]
        context.color_range = _RANGE_FULL if colour["full_range"] else _RANGE_LIMITED
        return {}
    matrix = yuv_matrix(colour)
    context.colorspace = matrix
    context.color_range = _RANGE_LIMITED
    return {"dst_colorspace": _SWSCALE_MATRICES[matrix], "dst_color_range": "MPEG"}


def _rgb_frame(rgb: np.ndarray, colour: Mapping[str, int]) -> av.VideoFrame:
    """A frame tagged with its primaries and transfer, which PNG writes as sRGB/cHRM chunks."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    frame.color_primaries = colour["colour_primaries"]
    frame.color_trc = colour["transfer_characteristics"]
    return frame


def _checked_frames(frames_u8: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Contiguous uint8 H x W x 3 frames, all of the first frame's size."""
    if isinstance(frames_u8, np.ndarray) and (frames_u8.ndim != 4 or frames_u8.shape[-1] != 3):
        raise VideoError(f"expected T x H x W x 3 frames, got shape {frames_u8.shape}")
    shape = None
    for frame in frames_u8:
        rgb = np.ascontiguousarray(frame, dtype=np.uint8)
        shape = shape or rgb.shape
        if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.shape != shape:
            raise VideoError(f"expected H x W x 3 frames of one size, got shape {rgb.shape}")
        yield rgb


def _encoder(kind: str, lossless: bool) -> tuple[str, str, dict[str, str]]:
    """Codec, pixel format and codec options of an output format."""
    if kind == "mp4":
        if lossless:
            return "libx264rgb", "rgb24", {"qp": "0", "preset": "medium"}
        return "libx264", "yuv420p", {"crf": "18", "preset": "medium"}
    return {"mkv": ("ffv1", "bgr0", {}), "y4m": ("rawvideo", "yuv444p", {})}.get(
        kind, ("png", "rgb24", {})
    )


_MUXERS = {"mp4": "mp4", "mkv": "matroska", "y4m": "yuv4mpegpipe", "png": "image2pipe"}


def _write_png_sequence(
    pattern: str,
    frames_u8: Iterable[np.ndarray],
    width: int,
    height: int,
    colour: Mapping[str, int],
) -> int:
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "rgb24"
    written: set[str] = set()
    for index, rgb in enumerate(frames_u8):
        name = png_name(pattern, index)
        if name in written:
            raise VideoError(f"{pattern}: the pattern gives the same name to several frames")
        written.add(name)
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        packets = encoder.encode(_rgb_frame(rgb, colour))
        Path(name).write_bytes(b"".join(bytes(packet) for packet in packets))
    return len(written)


def png_name(pattern: str, index: int) -> str:
    """The file name of frame `index` under a PNG pattern such as `frames/%05d.png`."""
    try:
        return pattern % index
    except (TypeError, ValueError):
        raise VideoError(f"{pattern}: a PNG pattern needs one integer field such as %05d") from None
