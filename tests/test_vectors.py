"""The golden files of spec/vectors/ (and the frozen files of the versions 1.0 to 1.4 in
spec/vectors/1.0/ to 1.4/) decode to their recorded frames (see tools/make_vectors.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nvcodec.bitstream.segments import probe_cfv
from nvcodec.decoder.segments import ClipModels
from nvcodec.decoder.views import View
from tools.make_vectors import steps_off

VECTORS = Path(__file__).resolve().parents[1] / "spec" / "vectors"
CASES = [
    (directory, name, entry)
    for directory in (
        VECTORS,
        *(VECTORS / version for version in ("1.0", "1.1", "1.2", "1.3", "1.4")),
    )
    for name, entry in json.loads((directory / "vectors.json").read_text()).items()
]


@pytest.mark.parametrize(
    ("directory", "name", "expected"),
    CASES,
    ids=[f"{d.relative_to(VECTORS)}/{name}" for d, name, _ in CASES],
)
def test_golden_vector(directory: Path, name: str, expected: dict) -> None:
    data = (directory / expected["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == expected["file_sha256"]
    assert probe_cfv(data).metadata == {"vector": name}
    clip = ClipModels.open(data, torch.device("cpu"))
    times = torch.arange(clip.canvas.num_frames, dtype=torch.float64)
    stored = np.load(directory / expected["frames_file"], allow_pickle=False)
    for key in ("native", "double"):
        size = expected[key]["width"], expected[key]["height"]
        frames = np.stack(list(clip.render(View(), *size, times)))
        if hashlib.sha256(frames.tobytes()).hexdigest() == expected[key]["sha256"]:
            continue
        # Floats may round differently (another CPU, fused products): a rare step of one level.
        assert steps_off(frames, stored[key]) is not None, (name, key)


def test_conformance_bound_allows_only_rare_single_steps() -> None:
    stored = np.full((2, 10, 10, 3), 100, np.uint8)
    frames = stored.copy()
    assert steps_off(frames, stored) == 0
    frames[0, 0, 0, 0] = 101
    frames[1, 5, 5, 2] = 99
    assert steps_off(frames, stored) == 2
    frames[0, 0, 0, 0] = 102  # two steps
    assert steps_off(frames, stored) is None
    frames = stored + np.uint8(1)  # every sample one step off
    assert steps_off(frames, stored) is None
    assert steps_off(stored[:1], stored) is None
