"""The bounds of spec/cfv.md section 8: what a .cfv file may hold, checked by the reader before
anything is allocated and by the command line before any work."""

MAX_SIDE = 16384
MAX_FRAMES = 2**20
MAX_PARAMS = 2**25
"""Caps a hostile architecture chunk at 128 MiB of float32 weights."""
MAX_LAYERS = 8
MAX_WIDTH = 4096
MAX_DEPTH = 16
MAX_OCTAVES = 16
