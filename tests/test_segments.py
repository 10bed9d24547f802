"""Segmented files (format 1.3): the index, random access, decoding across boundaries, and
encoding by segments in this process, in worker processes, on Ray, and resumed."""

from __future__ import annotations

import concurrent.futures as futures
import importlib.util
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import edit_lists, run
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec import api
from nvcodec.bitstream.cfv import ARCH, FLOQ, FLOW, HEAD, META, SIDX, VERSION
from nvcodec.bitstream.codec import decode_cfv, encode_cfv
from nvcodec.bitstream.container import read_container, write_container
from nvcodec.bitstream.fields import ByteWriter
from nvcodec.bitstream.segments import join_segments, open_segments, probe_cfv
from nvcodec.decoder.render import render
from nvcodec.decoder.segments import ClipModels
from nvcodec.decoder.views import View
from nvcodec.encoder import segments
from nvcodec.encoder.segments import cut, segment_frames_for
from nvcodec.errors import CfvError, FileError, SettingsError
from nvcodec.io.cfv_file import open_cfv
from nvcodec.metrics import psnr
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import ModelConfig
from nvcodec.model.coordflow import CoordFlow
from nvcodec.testing.fuzz import decode_outcome, mutate, mutate_chunk
from nvcodec.testing.synthetic import default_trajectory, pan_clip

CONFIG = ModelConfig(
    num_layers=2, colour_width=8, colour_depth=1, xy_octaves=2, t_octaves=1, flow_width=8,
    flow_depth=1, flow_octaves=1,
)  # fmt: skip
SPANS = (4, 3, 5)
FPS = Fraction(24)


def _part(frames: int, seed: int) -> bytes:
    torch.manual_seed(seed)
    return encode_cfv(CoordFlow(CONFIG), Canvas(12, 8, frames, FPS), {"part": seed})


PARTS = [_part(frames, seed) for seed, frames in enumerate(SPANS)]
SAMPLE = join_segments(PARTS, {"encoder": "test"})


def _frames(data: bytes, times: list[float], view: View | None = None) -> np.ndarray:
    clip = ClipModels.open(data, torch.device("cpu"))
    return np.stack(list(clip.render(view or View(), 12, 8, torch.tensor(times).double())))


def test_the_index_describes_each_segment() -> None:
    info = probe_cfv(SAMPLE)
    assert info.version == (1, 5) and info.canvas == Canvas(12, 8, sum(SPANS), FPS)
    assert [(s.first_frame, s.frames) for s in info.segments] == [(0, 4), (4, 3), (7, 5)]
    assert info.params == sum(s.params for s in info.segments)
    assert sum(s.bytes for s in info.segments) < info.bytes
    assert info.metadata == {"encoder": "test"}
    assert [s["frames"] for s in info.to_dict()["segments"]] == list(SPANS)
    critical = [t for t, _ in read_container(SAMPLE, {HEAD, SIDX, ARCH, FLOQ, b"COLR"}, 1)[1]]
    assert critical[:2] == [HEAD, SIDX] and critical.count(ARCH) == 3 and critical[-1] == META


def test_every_frame_is_its_own_segments_render() -> None:
    expected = []
    for part, frames in zip(PARTS, SPANS, strict=True):
        decoded = decode_cfv(part)
        times = torch.arange(frames, dtype=torch.float64)
        expected += list(render(decoded.model, decoded.canvas, 12, 8, times))
    assert np.array_equal(_frames(SAMPLE, list(range(sum(SPANS)))), np.stack(expected))


def test_a_time_between_segments_blends_both_models() -> None:
    first, second = decode_cfv(PARTS[0]), decode_cfv(PARTS[1])
    (before,) = render(first.model, first.canvas, 12, 8, torch.tensor([3.25]).double())
    (after,) = render(second.model, second.canvas, 12, 8, torch.tensor([-0.75]).double())
    expected = np.rint(0.75 * before.astype(np.float32) + 0.25 * after.astype(np.float32))
    assert np.array_equal(_frames(SAMPLE, [3.25])[0], expected.astype(np.uint8))


