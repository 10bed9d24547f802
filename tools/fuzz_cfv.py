"""A longer fuzz run of the .cfv reader than CI does: damaged copies of the golden vectors.

    python -m tools.fuzz_cfv --cases 20000 --seed 1

Half the cases damage raw bytes (which the CRCs should catch), half damage one chunk's payload
and fix its CRC (which the field checks must catch). Each case must decode cleanly, and then
render, or raise CfvError; anything else, or a case slower than --max-seconds, is reported with
the edits that reproduce it, and the exit status is 1.
"""

from __future__ import annotations

import random
import sys
import time
import traceback
from pathlib import Path

import click

from nvcodec.testing.fuzz import Edit, decode_outcome, mutate, mutate_chunk
from tools.common import HELP_OPTIONS

VECTORS_DIR = Path(__file__).resolve().parents[1] / "spec" / "vectors"


def random_edits(rng: random.Random, length: int) -> list[Edit]:
    return [
        (rng.randrange(4), rng.randrange(length + 1), rng.randrange(256))
        for _ in range(rng.randint(1, 4))
    ]


@click.command(context_settings=HELP_OPTIONS)
@click.option("--cases", default=5000, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--max-seconds", default=5.0, show_default=True, help="Most CPU time for a case.")
def main(cases: int, seed: int, max_seconds: float) -> None:
    """Fuzz the reader with damaged copies of spec/vectors/**/*.cfv (every format version)."""
    rng = random.Random(seed)
    files = {
        str(path.relative_to(VECTORS_DIR)): path.read_bytes()
        for path in sorted(VECTORS_DIR.glob("**/*.cfv"))
    }
    counts = {"ok": 0, "refused": 0}
    failures = 0
    slowest = 0.0
    for case in range(cases):
        name = rng.choice(sorted(files))
        edits = random_edits(rng, len(files[name]))
        if case % 2:
            chunk = rng.randrange(8)
            data = mutate_chunk(files[name], chunk, edits)
            how = f"mutate_chunk({name}, {chunk}, {edits})"
        else:
            data = mutate(files[name], edits)
            how = f"mutate({name}, {edits})"
        started = time.process_time()
        try:
            counts[decode_outcome(data)] += 1
        except Exception:
            failures += 1
            click.echo(f"FAIL {how}\n{traceback.format_exc()}", err=True)
        seconds = time.process_time() - started
        slowest = max(slowest, seconds)
        if seconds > max_seconds:
            failures += 1
            click.echo(f"SLOW {seconds:.1f} s: {how}", err=True)
    click.echo(
        f"{cases} cases: {counts['ok']} decoded, {counts['refused']} refused with CfvError, "
        f"{failures} failures; slowest {slowest:.3f} s"
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
