"""The synthetic clips the tests and the applications fit: the object clip's mask is its disc."""

from __future__ import annotations

import numpy as np
import pytest

from nvcodec.testing.synthetic import object_clip


def test_the_object_clip_masks_its_disc() -> None:
    frames = 6
    background = np.zeros((frames, 2))
    path = np.stack((np.linspace(-10, 10, frames), np.zeros(frames)), axis=-1)
    clip, masks = object_clip(64, 48, background, path, radius=8.0, seed=3)
    assert clip.shape == (frames, 48, 64, 3) and masks.shape == (frames, 48, 64)
    assert masks.sum(axis=(1, 2)) == pytest.approx(np.pi * 64, rel=0.1)
    # The disc moves, the background stands still: outside both discs consecutive frames agree.
    outside = ~(masks[1:] | masks[:-1])
    np.testing.assert_array_equal(clip[1:][outside], clip[:-1][outside])
    assert (clip[1:][masks[1:] & ~masks[:-1]] != clip[:-1][masks[1:] & ~masks[:-1]]).any()