def test_overlapping_segments_cross_fade_through_the_overlap() -> None:
    parts = [_part(5, 7), _part(5, 8)]  # each owns 4 frames and sees one of the other's
    joined = join_segments(parts, margins=[(0, 1), (1, 0)])
    info = probe_cfv(joined)
    assert [(s.first_frame, s.frames) for s in info.segments] == [(0, 4), (4, 4)]
    first, second = (decode_cfv(part) for part in parts)
    for frame, weight in ((3, 1 / 3), (4, 2 / 3)):
        (before,) = render(first.model, first.canvas, 12, 8, torch.tensor([frame]).double())
        (after,) = render(second.model, second.canvas, 12, 8, torch.tensor([frame - 3.0]).double())
        mixed = (1 - weight) * before.astype(np.float32) + weight * after.astype(np.float32)
        assert np.array_equal(_frames(joined, [frame])[0], np.rint(mixed).astype(np.uint8))
    (alone,) = render(second.model, second.canvas, 12, 8, torch.tensor([2.0]).double())
    assert np.array_equal(_frames(joined, [5])[0], alone)
    with pytest.raises(ValueError, match="lead differs"):
        join_segments(parts, margins=[(0, 1), (0, 0)])


def test_a_one_part_join_is_a_one_model_file() -> None:
    joined = join_segments(PARTS[:1])
    assert SIDX not in dict(read_container(joined, {HEAD, ARCH, FLOQ, b"COLR"}, 1)[1])
    assert len(probe_cfv(joined).segments) == 1


def test_parts_of_different_sizes_are_refused() -> None:
    torch.manual_seed(0)
    other = encode_cfv(CoordFlow(CONFIG), Canvas(16, 8, 3, FPS))
    with pytest.raises(ValueError, match="one frame size"):
        join_segments([PARTS[0], other])


def test_random_access_reads_only_the_segments_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "clip.cfv"
    damaged = bytearray(SAMPLE)
    source = open_segments(lambda offset, size: SAMPLE[offset : offset + size], len(SAMPLE))
    last = source.entries[2]
    damaged[last.offset + last.length - 3] ^= 0xFF  # inside the last segment's last chunk
    path.write_bytes(bytes(damaged))
    summary = api.decode(path, frames=(4, 7))
    assert summary.segments_decoded == 1 and summary.frames == 3
    assert np.array_equal(summary.frames_u8, _frames(SAMPLE, [4, 5, 6]))
    with pytest.raises(CfvError, match="CRC"):
        api.decode(path, frames=(8, 9))
    with pytest.raises(CfvError, match="CRC"):
        api.probe(path)
    assert not isinstance(open_cfv(path), bytes)


def _with_index(entries: list[list[int]], count: int | None = None) -> bytes:
    w = ByteWriter()
    w.u32(len(entries) if count is None else count)
    for entry in entries:
        for value in entry[:4]:
            w.u32(value)
        w.u64(entry[4])
        w.u64(entry[5])
    _, chunks = read_container(SAMPLE, {HEAD, SIDX, ARCH, FLOQ, b"COLR"}, 1)
    return write_container(VERSION, [(t, w.getvalue() if t == SIDX else p) for t, p in chunks])


def _entries() -> list[list[int]]:
    source = open_segments(lambda offset, size: SAMPLE[offset : offset + size], len(SAMPLE))
    return [[e.first, e.frames, e.lead, e.tail, e.offset, e.length] for e in source.entries]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e[:1], "segment count 1"),
        (lambda e: [e[0], [e[1][0] + 1, *e[1][1:]], e[2]], "tile the clip"),
        (lambda e: [e[0], e[1], [e[2][0], e[2][1] - 1, *e[2][2:]]], "cover 11 frames"),
        (lambda e: [e[0], [*e[1][:4], e[1][4] + 1, e[1][5]], e[2]], "not where the index"),
        (lambda e: [e[0], e[1], [*e[2][:5], 2**40]], "not where the index"),
        (lambda e: [[*e[0][:2], 1, *e[0][3:]], e[1], e[2]], "first segment cannot"),
        (lambda e: [[*e[0][:3], 1, *e[0][4:]], e[1], e[2]], "lead differs"),
        (lambda e: [e[0], [*e[1][:2], 0, 3, *e[1][4:]], [*e[2][:2], 3, *e[2][3:]]], "none of"),
    ],
)
def test_an_index_that_does_not_match_the_file_is_refused(change, message: str) -> None:
    with pytest.raises(CfvError, match=message):
        probe_cfv(_with_index(change(_entries())))


