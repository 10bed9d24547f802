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
MAX_GRID_SIDE = 3 * MAX_SIDE
"""A grid's finest level covers the frame and its margins: at most three times its side."""
MAX_GRID_LEVELS = 16
MAX_GRID_CHANNELS = 16
MAX_GRID_MARGIN_PERCENT = 100
MAX_SEGMENTS = 2**16
"""Segments of a segmented file (each holds at least one frame)."""
