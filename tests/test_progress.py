"""What an encode says about its cost and progress: the estimate, the job line, the phases, and
plain lines where stderr is not a terminal."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from nvcodec.encoder.compensate import SHARE_OF_FIT
from nvcodec.encoder.estimate import EncodeEstimate
from nvcodec.encoder.fit import FitConfig, FitProgress
from nvcodec.encoder.pipeline import PHASES, EncodeJob, encode_clip
from nvcodec.model.config import ModelConfig
from nvcodec.progress import ProgressReport, describe_job, duration

ESTIMATE = EncodeEstimate(
    seconds_per_epoch=2.0, render_seconds_per_frame=0.5, rate_control_seconds=10.0, frames=20
)


def test_the_estimate_adds_up_its_phases() -> None:
    assert ESTIMATE.measure_seconds == 20.0 and ESTIMATE.overhead_seconds == 30.0
    assert ESTIMATE.total_seconds(100.0) == pytest.approx(100.0 * (1 + SHARE_OF_FIT) + 30.0)
    # A budget leaves the overhead out of the fit, so the whole encode fits in it...
    assert ESTIMATE.total_seconds(ESTIMATE.fit_seconds_within(300.0)) == pytest.approx(300.0)
    # ...but never fits for less than a tenth of it.
    assert ESTIMATE.fit_seconds_within(20.0) == pytest.approx(2.0)


def test_cheaper_compensation_steps_leave_more_of_a_budget_to_the_fit() -> None:
    cheaper = dataclasses.replace(ESTIMATE, compensation_cost=0.5)
    assert cheaper.total_seconds(100.0) == pytest.approx(100.0 * (1 + SHARE_OF_FIT / 2) + 30.0)
    assert cheaper.total_seconds(cheaper.fit_seconds_within(300.0)) == pytest.approx(300.0)
    assert cheaper.fit_seconds_within(300.0) > ESTIMATE.fit_seconds_within(300.0)


def test_a_time_budget_covers_rate_control_and_measurement(tiny_clip) -> None:
    seen: list[tuple[str, EncodeJob]] = []
    config = FitConfig(epochs=None, seconds=3.0, batch_size=256, device="cpu")
    encode_clip(
        tiny_clip,
        Fraction(24),
        config,
        params=8000,
        budget_seconds=3.0,
        on_phase=lambda name, job: seen.append((name, job)),
    )
    assert [name for name, _ in seen] == list(PHASES)
    job = seen[0][1]
    assert job.epochs is None and job.params <= 8000
    assert job.fit_seconds < 3.0 / (1 + SHARE_OF_FIT)
    assert job.total_seconds == pytest.approx(3.0) or job.fit_seconds == pytest.approx(0.3)


def job(total_fit_seconds: float) -> EncodeJob:
    return EncodeJob(ModelConfig(), 98_064, 20.0, total_fit_seconds, ESTIMATE, "cpu")


def test_a_log_gets_the_job_each_phase_and_lines_at_intervals() -> None:
    stream = io.StringIO()
    fit = FitProgress(10, 1.0, 5.0, 0.1, 30.0, 1e-3, 0.5, model=None)  # type: ignore[arg-type]
    with ProgressReport(enabled=True, stream=stream) as report:
        report.phase("fitting", job(60.0))
        report.fit(fit)  # within the interval of the job line: not logged
        report.phase("rate control", job(60.0))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("cfv: 98,064 parameters (2 layers of colour 3x96) on cpu, 20 epochs")
    assert "about 1 min 33 s in all, 1 min 00 s of it fitting" in lines[0]
    assert lines[1:] == ["rate control..."]
    assert "\r" not in stream.getvalue()


def test_a_long_encode_is_announced_and_a_quiet_one_says_nothing() -> None:
    stream = io.StringIO()
    ProgressReport(enabled=True, stream=stream).phase("fitting", job(7200.0))
    assert "cfv: warning: this encode takes about 2 h 06 min; --minutes bounds it" in (
        stream.getvalue()
    )
    quiet = io.StringIO()
    ProgressReport(enabled=False, stream=quiet).phase("fitting", job(7200.0))
    assert quiet.getvalue() == ""


def test_durations_read_as_people_write_them() -> None:
    assert [duration(s) for s in (0.4, 59, 245, 77_040)] == [
        "0 s",
        "59 s",
        "4 min 05 s",
        "21 h 24 min",
    ]
    assert describe_job(job(1.0)).endswith("(estimated from a short measurement)")


def test_a_real_encode_logs_its_phases(tiny_mp4: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nvcodec.cli", "encode", tiny_mp4, tmp_path / "a.cfv"]
        + ["--params", "8000", "--epochs", "2"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("cfv: ") and "parameters" in lines[0]
    assert lines[1:] == [f"{name}..." for name in PHASES[1:]]
