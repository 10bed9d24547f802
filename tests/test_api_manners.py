"""The Python API's manners: what it accepts besides the documented types, and a one-line
NvcodecError for every misuse, whatever the value."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import nvcodec
from nvcodec import api
from nvcodec.decoder.views import View
from nvcodec.errors import (
    DeviceError,
    FileError,
    NvcodecError,
    SettingsError,
    VideoError,
)

ROOT = Path(__file__).resolve().parents[1]
TINY_FIT = {"params": 8000, "epochs": 1}


def test_top_level_names() -> None:
    assert nvcodec.__version__ == api.encoder_version().removeprefix("nvcodec ")
    for name in ("NvcodecError", "SettingsError", "VideoError", "FileError", "CfvError"):
        assert issubclass(getattr(nvcodec, name), Exception)
    assert nvcodec.SettingsError is SettingsError
    assert nvcodec.probe is api.probe


def test_frames_from_anything_numpy_converts(tiny_clip: np.ndarray) -> None:
    def fitted(frames: object) -> np.ndarray:  # the decoded frames: the file's metadata has times
        return api.decode(api.encode(frames, **TINY_FIT).data).frames_u8

    reference = fitted(tiny_clip)
    np.testing.assert_array_equal(fitted(list(tiny_clip)), reference)
    np.testing.assert_array_equal(fitted(torch.from_numpy(tiny_clip)), reference)


def test_ranges_and_sizes_as_text_or_slices(tiny_cfv: str) -> None:
    data = Path(tiny_cfv).read_bytes()
    assert api.decode(data, frames="2:6").frames_u8.shape[0] == 4
    assert api.decode(data, frames=slice(2, 6)).frames_u8.shape[0] == 4
    assert api.decode(data, frames=[2, None]).frames_u8.shape[0] == 6
    assert api.decode(data, size="40x30", frames="0:1").frames_u8.shape == (1, 30, 40, 3)


def test_cfv_from_a_binary_file_object(tiny_cfv: str) -> None:
    with open(tiny_cfv, "rb") as handle:
        assert api.probe(handle).bytes == Path(tiny_cfv).stat().st_size
    with open(tiny_cfv, "rb") as handle:
        assert api.decode(handle, frames="0:2").frames_u8.shape == (2, 24, 32, 3)


def test_cfv_from_a_file_object_of_something_else() -> None:
    with pytest.raises(nvcodec.CfvError, match="not a .cfv file"):
        api.probe(io.BytesIO(b"RIFF....WAVEfmt "))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda d: api.decode(d, io.BytesIO()), SettingsError, "output must be a path"),
        (lambda d: api.decode(d, frames=5), SettingsError, "use --frames 0:5 for 5 frames"),
        (lambda d: api.decode(d, frames="0:4:2"), SettingsError, "not a frame range"),
        (lambda d: api.decode(d, frames=slice(0, 8, 2)), SettingsError, "step of 1"),
        (lambda d: api.decode(d, frames=(0.5, 3)), SettingsError, "whole numbers"),
        (lambda d: api.decode(d, size=(32,)), SettingsError, "(width, height) pair"),
        (lambda d: api.decode(d, size="32 by 18"), SettingsError, "not a size"),
        (lambda d: api.decode(d, scale="2"), SettingsError, "scale must be a positive number"),
        (lambda d: api.decode(d, view=View(layer="0")), SettingsError, "--layer must be a whole"),
        (lambda d: api.decode(d, view=View(stabilize="5")), SettingsError, "must be a positive"),
        (lambda d: api.decode(d, view="alpha"), SettingsError, "view must be a"),
        (lambda d: api.decode(d, device="gpu"), SettingsError, "use auto, cpu, cuda or cuda:N"),
        (lambda d: api.decode(d, device=0), SettingsError, "unknown device 0"),
        (lambda d: api.decode(d, on_progress=True), SettingsError, "must be a function"),
        (lambda d: api.decode(d, fps=[25]), SettingsError, "not a number or a ratio"),
        (lambda d: api.decode(12345), FileError, "not int"),
        (lambda d: api.probe(io.StringIO("text")), FileError, "binary mode"),
    ],
)
def test_decode_misuse(tiny_cfv: str, call, error: type, message: str) -> None:
    data = Path(tiny_cfv).read_bytes()
    with pytest.raises(error) as caught:
        call(data)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("input", "options", "error", "message"),
    [
        ("clip", {"output": io.BytesIO()}, SettingsError, "output must be a path"),
        (io.BytesIO(b"\0" * 64), {}, VideoError, "reads a video from a path"),
        ([[1, 2], [3]], {}, VideoError, "T x H x W x 3 uint8 frames"),
        ([object()], {}, VideoError, "T x H x W x 3 uint8 frames"),
        ("float", {}, VideoError, "uint8"),
        ("clip", {"epochs": "5"}, SettingsError, "epochs must be a positive number"),
        ("clip", {"minutes": float("nan")}, SettingsError, "minutes must be a positive"),
        ("clip", {"layers": 2.5}, SettingsError, "layers must be a positive whole number"),
        ("clip", {"layers": 9}, SettingsError, "at most 8"),
        ("clip", {"params": True}, SettingsError, "params must be a positive whole number"),
        ("clip", {"seed": "x"}, SettingsError, "seed must be a whole number"),
        ("clip", {"precision": 16}, SettingsError, "unknown precision"),
        ("clip", {"preset": "xxl"}, SettingsError, "unknown model size"),
        ("clip", {"frames": "4:2"}, SettingsError, "is empty"),
        ("clip", {"frames": "9:"}, SettingsError, "selects no frames"),
        ("clip", {"size": "0x18"}, SettingsError, "out of range"),
        ("clip", {"device": "cuda:one"}, SettingsError, "unknown device"),
    ],
)
def test_encode_misuse(
    tiny_clip: np.ndarray, input: Any, options: dict, error: type, message: str
) -> None:
    frames = {"clip": tiny_clip, "float": tiny_clip.astype(np.float32)}
    with pytest.raises(error) as caught:
        api.encode(frames.get(input, input) if isinstance(input, str) else input, **options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.skipif(torch.cuda.device_count() > 7, reason="needs a CUDA index this machine lacks")
def test_a_cuda_index_the_machine_lacks(tiny_cfv: str) -> None:
    with pytest.raises(DeviceError, match="no CUDA device"):
        api.decode(tiny_cfv, device="cuda:7")


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(-10, 10) | st.sampled_from([float("nan"), float("inf")]),
    st.text(max_size=6),
    st.lists(st.integers(-3, 10), max_size=3),
    st.tuples(st.integers(-3, 10), st.integers(-3, 10)),
    st.builds(slice, st.integers(-3, 10), st.integers(-3, 10)),
    st.just(object()),
)


@hypothesis_settings(max_examples=60)
@given(
    name=st.sampled_from(
        ["scale", "size", "fps", "frames", "device", "layer", "drop_layer", "stabilize"]
    ),
    value=ODD_VALUES,
)
def test_any_decode_setting_renders_or_is_refused_in_one_line(
    tiny_cfv: str, name: str, value: object
) -> None:
    try:
        if name in ("layer", "drop_layer", "stabilize"):
            api.decode(tiny_cfv, view=View(**{name: value}))
        else:
            api.decode(tiny_cfv, **{name: value})
    except NvcodecError as exc:
        assert str(exc) and "\n" not in str(exc)


@pytest.mark.slow
def test_the_wheel_ships_py_typed_and_every_subpackage(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT / "nvcodec", source / "nvcodec", ignore=shutil.ignore_patterns("__py*"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("nvcodec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "nvcodec/py.typed" in names and "nvcodec/__main__.py" in names
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "nvcodec").rglob("*.py")}
    assert {f"{package}/__init__.py" for package in packages} <= names
