"""`python -m nvcodec.bench ...` is `cfv bench ...`."""

import sys

from nvcodec.cli import cli

cli(["bench", *sys.argv[1:]], prog_name="cfv")
