"""The curves of one benchmark run: nvcodec fitted once per model size, each classic codec at the
CRFs that span nvcodec's rates, every point measured by `nvcodec.bench.metrics` and kept in the
run's work directory as soon as it is finished; then the Bjøntegaard deltas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from nvcodec import api
from nvcodec.bench.bd import METHODS, bd
from nvcodec.bench.classic import ClassicCodec, Encoded, span_crfs
from nvcodec.bench.metrics import measure
from nvcodec.bench.schema import (
    MEASURED,
    NVCODEC,
    BdEntry,
    Clip,
    Curve,
    Point,
    RdResult,
    read_result,
)
from nvcodec.bench.workdir import WorkDir
from nvcodec.errors import SettingsError
from nvcodec.io.colour import Colour, Yuv, rgb_to_yuv
from nvcodec.settings import layers_for

BD_METRICS = ("psnr_rgb", "psnr_y", "psnr_yuv", "ms_ssim")

Report = Callable[[str], None]


class Reference:
    """The clip every codec is scored against: RGB frames, their 4:2:0 planes, the colour."""

    def __init__(self, frames_u8: np.ndarray, fps: Fraction, colour: Colour) -> None:
        self.frames_u8 = frames_u8
        self.fps = fps
        self.colour = colour
        self.yuv = rgb_to_yuv(frames_u8, colour)

    def point(
        self,
        setting: dict,
        info: dict,
        size_bytes: int,
        decoded_rgb: np.ndarray,
        decoded_yuv: Yuv | None,
        encode_seconds: float,
        decode_seconds: float,
    ) -> Point:
        """A measured point; `decoded_yuv` None converts `decoded_rgb` to 4:2:0 first."""
        if decoded_yuv is None:
            decoded_yuv = rgb_to_yuv(decoded_rgb, self.colour)
        quality = measure(self.frames_u8, decoded_rgb, self.yuv, decoded_yuv)
        return Point(
            setting=setting,
            info=info,
            bytes=size_bytes,
            bpp=8.0 * size_bytes / self.frames_u8[..., 0].size,
            **quality.pooled,
            per_frame=quality.per_frame,
            encode_seconds=round(encode_seconds, 3),
            decode_seconds=round(decode_seconds, 3),
        )


def nvcodec_curve(
    reference: Reference,
    representation: str,
    layers: int | None,
    sizes: list[dict],
    effort: dict,
    device: str,
    work: WorkDir,
    report: Report,
) -> Curve:
    """Fit, store and decode one model of `representation` with `layers` (None: the encoder's
    default) per entry of `sizes` ({"params": N}, {"bpp": X} or {"rate_lambda": L}), reusing
    the points the work directory already has."""
    points = []
    for index, setting in enumerate(sizes):
        name = f"nvcodec_{index}_" + "_".join(f"{k}{v:g}" for k, v in setting.items())
        point = work.point(name)
        if point is None:
            path = work.file(f"{name}.cfv")
            summary = api.encode(
                reference.frames_u8,
                path,
                fps=reference.fps,
                layers=layers,
                model=representation,
                device=device,
                overwrite=True,
                **setting,
                **effort,
            )
            decoded = api.decode(path, device=device)
            info = {
                "params": summary.params,
                "bits_per_weight": round(summary.bits_per_weight, 4),
                "qmax": list(summary.qmax),
                "rate_lambda": summary.rate_lambda,
                "epochs": round(summary.epochs, 3),
                "fit_seconds": round(summary.fit_seconds, 3),
                "precision": summary.precision,
                "encoder_psnr": summary.psnr,  # nvcodec's own measurement, a cross-check
                "warnings": summary.warnings,
            }
            point = reference.point(
                setting,
                info,
                path.stat().st_size,
                decoded.frames_u8,
                None,
                summary.seconds,
                decoded.seconds,
            )
            work.save(name, point)
        report(_line(NVCODEC, point))
        points.append(point)
    settings = {
        "layers": layers_for(representation, layers),
        "model": representation,
        **effort,
        "device": device,
        "sizes": sizes,
    }
    return Curve(NVCODEC, MEASURED, settings, points)


def classic_curve(
    codec: ClassicCodec,
    key: str,
    reference: Reference,
    bpp_range: tuple[float, float],
    count: int,
    work: WorkDir,
    report: Report,
) -> Curve:
    """`count` CRFs of `codec` spanning `bpp_range`. The search only needs rates, kept in the
    work directory; the chosen CRFs are encoded again (the encoders are deterministic) and
    measured."""
    search_name = f"{key}_search"
    rates = {int(crf): size for crf, size in work.record(search_name).items()}

    def encode(crf: int) -> Encoded:
        encoded = codec.encode(reference.frames_u8, reference.fps, crf, reference.colour)
        rates[crf] = encoded.bytes
        work.save_record(search_name, {str(c): rates[c] for c in sorted(rates)})
        return encoded

    def bpp_at(crf: int) -> float:
        if crf not in rates:
            encode(crf)
        return 8.0 * rates[crf] / reference.frames_u8[..., 0].size

    crfs = span_crfs(bpp_at, codec, bpp_range, count)
    points = []
    for crf in crfs:
        name = f"{key}_crf{crf}"
        point = work.point(name)
        if point is None:
            encoded = encode(crf)
            point = reference.point(
                {"crf": crf},
                {},
                encoded.bytes,
                encoded.rgb,
                encoded.yuv,
                encoded.encode_seconds,
                encoded.decode_seconds,
            )
            work.save(name, point)
        report(_line(codec.name, point))
        points.append(point)
    settings = {
        "encoder": codec.codec,
        "decoder": codec.decoder,
        "pix_fmt": codec.pix_fmt,
        "preset": codec.preset,
        "options": codec.options,
        "crfs": crfs,
        "crf_choice": f"{count} CRFs spanning nvcodec's bpp range {list(bpp_range)}",
        "search_encodes": len(rates),
    }
    return Curve(codec.name, MEASURED, settings, points)


def earlier_curves(path: str, clip: Clip, nvcodec: bool) -> tuple[list[Curve], str]:
    """The nvcodec curve (`nvcodec`) or the other curves of an earlier result on the same
    clip, renamed after that file and marked with where they came from; and a note."""
    earlier = read_result(path)
    same = ("frames", "size", "fps")
    if any(getattr(earlier.clip, k) != getattr(clip, k) for k in same):
        raise SettingsError(
            f"{path}: its clip (frames {earlier.clip.frames}, {earlier.clip.size}, "
            f"{earlier.clip.fps} fps) is not this run's"
        )
    name = Path(path).name
    source = f"{name} ({earlier.environment.get('date', 'undated')})"
    if nvcodec:
        curves = [replace(c, source=source) for c in earlier.curves if c.codec == NVCODEC]
        if not curves:
            raise SettingsError(f"{path}: has no nvcodec curve")
        note = f"nvcodec points from {source}, not refitted; metrics it did not measure are null"
    else:
        curves = [
            replace(c, codec=f"{c.codec} ({name})", source=source)
            for c in earlier.curves
            if c.codec != NVCODEC
        ]
        note = f"curves marked ({name}) are from {source}, scored through: {earlier.colour}"
    return curves, note


def bd_entries(curves: list[Curve], anchor: str) -> list[BdEntry]:
    """Every curve against the anchor, and nvcodec against every other curve, on each metric
    of BD_METRICS by each method."""
    names = [c.codec for c in curves]
    pairs = [(test, anchor) for test in names if test != anchor and anchor in names]
    pairs += [
        (NVCODEC, other) for other in names if NVCODEC in names and other not in (NVCODEC, anchor)
    ]
    by_name = {c.codec: c for c in curves}
    entries = []
    for test, against in pairs:
        for metric in BD_METRICS:
            for method in METHODS:
                delta = bd(
                    [(p.bpp, p.metric(metric)) for p in by_name[against].points],
                    [(p.bpp, p.metric(metric)) for p in by_name[test].points],
                    method,
                )
                entries.append(
                    BdEntry(
                        test,
                        against,
                        metric,
                        method,
                        _rounded(delta.bd_rate_percent, 3),
                        _rounded(delta.bd_quality, 4 if metric.startswith("psnr") else 6),
                        None if delta.rate_range is None else list(delta.rate_range),
                        None if delta.quality_range is None else list(delta.quality_range),
                        delta.reason,
                    )
                )
    return entries


def assemble(
    command: str,
    environment: dict,
    colour: Colour,
    anchor: str,
    clip: Clip,
    curves: list[Curve],
    notes: list[str],
) -> RdResult:
    return RdResult(
        command=command,
        environment=environment,
        colour=f"{colour.describe()}; 4:2:0 by 2x2 box average, back by centre-sited bilinear",
        anchor=anchor,
        clip=clip,
        curves=curves,
        bd=bd_entries(curves, anchor),
        notes=notes,
    )


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _line(name: str, point: Point) -> str:
    setting = ", ".join(f"{k} {v:g}" for k, v in point.setting.items())
    yuv = "  n/a" if point.psnr_yuv is None else f"{point.psnr_yuv:6.2f}"
    return (
        f"{name:18s} {setting:16s} {point.bpp:8.4f} bpp  {point.psnr_rgb:6.2f} dB RGB  "
        f"{yuv} dB YUV  encode {point.encode_seconds:7.1f} s"
    )
