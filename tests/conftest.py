"""Shared fixtures: tiny synthetic clips, written to real files with PyAV where needed."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import settings

from nvcodec.io.video import write_video
from nvcodec.testing.synthetic import default_trajectory, pan_clip

# At most 2 threads, fewer where the environment asks (OMP_NUM_THREADS).
torch.set_num_threads(min(2, torch.get_num_threads()))

# Shared 2-core machines stall a test now and then; a timing deadline would make that a failure.
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")

CUDA_TEST_DEVICE = torch.device(os.environ.get("NVCODEC_CUDA_TEST_DEVICE", "cuda"))
"""Where the `cuda`-marked tests run: CUDA, or the CPU in the device check's dry run, which
keeps them runnable between GPU sessions."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the `cuda`-marked tests, with the reason, where they would need a missing GPU."""
    if CUDA_TEST_DEVICE.type != "cuda" or torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (python -m tools.device_check runs it)")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)


@pytest.fixture
def cuda_device() -> torch.device:
    """The device of the `cuda`-marked tests (CUDA_TEST_DEVICE)."""
    return CUDA_TEST_DEVICE


@pytest.fixture(scope="session")
def tiny_clip() -> np.ndarray:
    """8 frames of 32 x 24 pixels of a panning texture."""
    return pan_clip(32, 24, default_trajectory(8, 32, 24), seed=1)


@pytest.fixture(scope="session")
def tiny_mkv(tmp_path_factory: pytest.TempPathFactory, tiny_clip: np.ndarray) -> str:
    path = tmp_path_factory.mktemp("clips") / "tiny.mkv"
    write_video(path, tiny_clip, Fraction(24))
    return str(path)


@pytest.fixture(scope="session")
def tiny_mp4(tmp_path_factory: pytest.TempPathFactory, tiny_clip: np.ndarray) -> str:
    """The tiny clip as a real H.264 mp4, as users hand it to `cfv encode`."""
    path = tmp_path_factory.mktemp("clips") / "tiny.mp4"
    write_video(path, tiny_clip, Fraction(24))
    return str(path)


@pytest.fixture(scope="session")
def tiny_cfv(tmp_path_factory: pytest.TempPathFactory, tiny_clip: np.ndarray) -> str:
    """A .cfv file of the tiny clip: an MLP model fitted for a few epochs (the grid model's
    files are tests/test_representations.py's and tests/test_cfv_grid.py's)."""
    from nvcodec.api import encode

    path = tmp_path_factory.mktemp("cfv") / "tiny.cfv"
    encode(tiny_clip, path, fps=Fraction(24), model="mlp", params=8000, epochs=4)
    return str(path)
