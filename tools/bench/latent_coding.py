"""What context coding of the latents gains on its own: the RD bench's own grid files, their
latents recoded with one model per grid (as format 1.3 coded them, the LATS chunk) and by
context without the previous frame (as format 1.4 coded them), the fits and every other byte
the same.

    cfv bench ... --workdir out/rd_bunny_320x180_grid.work     # the RD bench, keeping its files
    python -m tools.bench.latent_coding out/rd_bunny_320x180_grid.work

Writes tools/results/latent_coding_bunny_320x180.json (schema nvcodec-latent-coding/1): per
point the file's bytes and its latents' bytes each way, and the BD-rate against the bench's
x265 medium of the curve as coded and as formats 1.3 and 1.4 would have coded it.
"""

from __future__ import annotations

from pathlib import Path

import click

from nvcodec.bench.bd import bd
from nvcodec.bitstream.cfv import parse_cfv
from nvcodec.bitstream.context import decode_grids, encode_grids
from nvcodec.bitstream.entropy import encode_tensors
from tools.common import HELP_OPTIONS, load, save

SCHEMA = "nvcodec-latent-coding/2"
RESULT = "rd_bunny_320x180_grid"
ANCHOR = "x265 medium"


def latent_bytes(data: bytes) -> tuple[int, int, int]:
    """The bytes of a grid file's LATC payload, headers and coding bytes; of the same
    latents coded by context without the previous frame (format 1.4's LATC); and coded with
    one model per grid (a LATS chunk's payload and headers)."""
    latents = parse_cfv(data).latents
    codes = decode_grids(latents.models, latents.shapes, latents.payload)
    models, payload = encode_tensors(codes)
    one_model = len(payload) + sum(len(model.to_bytes()) for model in models)
    return (
        _latc_bytes(latents.models, latents.payload),
        _latc_bytes(*encode_grids(codes, previous_frame=False)),
        one_model,
    )


def _latc_bytes(models: list, payload: bytes) -> int:
    """A LATC chunk's bytes but the scales: coding bytes, model headers and payload."""
    by_grid = [m if isinstance(m, list) else [m] for m in models]
    return len(by_grid) + len(payload) + sum(len(m.to_bytes()) for ms in by_grid for m in ms)


@click.command(context_settings=HELP_OPTIONS)
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def main(workdir: Path) -> None:
    """Recode the grid files of an RD bench's WORKDIR and compare the codings."""
    result = load(RESULT)
    if result is None:
        raise click.ClickException(f"tools/results/{RESULT}.json is missing: run the RD bench")
    (width, height), (start, stop) = result["clip"]["size"], result["clip"]["frames"]
    pixels = width * height * (stop - start)
    curves = {c["codec"]: c for c in result["curves"] if c["source"] == "measured"}
    rows, as_coded, as_1_4, as_before = [], [], [], []
    for point in curves["nvcodec"]["points"]:
        files = sorted(workdir.glob(f"nvcodec_*_{_setting_name(point['setting'])}.cfv"))
        if len(files) != 1:
            raise click.ClickException(f"{workdir}: no single file for {point['setting']}")
        data = files[0].read_bytes()
        context, without_previous, one_model = latent_bytes(data)
        before = len(data) - context + one_model
        format_1_4 = len(data) - context + without_previous
        rows.append(
            {
                "setting": point["setting"],
                "file_bytes": len(data),
                "latent_bytes": context,
                "file_bytes_without_previous_frame": format_1_4,
                "latent_bytes_without_previous_frame": without_previous,
                "file_bytes_one_model": before,
                "latent_bytes_one_model": one_model,
                "psnr_rgb": point["psnr_rgb"],
            }
        )
        as_coded.append((8 * len(data) / pixels, point["psnr_rgb"]))
        as_1_4.append((8 * format_1_4 / pixels, point["psnr_rgb"]))
        as_before.append((8 * before / pixels, point["psnr_rgb"]))
        click.echo(
            f"{point['setting']}: latents {context:,} bytes, without the previous frame "
            f"{without_previous:,}, one model {one_model:,}"
        )
    anchor = [(p["bpp"], p["psnr_rgb"]) for p in curves[ANCHOR]["points"]]
    deltas = {
        "context": bd(anchor, as_coded).bd_rate_percent,
        "without_previous_frame": bd(anchor, as_1_4).bd_rate_percent,
        "one_model": bd(anchor, as_before).bd_rate_percent,
    }
    click.echo(f"BD-rate RGB against {ANCHOR}: {deltas}")
    settings = {"bench": f"tools/results/{RESULT}.json", "anchor": ANCHOR, "metric": "psnr_rgb"}
    save("latent_coding_bunny_320x180", SCHEMA, {"settings": settings, "rows": rows, **deltas})


def _setting_name(setting: dict) -> str:
    """How the bench names a point's file: `rate_lambda0.1` for {"rate_lambda": 0.1}."""
    return "".join(f"{key}{value:g}" for key, value in setting.items())


if __name__ == "__main__":
    main()
