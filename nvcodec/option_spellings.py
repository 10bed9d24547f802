"""Option spellings that users bring from ffmpeg, x264 and x265, answered in cfv's terms.

An option cfv lacks but another tool has (`-ss`, `--crf`, ...) gets a usage error that says
what cfv does instead, where click alone would guess a similar name or, for `-ss`, read it as
`-s s`. An option that cfv renamed because its old name meant something else to those users
(`--preset`, `-q`) still works, with a one-line notice on stderr.
"""

from __future__ import annotations

import click
from click.core import ParameterSource

SELECT = "select frames with --frames A:B (frame numbers from 0)"
COUNT = "use --frames 0:N for the first N frames"
RATE = (
    "the rate follows the model size: --bpp X (bits per pixel), --params N or --model-size xs|s|m|l"
)
FOREIGN_OPTIONS = {
    "-ss": SELECT,
    "-sseof": SELECT,
    "-t": SELECT,
    "-to": SELECT,
    "--seek": SELECT,
    "-frames:v": COUNT,
    "-vframes": COUNT,
    "-crf": RATE,
    "--crf": RATE,
    "-qp": RATE,
    "--qp": RATE,
    "-q:v": RATE,
    "-qscale:v": RATE,
    "-b:v": RATE,
    "--bitrate": RATE,
    "-i": "give the input as the first argument, as in cfv encode INPUT OUTPUT.cfv",
}
"""Options of ffmpeg, x264 and x265 that cfv lacks, with what cfv offers instead."""
QUALITY_NUMBER_FLAGS = ("-q",)
"""Flags cfv has that other tools follow with a quality number (`-q 20`)."""


class RenamedOption(click.Option):
    """The old spelling of a renamed option: hidden from the help, still accepted with a notice.

    Its value goes to the option named `replaced_by` (a parameter name); `reason` says why the
    old name misled.
    """

    def __init__(self, *args, replaced_by: str, reason: str, **kwargs) -> None:
        super().__init__(*args, hidden=True, **kwargs)
        self.replaced_by = replaced_by
        self.reason = reason


class CfvCommand(click.Command):
    """A command that answers other tools' options and accepts renamed ones (see the module)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _refuse_foreign_options(ctx, args)
        rest = super().parse_args(ctx, args)
        for old in [p for p in self.params if isinstance(p, RenamedOption)]:
            value = ctx.params.pop(old.name)
            if ctx.get_parameter_source(old.name) is not ParameterSource.COMMANDLINE:
                continue
            new = next(p for p in self.params if p.name == old.replaced_by)
            old_flag, new_flag = old.opts[0], new.opts[-1]
            if ctx.get_parameter_source(new.name) is ParameterSource.COMMANDLINE:
                raise click.UsageError(f"give {new_flag} only ({old_flag} is its old name)", ctx)
            click.echo(f"cfv: notice: {old_flag} is now {new_flag} ({old.reason})", err=True)
            ctx.params[new.name] = value
        return rest


def _refuse_foreign_options(ctx: click.Context, args: list[str]) -> None:
    for position, arg in enumerate(args):
        if arg == "--":
            return
        flag = arg.partition("=")[0]
        if flag in FOREIGN_OPTIONS:
            raise click.UsageError(f"no option {flag}; {FOREIGN_OPTIONS[flag]}", ctx)
        following = args[position + 1] if position + 1 < len(args) else ""
        if flag in QUALITY_NUMBER_FLAGS and _is_number(following):
            raise click.UsageError(
                f"{flag} {following}: {flag} is --quiet in cfv, which has no quality knob; {RATE}",
                ctx,
            )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
