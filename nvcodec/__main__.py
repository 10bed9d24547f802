"""`python -m nvcodec` is the `cfv` command."""

from nvcodec.cli import main

main()
