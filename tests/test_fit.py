import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nvcodec.decoder.render import render
from nvcodec.encoder.fit import (
    LR,
    DivergenceGuard,
    FitConfig,
    _schedule,
    copy_matching,
    default_lr,
    fit,
    rate_weight_at,
)
from nvcodec.errors import DeviceError, FitError
from nvcodec.metrics import psnr
from nvcodec.model.coordflow import CoordFlow, ModelConfig
from nvcodec.testing.synthetic import pan_clip

SMALL = ModelConfig(num_layers=2, colour_width=32, colour_depth=2, xy_octaves=4, t_octaves=2)


def fitted_psnr(clip: np.ndarray, model_config: ModelConfig, fit_config: FitConfig) -> float:
    result = fit(clip, model_config, fit_config)
    height, width = clip.shape[1:3]
    frames = torch.arange(clip.shape[0], dtype=torch.float64)
    return psnr(clip, np.stack(list(render(result.model, result.canvas, width, height, frames))))


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_short_fit_reaches_a_useful_psnr(tiny_clip, precision) -> None:
    config = FitConfig(epochs=40, batch_size=1024, seed=0, precision=precision)
    assert fitted_psnr(tiny_clip, SMALL, config) > 26.0


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_fit_is_reproducible_for_a_seed(tiny_clip, precision) -> None:
    config = FitConfig(epochs=2, batch_size=512, seed=7, precision=precision)
    a = fit(tiny_clip, SMALL, config).model.state_dict()
    b = fit(tiny_clip, SMALL, config).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_warm_start_copies_the_tensors_whose_shapes_match() -> None:
    torch.manual_seed(1)
    source = CoordFlow(SMALL)
    wider = CoordFlow(ModelConfig(num_layers=2, colour_width=48, colour_depth=2, xy_octaves=4,
                                  t_octaves=2))  # fmt: skip
    theirs = dict(source.named_parameters())
    matching = [n for n, v in wider.named_parameters() if v.shape == theirs[n].shape]
    assert any(not torch.equal(dict(wider.named_parameters())[n], theirs[n]) for n in matching)
    assert copy_matching(source, wider) == len(matching) < len(theirs)
    mine = dict(wider.named_parameters())
    assert all(torch.equal(mine[name], theirs[name]) for name in matching)


def test_a_fit_starts_from_the_model_it_is_given(tiny_clip) -> None:
    first = fit(tiny_clip, SMALL, FitConfig(epochs=4, batch_size=512, seed=0)).model
    config = FitConfig(epochs=0.01, batch_size=512, seed=1)
    cold = fit(tiny_clip, SMALL, config)
    warm = fit(tiny_clip, SMALL, config, start=first)
    assert warm.history[-1].psnr > cold.history[-1].psnr + 3.0


def test_time_budget_stops_the_fit(tiny_clip) -> None:
    result = fit(tiny_clip, SMALL, FitConfig(epochs=None, seconds=0.5, batch_size=256))
    assert 0.5 <= result.seconds < 5.0 and result.steps > 0


def test_progress_reports(tiny_clip) -> None:
    reports = []
    fit(
        tiny_clip,
        SMALL,
        FitConfig(epochs=3, batch_size=512, report_every=0.0),
        on_progress=reports.append,
    )
    assert len(reports) >= 3
    assert reports[-1].epoch == pytest.approx(3.0, abs=0.1)
    assert all(np.isfinite(r.psnr) and r.loss > 0 for r in reports)


def test_divergence_is_never_silent(tiny_clip) -> None:
    with pytest.raises(FitError, match="diverged"):
        fit(
            tiny_clip,
            SMALL,
            FitConfig(epochs=20, batch_size=256, lr=1e12, warmup=0.0, report_every=0.0),
        )


def test_schedule_warms_up_then_anneals() -> None:
    assert _schedule(0.0, 0.1) < 0.05
    assert _schedule(0.1, 0.1) == pytest.approx(1.0)
    assert _schedule(0.55, 0.1) == pytest.approx(0.5)
    assert _schedule(1.0, 0.1) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error path")
def test_cuda_without_a_gpu_is_a_clear_error(tiny_clip) -> None:
    with pytest.raises(DeviceError, match="no CUDA device"):
        fit(tiny_clip, SMALL, FitConfig(epochs=1, device="cuda"))


def test_bad_budgets_are_refused() -> None:
    with pytest.raises(FitError):
        FitConfig(epochs=None, seconds=None)
    with pytest.raises(FitError):
        FitConfig(epochs=-1)
    with pytest.raises(FitError, match="precision"):
        FitConfig(precision="float16")
    with pytest.raises(FitError, match="rate_every"):
        FitConfig(rate_every=0)


@given(rate_every=st.integers(1, 6), steps=st.integers(1, 60))
def test_the_rate_term_keeps_its_weight_over_the_steps_that_skip_it(
    rate_every: int, steps: int
) -> None:
    weights = [rate_weight_at(step, rate_every) for step in range(steps * rate_every)]
    assert sum(weights) == steps * rate_every
    assert sum(weight > 0 for weight in weights) == steps


@pytest.mark.slow
def test_flow_recovers_a_known_translation() -> None:
    """A 1-layer fit of a translated texture: the flow's dx tracks the true motion."""
    frames = 16
    shift = np.stack((np.linspace(-8, 8, frames), np.zeros(frames)), axis=-1)
    clip = pan_clip(48, 32, shift, seed=3)
    config = ModelConfig(num_layers=1, colour_width=48, colour_depth=2, xy_octaves=5, t_octaves=2)
    result = fit(clip, config, FitConfig(epochs=150, batch_size=2048, seed=0))
    times = result.model.frame_terms(torch.linspace(-1, 1 - 2 / frames, frames))[0]
    dx = times[0, :, 0, 2].detach().numpy()
    # Content moving right by u appears at x' = x - u in canonical space: dx tracks -u.
    assert np.corrcoef(dx, -shift[:, 0])[0, 1] > 0.95


def test_guard_treats_a_loss_jump_as_divergence() -> None:
    model = CoordFlow(SMALL)
    guard = DivergenceGuard(model, torch.optim.AdamW(model.parameters()))
    assert not guard.diverged(10.0)  # nothing healthy seen yet
    guard.checkpoint(0.1)
    assert not guard.diverged(0.25)
    assert guard.diverged(0.5)
    assert guard.diverged(float("nan"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    guard.recover()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert guard.lr_factor == 0.5


def test_default_lr_falls_with_width_past_the_xs_preset() -> None:
    assert default_lr(SMALL) == LR
    assert default_lr(ModelConfig(colour_width=144)) == LR
    assert default_lr(ModelConfig(colour_width=600)) == pytest.approx(LR * 144 / 600)
