"""A file's models over the clip's time line: the segment that holds each source time, decoded
when a frame first needs it, and frames rendered across segment boundaries.

A time between a segment's last frame and the next segment's first is rendered by both models
(each continuing its own motion) and blended by its distance from either frame, so playback
through a boundary has no jump; every whole frame comes from its own segment alone.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from nvcodec.bitstream.cfv import ParsedCfv, parse_cfv
from nvcodec.bitstream.codec import DecodedCfv, decode_parsed
from nvcodec.bitstream.segments import SegmentedSource, parse_segmented
from nvcodec.decoder.views import View
from nvcodec.model.canvas import Canvas

HELD_MODELS = 2
"""Decoded segments kept at once: the one playing and the next, for blends at its end."""


@dataclass
class ClipModels:
    """The models of a .cfv file, one per segment (a one-model file is one segment)."""

    canvas: Canvas
    colour: dict[str, int]
    spans: list[tuple[int, int]]
    """Each segment's first frame and frame count, in frame order."""
    source: SegmentedSource | ParsedCfv
    device: torch.device
    decoded: list[int] = field(default_factory=list)
    """The segments decoded so far, in the order they were."""
    _held: dict[int, DecodedCfv] = field(default_factory=dict)

    @classmethod
    def open(cls, source: SegmentedSource | bytes, device: torch.device) -> ClipModels:
        """The models of a file given as its segment index, or as its bytes (checked whole)."""
        if not isinstance(source, SegmentedSource):
            source = parse_segmented(source)[1] or source
        if isinstance(source, SegmentedSource):
            spans = [(entry.first, entry.frames) for entry in source.entries]
            return cls(source.canvas, source.colour, spans, source, device)
        parsed = parse_cfv(source)
        canvas = parsed.info.canvas
        return cls(canvas, parsed.info.colour, [(0, canvas.num_frames)], parsed, device)

    def segment(self, number: int) -> DecodedCfv:
        """Segment `number`'s model, decoded on first use."""
        if number not in self._held:
            source = self.source
            parsed = source.segment(number) if isinstance(source, SegmentedSource) else source
            while len(self._held) >= HELD_MODELS:
                del self._held[next(iter(self._held))]
            self._held[number] = decode_parsed(parsed, self.device)
            self.decoded.append(number)
        return self._held[number]

    def locate(self, time: float) -> int:
        """The segment whose frames a source time falls among (or just after)."""
        firsts = [first for first, _ in self.spans]
        return max(0, bisect.bisect_right(firsts, time) - 1)

    def render(
        self, view: View, width: int, height: int, source_frames: torch.Tensor
    ) -> Iterator[np.ndarray]:
        """Frames at these source times as `view` shows them, segment by segment."""
        times = source_frames.tolist()
        start = 0
        while start < len(times):
            number = self.locate(times[start])
            first, count = self.spans[number]
            stop = start
            while stop < len(times) and first <= times[stop] <= first + count - 1:
                stop += 1
            if stop > start:
                yield from self._render_in(number, view, width, height, times[start:stop])
                start = stop
                continue
            yield self._blend(number, view, width, height, times[start])
            start += 1

    def _render_in(
        self, number: int, view: View, width: int, height: int, times: list[float]
    ) -> Iterator[np.ndarray]:
        decoded = self.segment(number)
        first, count = self.spans[number]
        canvas = replace(self.canvas, num_frames=count)
        local = torch.tensor(times, dtype=torch.float64) - first
        yield from view.render(decoded.model, canvas, width, height, local)

    def _blend(self, number: int, view: View, width: int, height: int, time: float) -> np.ndarray:
        """A time after segment `number`'s last frame: its render, blended towards the next
        segment's (or alone at the clip's end)."""
        (before,) = self._render_in(number, view, width, height, [time])
        if number + 1 == len(self.spans):
            return before
        (after,) = self._render_in(number + 1, view, width, height, [time])
        first, count = self.spans[number]
        weight = time - (first + count - 1)
        mixed = (1.0 - weight) * before.astype(np.float32) + weight * after.astype(np.float32)
        return np.rint(mixed).astype(np.uint8)
