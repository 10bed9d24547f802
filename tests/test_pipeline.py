"""The encoder pipeline: one file written, parsed once, its measurements those of the model the
decoder rebuilds."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nvcodec.bitstream import cfv
from nvcodec.bitstream.codec import decode_cfv
from nvcodec.encoder.fit import FitConfig
from nvcodec.encoder.pipeline import encode_clip, measure, model_config
from nvcodec.errors import SettingsError
from nvcodec.model.canvas import Canvas


def counting(monkeypatch, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(cfv, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(cfv, name, counted)
    return calls


def test_an_encode_writes_its_file_once_and_parses_it_once(tiny_clip, monkeypatch) -> None:
    writes, reads = (
        counting(monkeypatch, "write_container"),
        counting(monkeypatch, "read_container"),
    )
    config = FitConfig(epochs=2, batch_size=256, device="cpu")
    encoded = encode_clip(tiny_clip, Fraction(24), config, params=8000, metadata={"k": "v"})
    assert (len(writes), len(reads)) == (1, 1)
    assert encoded.info.metadata["k"] == "v" and encoded.info.metadata["qmax"] == list(encoded.qmax)
    # What the encoder measured before writing is what the file decodes to.
    decoded = decode_cfv(encoded.data)
    canvas = Canvas(32, 24, 8, Fraction(24))
    per_frame, overall = measure(decoded.model, canvas, tiny_clip)
    assert overall == pytest.approx(encoded.psnr)
    assert encoded.info.metadata["psnr"] == round(overall, 4)
    np.testing.assert_allclose(per_frame, encoded.psnr_per_frame)


def test_the_model_size_is_given_one_way() -> None:
    clip = np.zeros((2, 8, 8, 3), np.uint8)
    config = FitConfig(epochs=1)
    with pytest.raises(SettingsError, match="parameter count or as a bpp target"):
        encode_clip(clip, Fraction(25), config)
    with pytest.raises(SettingsError, match="parameter count or as a bpp target"):
        encode_clip(clip, Fraction(25), config, params=5000, bpp=0.1)


def test_a_budget_too_small_for_any_model_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="too few for a 2-layer model"):
        model_config(100, 32, 24, 8, 2)
