"""nvcodec.encode / decode / probe on paths and arrays; atomic outputs; rate control."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

import nvcodec
from nvcodec import api
from nvcodec.bitstream.codec import decode_cfv
from nvcodec.decoder import views
from nvcodec.decoder.render import render
from nvcodec.encoder import pipeline
from nvcodec.encoder.fit import fit
from nvcodec.encoder.ratecontrol import choose_qmax, grid_db_per_bpp
from nvcodec.encoder.sampler import PixelSample
from nvcodec.errors import CfvError, FileError, SettingsError, VideoError
from nvcodec.io import atomic
from nvcodec.io.video import read_video
from nvcodec.metrics import psnr
from nvcodec.settings import DEFAULT_LAYERS


def test_encode_an_array_and_measure_the_decoded_file(tiny_clip: np.ndarray) -> None:
    summary = nvcodec.encode(tiny_clip, fps=Fraction(30000, 1001), params=8000, epochs=3)
    assert summary.output is None and summary.bytes == len(summary.data)
    assert (summary.width, summary.height, summary.frames) == (32, 24, 8)
    assert summary.params <= 8000
    assert summary.bpp == pytest.approx(8 * summary.bytes / (32 * 24 * 8))
    decoded = nvcodec.decode(summary.data)
    assert decoded.frames_u8.shape == tiny_clip.shape
    assert summary.psnr == pytest.approx(psnr(tiny_clip, decoded.frames_u8))
    assert len(summary.psnr_per_frame) == 8
    info = nvcodec.probe(summary.data)
    assert info.canvas.fps == Fraction(30000, 1001)
    assert info.metadata["psnr"] == pytest.approx(summary.psnr, abs=1e-4)
    assert info.metadata["settings"]["params"] == 8000
    assert info.metadata["precision"] == summary.precision in ("float32", "bfloat16")
    assert set(summary.to_dict()) >= {"params", "bytes", "bpp", "psnr", "seconds", "device"}


@pytest.mark.parametrize("model", ["grid", "mlp"])
def test_each_representation_has_its_default_layers(tiny_clip: np.ndarray, model: str) -> None:
    summary = nvcodec.encode(tiny_clip, params=8000, epochs=0.5, model=model)
    assert nvcodec.probe(summary.data).config.num_layers == DEFAULT_LAYERS[model]
    assert nvcodec.probe(summary.data).metadata["settings"]["layers"] == DEFAULT_LAYERS[model]


def test_the_batch_size_reaches_the_fit(tiny_clip: np.ndarray, monkeypatch) -> None:
    batch_sizes = []

    def recording_fit(clip, config, fit_config, **options):
        batch_sizes.append(fit_config.batch_size)
        return fit(clip, config, fit_config, **options)

    monkeypatch.setattr(pipeline, "fit", recording_fit)
    summary = nvcodec.encode(tiny_clip, params=8000, epochs=1, batch_size=300)
    assert batch_sizes == [300]
    assert nvcodec.probe(summary.data).metadata["settings"]["batch_size"] == 300


def test_encode_a_file_with_a_range_and_a_size(tiny_mkv: str, tmp_path: Path) -> None:
    output = tmp_path / "part.cfv"
    summary = api.encode(
        tiny_mkv, output, frames=(2, 6), size=(16, 12), params=8000, epochs=2, layers=1
    )
    info = api.probe(output)
    assert (info.canvas.width, info.canvas.height, info.canvas.num_frames) == (16, 12, 4)
    assert info.config.num_layers == 1 and info.canvas.fps == 24
    assert output.read_bytes() == summary.data
    reference = read_video(tiny_mkv, 2, 6, (16, 12)).frames_u8
    assert summary.psnr == pytest.approx(psnr(reference, api.decode(output).frames_u8))


def test_decode_at_any_size_rate_and_range(tiny_cfv: str) -> None:
    full = api.decode(tiny_cfv).frames_u8
    assert full.shape == (8, 24, 32, 3)
    assert api.decode(tiny_cfv, scale=2).frames_u8.shape == (8, 48, 64, 3)
    assert api.decode(tiny_cfv, size=(20, 10)).frames_u8.shape == (8, 10, 20, 3)
    double = api.decode(tiny_cfv, fps="48").frames_u8
    assert len(double) == 16
    np.testing.assert_array_equal(double[::2], full)
    part = api.decode(tiny_cfv, frames=(3, 6))
    assert part.first_frame == 3 and part.frames == 3
    np.testing.assert_array_equal(part.frames_u8, full[3:6])
    assert api.decode(tiny_cfv, frames=(5, None)).frames == 3


def test_decode_renders_only_the_frames_asked_for(tiny_cfv: str, monkeypatch) -> None:
    seen = []
    render = views.render

    def spy(model, canvas, width, height, source_frames, **options):
        seen.append(source_frames.tolist())
        return render(model, canvas, width, height, source_frames, **options)

    monkeypatch.setattr(views, "render", spy)
    api.decode(tiny_cfv, fps=Fraction(48), frames=(7, 9))
    assert seen == [[3.5, 4.0]]


@pytest.mark.parametrize("name", ["out.mp4", "out.mkv", "out.y4m", "frames/f_%03d.png"])
def test_decode_writes_every_format(tiny_cfv: str, tmp_path: Path, name: str) -> None:
    output = tmp_path / name
    output.parent.mkdir(exist_ok=True)
    summary = api.decode(tiny_cfv, output, frames=(2, 5), lossless=True)
    assert summary.frames_u8 is None and summary.frames == 3
    if "%" in name:
        assert sorted(p.name for p in output.parent.iterdir()) == [
            "f_002.png",
            "f_003.png",
            "f_004.png",
        ]
    else:
        expected = api.decode(tiny_cfv, frames=(2, 5)).frames_u8
        written = read_video(output).frames_u8
        assert written.shape == expected.shape
        if name != "out.y4m":
            np.testing.assert_array_equal(written, expected)
    assert not [p for p in tmp_path.rglob(".*")]


def test_outputs_are_never_overwritten_silently(tiny_cfv: str, tmp_path: Path) -> None:
    output = tmp_path / "out.mkv"
    output.write_bytes(b"keep")
    with pytest.raises(FileError, match="already exists"):
        api.decode(tiny_cfv, output)
    assert output.read_bytes() == b"keep"
    api.decode(tiny_cfv, output, overwrite=True)
    assert read_video(output).num_frames == 8
    (tmp_path / "f_001.png").write_bytes(b"keep")
    with pytest.raises(FileError, match="f_001.png: already exists"):
        api.decode(tiny_cfv, tmp_path / "f_%03d.png")
    with pytest.raises(FileError, match="already exists"):
        api.encode(np.zeros((2, 4, 4, 3), np.uint8), output, params=8000)


def test_an_interrupted_decode_leaves_nothing(tiny_cfv: str, tmp_path: Path) -> None:
    def interrupt(progress: api.DecodeProgress) -> None:
        if progress.done == 3:
            raise KeyboardInterrupt

    (tmp_path / "png").mkdir()
    for name in ("out.mkv", "png/f_%02d.png"):
        with pytest.raises(KeyboardInterrupt):
            api.decode(tiny_cfv, tmp_path / name, on_progress=interrupt)
    assert [p.name for p in tmp_path.rglob("*")] == ["png"]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"scale": 2, "size": (4, 4)}, SettingsError, "not both"),
        ({"scale": -1.0}, SettingsError, "positive"),
        ({"size": (0, 4)}, SettingsError, "out of range"),
        ({"size": (20000, 4)}, SettingsError, "out of range"),
        ({"fps": "0"}, SettingsError, "must be positive"),
        ({"fps": "fast"}, SettingsError, "not a number"),
        ({"fps": "1/0"}, SettingsError, "not a number"),
        ({"fps": 10**9}, SettingsError, "more than 1048576"),
        ({"frames": (8, None)}, SettingsError, "selects no frames of 0:8"),
        ({"frames": (4, 2)}, SettingsError, "is empty"),
        ({"precision": "float16"}, SettingsError, "unknown precision"),
    ],
)
def test_impossible_decode_settings(tiny_cfv: str, options: dict, error, message: str) -> None:
    with pytest.raises(error, match=message):
        api.decode(tiny_cfv, **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preset": "s", "params": 9000}, "only one of"),
        ({"preset": "huge"}, "unknown model size"),
        ({"params": 0}, "params must be a positive whole number"),
        ({"params": 100}, "too few"),
        ({"epochs": -1}, "epochs must be a positive number"),
        ({"precision": "float16"}, "unknown precision"),
        ({"batch_size": 0}, "batch_size must be a positive whole number"),
    ],
)
def test_impossible_encode_settings(tiny_clip: np.ndarray, options: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        api.encode(tiny_clip, **options)


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="no such file"):
        api.probe(tmp_path / "absent.cfv")
    with pytest.raises(FileError, match="is a directory"):
        api.decode(tmp_path)
    (tmp_path / "notes.cfv").write_text("hello")
    with pytest.raises(CfvError, match="not a .cfv file"):
        api.probe(tmp_path / "notes.cfv")
    with pytest.raises(VideoError, match="uint8"):
        api.encode(np.zeros((2, 4, 4), np.float32), params=8000)


def test_bpp_target_lands_within_ten_percent_or_warns(tiny_clip: np.ndarray) -> None:
    summary = api.encode(tiny_clip, bpp=14.0, epochs=2)
    assert abs(summary.bpp - 14.0) <= 1.4 or summary.warnings


def test_coarser_quantization_is_chosen_only_while_it_costs_little(tiny_cfv: str, tiny_clip):
    decoded = decode_cfv(Path(tiny_cfv).read_bytes())
    maps = len(decoded.model.linear_weights())
    strict = choose_qmax(decoded.model, decoded.canvas, tiny_clip, max_db_per_bit=-math.inf)
    assert strict.qmax == (127,) * maps and strict.saved_bits_per_parameter == 0
    loose = choose_qmax(decoded.model, decoded.canvas, tiny_clip, max_db_per_bit=math.inf)
    assert loose.qmax == (15,) * maps and loose.psnr_float == strict.psnr_float
    limit = 0.75
    middle = choose_qmax(decoded.model, decoded.canvas, tiny_clip, max_db_per_bit=limit)
    # Every move kept its own cost within the limit, so their sum does too.
    lost = middle.psnr_finest - middle.psnr_quantized
    assert lost <= limit * middle.saved_bits_per_parameter + 1e-9


def test_the_sampled_absolute_error_of_every_pixel_is_the_rendered_clips(tiny_cfv, tiny_clip):
    decoded = decode_cfv(Path(tiny_cfv).read_bytes())
    canvas = decoded.canvas
    every = PixelSample(canvas, tiny_clip, count=tiny_clip[..., 0].size)
    frames = torch.arange(canvas.num_frames, dtype=torch.float64)
    rendered = np.stack(list(render(decoded.model, canvas, canvas.width, canvas.height, frames)))
    error = np.abs(rendered.astype(np.float64) - tiny_clip).sum(-1).mean() / 255.0
    # The sample's batched path and the renderer's per-frame one may round a rare code apart.
    assert every.absolute_error(decoded.model) == pytest.approx(error, rel=0.01)
    assert grid_db_per_bpp(0.2, error) == pytest.approx(2 * grid_db_per_bpp(0.1, error))


def test_parse_fps() -> None:
    assert api.parse_fps("30000/1001") == Fraction(30000, 1001)
    assert api.parse_fps(29.97) == Fraction(2997, 100)
    assert api.parse_fps("25") == 25


def test_atomic_output_cleans_up_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    with pytest.raises(RuntimeError), atomic.atomic_output(target, overwrite=False) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []
    with atomic.atomic_output(target, overwrite=False) as temporary:
        assert temporary.suffix == ".bin" and temporary.parent == tmp_path
        temporary.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [target]