def test_an_index_with_a_wrong_length_is_refused() -> None:
    with pytest.raises(CfvError, match="SIDX chunk holds"):
        probe_cfv(_with_index(_entries(), count=4))


def test_chunks_out_of_place_are_refused() -> None:
    _, chunks = read_container(SAMPLE, {HEAD, SIDX, ARCH, FLOQ, b"COLR"}, 1)
    between = [*chunks[:3], (b"zzzz", b"x"), *chunks[3:]]
    with pytest.raises(CfvError):
        probe_cfv(write_container(VERSION, between))
    legacy = [(FLOW if t == FLOQ else t, p) for t, p in chunks]
    with pytest.raises(CfvError):
        probe_cfv(write_container(VERSION, legacy))


@settings(max_examples=60)
@given(edit_lists(len(SAMPLE)))
def test_damaged_segmented_files_are_refused_cleanly(edits) -> None:
    assert decode_outcome(mutate(SAMPLE, edits)) in {"ok", "refused"}


@settings(max_examples=60)
@given(st.integers(0, 20), edit_lists(2000))
def test_damaged_chunks_of_segmented_files_are_refused_cleanly(chunk: int, edits) -> None:
    assert decode_outcome(mutate_chunk(SAMPLE, chunk, edits)) in {"ok", "refused"}


@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 3))
def test_cut_makes_whole_segments_and_a_remainder_of_at_least_half(
    total: int, length: int, overlap: int
) -> None:
    frames = (np.full((1, 1, 3), i, np.uint8) for i in range(total))
    windows = list(cut(frames, length, overlap))
    sizes = [w.frames for w in windows]
    assert sum(sizes) == total and windows[0].first == 0 and windows[0].lead == 0
    assert all(size == length for size in sizes[:-1]) and windows[-1].tail == 0
    if len(sizes) > 1:
        assert (length + 1) // 2 <= sizes[-1] < length + (length + 1) // 2
    for before, after in zip(windows[:-1], windows[1:], strict=True):
        assert after.first == before.first + before.frames and after.lead == before.tail
        assert before.tail <= overlap and before.lead + before.tail < before.frames
    for w in windows:  # each window holds exactly the frames its model sees, in order
        seen = np.arange(w.first - w.lead, w.first + w.frames + w.tail)
        assert np.array_equal(w.frames_u8[:, 0, 0, 0], seen % 256)


def test_short_clips_are_one_segment_by_default() -> None:
    assert segment_frames_for(480, Fraction(24), None) is None
    assert segment_frames_for(481, Fraction(24), None) == 96
    assert segment_frames_for(None, Fraction(25), None) is None  # stdin: read whole
    assert segment_frames_for(None, Fraction(25), 7) == 7
    assert segment_frames_for(10, Fraction(25), 3) == 3


def test_budgets_are_shared_by_frames() -> None:
    plan = segments.SegmentPlan(4, 10, 9000, None, 2, "mlp", api.FitConfig(), 60.0, jobs=2)
    window = segments.Window(4, 4, 1, 1, np.zeros((6, 8, 8, 3), np.uint8))
    task = plan.task(1, window, FPS)
    assert task.params == 3600 and task.budget_seconds == pytest.approx(48.0)
    unknown = segments.SegmentPlan(4, None, 9000, None, 2, "mlp", api.FitConfig(), None, 1)
    with pytest.raises(SettingsError, match="clip's length"):
        unknown.task(0, window, FPS)


