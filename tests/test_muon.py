import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.encoder.fit import DivergenceGuard, FitConfig, Optimisers, fit, make_optimiser
from nvcodec.encoder.latent_rate import LatentRate
from nvcodec.encoder.muon import (
    NEWTON_SCHULZ,
    NEWTON_SCHULZ_STEPS,
    StackedMuon,
    orthogonalised,
)
from nvcodec.errors import FitError
from nvcodec.model.coordflow import CoordFlow
from nvcodec.model.presets import config_for_preset, grid_model_config


@settings(max_examples=25, deadline=None)
@given(
    stack=st.integers(1, 3),
    rows=st.integers(2, 24),
    columns=st.integers(2, 24),
    seed=st.integers(0, 2**16),
)
def test_orthogonalised_matrices_have_singular_values_near_one(stack, rows, columns, seed) -> None:
    generator = torch.Generator().manual_seed(seed)
    update = torch.randn(stack, rows, columns, generator=generator, dtype=torch.float64)
    # The iteration applies one odd polynomial to every singular value of the update scaled by
    # its Frobenius norm: the same map, iterated on the values alone, must give the result's.
    values = torch.linalg.svdvals(update) / torch.linalg.matrix_norm(update)[..., None]
    a, b, c = NEWTON_SCHULZ
    expected = values
    for _ in range(NEWTON_SCHULZ_STEPS):
        expected = a * expected + b * expected**3 + c * expected**5
    singular = torch.linalg.svdvals(orthogonalised(update))
    in_order = expected.sort(-1, descending=True).values
    torch.testing.assert_close(singular, in_order, atol=1e-5, rtol=1e-4)
    # Values not vanishingly small land near 1 (the quintic trades exactness for speed).
    assert singular.max() < 1.25
    assert expected[values >= 0.01].min() > 0.5


def test_muon_steps_each_matrix_of_a_stack_downhill() -> None:
    torch.manual_seed(0)
    target = torch.randn(2, 6, 4)
    weight = torch.nn.Parameter(torch.zeros(2, 6, 4))
    optimiser = StackedMuon([weight], lr=0.1)
    losses = []
    for _ in range(60):
        optimiser.zero_grad()
        loss = ((weight - target) ** 2).sum()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert "momentum_buffer" in optimiser.state[weight]


def test_muon_refuses_vectors() -> None:
    with pytest.raises(ValueError, match="1-D"):
        StackedMuon([torch.nn.Parameter(torch.zeros(4))])


def test_muon_takes_the_weights_and_adamw_the_rest() -> None:
    model = CoordFlow(grid_model_config(32, 18, 4))
    rate = LatentRate(model.grids)
    optimiser = make_optimiser(model, rate, FitConfig(optimiser="muon"), 1e-3)
    assert isinstance(optimiser, Optimisers)
    adamw, muon = optimiser.optimisers
    in_muon = {id(p) for group in muon.param_groups for p in group["params"]}
    in_adamw = {id(p) for group in adamw.param_groups for p in group["params"]}
    assert in_muon == {id(p) for p in model.linear_weights()}
    assert not in_muon & in_adamw
    everything = {id(p) for p in [*model.parameters(), *rate.parameters()]}
    assert in_muon | in_adamw == everything
    adamw_only = make_optimiser(model, rate, FitConfig(optimiser="adamw"), 1e-3)
    assert isinstance(adamw_only, torch.optim.AdamW)


def test_the_default_optimiser_follows_the_representation() -> None:
    grid = CoordFlow(grid_model_config(32, 18, 4))
    assert isinstance(make_optimiser(grid, LatentRate(grid.grids), FitConfig(), 1e-3), Optimisers)
    mlp = CoordFlow(config_for_preset("xs", 32, 18, 4))
    assert isinstance(make_optimiser(mlp, None, FitConfig(), 1e-3), torch.optim.AdamW)


def test_batched_steps_equal_one_matrix_at_a_time() -> None:
    torch.manual_seed(3)
    shapes = [(2, 32, 8), (2, 32, 32), (2, 4, 32), (1, 5, 7)]
    batched = [torch.nn.Parameter(torch.randn(shape, dtype=torch.float64)) for shape in shapes]
    alone = [torch.nn.Parameter(p.detach().clone()) for p in batched]
    together = StackedMuon(batched, lr=0.01)
    one_each = [StackedMuon([p], lr=0.01) for p in alone]
    for _ in range(3):
        grads = [torch.randn(shape, dtype=torch.float64) for shape in shapes]
        for p, q, g in zip(batched, alone, grads, strict=True):
            p.grad, q.grad = g.clone(), g.clone()
        together.step()
        for optimiser in one_each:
            optimiser.step()
    for p, q in zip(batched, alone, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)


def test_a_guard_restores_both_optimisers() -> None:
    model = CoordFlow(grid_model_config(32, 18, 4))
    optimiser = make_optimiser(model, None, FitConfig(optimiser="muon"), 1e-2)
    guard = DivergenceGuard(model, optimiser)
    before = [p.detach().clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimiser.step()
    guard.recover()
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(not o.state for o in optimiser.optimisers)


def test_fit_with_muon_learns(tiny_clip) -> None:
    count, height, width = tiny_clip.shape[:3]
    config = grid_model_config(width, height, count)
    fit_config = FitConfig(epochs=20, batch_size=1024, optimiser="muon", report_every=0.0)
    result = fit(tiny_clip, config, fit_config)
    assert result.history[-1].psnr > result.history[0].psnr + 3.0


def test_an_unknown_optimiser_is_refused() -> None:
    with pytest.raises(FitError, match="optimiser"):
        FitConfig(optimiser="sgd")
