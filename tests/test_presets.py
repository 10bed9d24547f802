import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.errors import SettingsError
from nvcodec.model.coordflow import CoordFlow, count_parameters
from nvcodec.model.presets import PRESETS, config_for_budget, config_for_preset


@settings(max_examples=30, deadline=None)
@given(
    params=st.integers(20_000, 400_000),
    width=st.integers(16, 1920),
    height=st.integers(16, 1080),
    frames=st.integers(1, 600),
    layers=st.integers(1, 3),
)
def test_budget_is_respected_and_nearly_used(params, width, height, frames, layers) -> None:
    config = config_for_budget(params, width, height, frames, num_layers=layers)
    count = count_parameters(CoordFlow(config))
    assert count <= params
    # One more width step would overshoot: the budget is used, not wasted.
    wider = config_for_budget(params * 2, width, height, frames, num_layers=layers)
    assert wider.colour_width > config.colour_width


def test_presets_grow_and_xs_is_the_demo_size() -> None:
    counts = [count_parameters(CoordFlow(config_for_preset(name, 160, 90, 32))) for name in PRESETS]
    assert counts == sorted(counts)
    assert 90_000 <= counts[0] <= 100_000


def test_unknown_preset() -> None:
    with pytest.raises(SettingsError, match="unknown model size"):
        config_for_preset("xxl", 64, 64, 8)