ENCODE = {"fps": FPS, "model": "mlp", "params": 20000, "epochs": 2, "segment_frames": 3}


def test_encode_by_segments_and_decode(tiny_clip: np.ndarray, tmp_path: Path) -> None:
    out = tmp_path / "clip.cfv"
    summary = api.encode(tiny_clip, out, **ENCODE)
    info = api.probe(out)
    assert [(s.first_frame, s.frames) for s in info.segments] == [(0, 3), (3, 3), (6, 2)]
    assert info.metadata["settings"]["segment_frames"] == 3
    assert len(info.metadata["segments"]) == 3 and len(summary.psnr_per_frame) == 8
    decoded = api.decode(out)
    assert psnr(tiny_clip, decoded.frames_u8) == pytest.approx(summary.psnr, abs=1e-3)
    assert not (tmp_path / "clip.cfv.parts").exists()


def test_overlaps_are_fitted_and_measured_on_the_joined_file(tmp_path: Path) -> None:
    clip = pan_clip(32, 24, default_trajectory(18, 32, 24), seed=3)
    summary = api.encode(clip, **{**ENCODE, "segment_frames": 6}, overlap=1)
    info = api.probe(summary.data)
    assert [(s.first_frame, s.frames) for s in info.segments] == [(0, 6), (6, 6), (12, 6)]
    decoded = api.decode(summary.data).frames_u8
    measured = [psnr(a[None], b[None]) for a, b in zip(clip, decoded, strict=True)]
    assert summary.psnr_per_frame == pytest.approx(measured, abs=1e-3)
    assert summary.psnr == pytest.approx(psnr(clip, decoded), abs=1e-3)


class _LastFirst:
    """Runs every segment at once and finishes them last first, as workers may."""

    capacity = 8

    def __init__(self) -> None:
        self.pending: list[tuple[futures.Future, bytes]] = []

    def submit(self, task: segments.SegmentTask) -> futures.Future:
        future: futures.Future = futures.Future()
        self.pending.append((future, segments.encode_segment(task)))
        return future

    def finish_last(self) -> None:
        """Finish the last segment not yet finished."""
        future, data = next((f, d) for f, d in reversed(self.pending) if not f.done())
        future.set_result(data)

    def close(self, abort: bool) -> None:
        pass


def test_segments_finishing_out_of_order_are_measured_at_every_boundary(monkeypatch) -> None:
    clip = pan_clip(32, 24, default_trajectory(18, 32, 24), seed=3)
    runner = _LastFirst()
    monkeypatch.setattr(segments, "_runner", lambda plan, address: runner)
    real_wait = segments._wait_one

    def wait(running, finish) -> None:
        runner.finish_last()
        real_wait(running, finish)

    monkeypatch.setattr(segments, "_wait_one", wait)
    summary = api.encode(clip, **{**ENCODE, "segment_frames": 6}, overlap=1)
    decoded = api.decode(summary.data).frames_u8
    measured = [psnr(a[None], b[None]) for a, b in zip(clip, decoded, strict=True)]
    assert summary.psnr_per_frame == pytest.approx(measured, abs=1e-3)


def test_an_interrupted_encode_resumes(tiny_clip: np.ndarray, tmp_path: Path, monkeypatch):
    out = tmp_path / "clip.cfv"
    fitted: list[int] = []
    real = segments.encode_segment

    def interrupted(task):
        if task.number == 2:
            raise KeyboardInterrupt
        fitted.append(task.number)
        return real(task)

    monkeypatch.setattr(segments, "encode_segment", interrupted)
    with pytest.raises(KeyboardInterrupt):
        api.encode(tiny_clip, out, **ENCODE)
    assert not out.exists()
    assert sorted(p.name for p in (tmp_path / "clip.cfv.parts").iterdir()) == [
        "encode.json", "segment-00000.cfv", "segment-00001.cfv",
    ]  # fmt: skip
    with pytest.raises(FileError, match="--resume"):
        api.encode(tiny_clip, out, **ENCODE)
    with pytest.raises(SettingsError, match="other settings"):
        api.encode(tiny_clip, out, **{**ENCODE, "epochs": 3}, resume=True)
    monkeypatch.setattr(segments, "encode_segment", real)
    resumed: list[tuple[int, bool]] = []
    summary = api.encode(
        tiny_clip,
        out,
        **ENCODE,
        resume=True,
        on_segment=lambda n, f, c, d, r: resumed.append((n, r)),
    )
    assert fitted == [0, 1] and resumed == [(0, True), (1, True), (2, False)]
    assert len(summary.info.segments) == 3 and not (tmp_path / "clip.cfv.parts").exists()


def test_a_work_directory_of_the_users_is_never_touched(tiny_clip: np.ndarray, tmp_path: Path):
    mine = tmp_path / "clip.cfv.parts"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(FileError, match="not an encode's work directory"):
        api.encode(tiny_clip, tmp_path / "clip.cfv", **ENCODE, overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep"


@pytest.mark.slow
def test_jobs_fit_segments_in_worker_processes(tiny_clip: np.ndarray, tmp_path: Path) -> None:
    alone = api.encode(tiny_clip, **ENCODE)
    parallel = api.encode(tiny_clip, tmp_path / "clip.cfv", **ENCODE, jobs=2)
    assert [s.frames for s in parallel.info.segments] == [3, 3, 2]
    assert abs(parallel.psnr - alone.psnr) < 1.0  # the same fits, on one thread each
    assert api.decode(tmp_path / "clip.cfv").frames == 8


@pytest.mark.slow
def test_a_killed_encode_resumes_through_the_cli(tiny_mkv: str, tmp_path: Path) -> None:
    out = tmp_path / "clip.cfv"
    args = [sys.executable, "-m", "nvcodec", "encode", tiny_mkv, str(out), "--model", "mlp"]
    args += ["--params", "20000", "--epochs", "30", "--segment-frames", "2", "--jobs", "2"]
    process = subprocess.Popen(args, start_new_session=True, stderr=subprocess.DEVNULL)
    parts = tmp_path / "clip.cfv.parts"
    deadline = time.monotonic() + 300
    while not list(parts.glob("segment-*.cfv")) and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("the encode ended before it could be killed")
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    kept = len(list(parts.glob("segment-*.cfv")))
    assert not out.exists() and 1 <= kept < 4
    code, _, stderr = run("encode", tiny_mkv, str(out), *args[6:], "--resume")
    assert code == 0, stderr
    assert stderr.count("kept from the interrupted run") == kept
    assert stderr.count(", fitted") == 4 - kept
    assert [s.frames for s in api.probe(out).segments] == [2, 2, 2, 2]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs nvcodec[ray]")
def test_segments_as_ray_tasks(tiny_clip: np.ndarray, tmp_path: Path) -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = api.encode(tiny_clip, tmp_path / "clip.cfv", **ENCODE, ray="auto")
    finally:
        ray.shutdown()
    assert [s.frames for s in summary.info.segments] == [3, 3, 2]
    assert api.decode(tmp_path / "clip.cfv").frames == 8


def test_cli_encodes_segments_and_decodes_a_range(tiny_mkv: str, tmp_path: Path) -> None:
    out = tmp_path / "clip.cfv"
    code, _, stderr = run(
        "encode", tiny_mkv, str(out), "--model", "mlp", "--params", "20000", "--epochs", "2",
        "--segment-frames", "4",
    )  # fmt: skip
    assert code == 0, stderr
    assert "segment 1: frames 4:8" in stderr
    code, stdout, _ = run("info", str(out))
    assert "segments:  2 (" in stdout and "segment 1: frames 4:8" in stdout
    code, _, stderr = run("decode", str(out), "--frames", "5:7", str(tmp_path / "part.y4m"))
    assert code == 0, stderr
    code, _, stderr = run("encode", tiny_mkv, str(out), "-y", "--jobs", "0")
    assert code == 2 and "--jobs" in stderr
