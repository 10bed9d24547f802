"""A file's models over the clip's time line: the segment that holds each source time, decoded
when a frame first needs it, and frames rendered across segment boundaries.

Around a boundary both segments' models are fitted to the frames they overlap (the earlier
one's tail, the later one's lead); there, and at a time between the two segments' frames, a
frame is rendered by both and cross-faded by its position between the last frame the earlier
segment shows alone and the first the later one does (spec/cfv.md, section 7.2), so playback
runs through a boundary without a jump.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from nvcodec.bitstream.cfv import ParsedCfv, parse_cfv
from nvcodec.bitstream.codec import DecodedCfv, decode_parsed
from nvcodec.bitstream.segments import SegmentedSource, SegmentEntry, parse_segmented
from nvcodec.decoder.views import View
from nvcodec.model.canvas import Canvas

HELD_MODELS = 2
"""Decoded segments kept at once: the one playing and the next, for blends at its end."""


@dataclass
class ClipModels:
    """The models of a .cfv file, one per segment (a one-model file is one segment)."""

    canvas: Canvas
    colour: dict[str, int]
    spans: list[SegmentEntry]
    """Each segment's frames and overlaps, in frame order."""
    source: SegmentedSource | ParsedCfv
    device: torch.device
    precision: torch.dtype | None = None
    """The colour nets' products' dtype when rendering (`render_raw`'s)."""
    decoded: list[int] = field(default_factory=list)
    """The segments decoded so far, in the order they were."""
    _held: dict[int, DecodedCfv] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        source: SegmentedSource | bytes,
        device: torch.device,
        precision: torch.dtype | None = None,
    ) -> ClipModels:
        """The models of a file given as its segment index, or as its bytes (checked whole),
        to render on `device` in `precision`."""
        if not isinstance(source, SegmentedSource):
            source = parse_segmented(source)[1] or source
        if isinstance(source, SegmentedSource):
            return cls(source.canvas, source.colour, source.entries, source, device, precision)
        parsed = parse_cfv(source)
        canvas = parsed.info.canvas
        whole = SegmentEntry(0, canvas.num_frames, 0, 0, 0, len(source))
        return cls(canvas, parsed.info.colour, [whole], parsed, device, precision)

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
        """The segment that owns a source time (the last one beyond the clip's last frame)."""
        firsts = [span.first for span in self.spans]
        return max(0, bisect.bisect_right(firsts, time) - 1)

    def blend(self, time: float) -> tuple[int, float] | None:
        """(segment i, weight of segment i + 1) for a time in the cross-fade of the boundary
        after segment i, else None."""
        number = self.locate(time)
        for before in (number - 1, number):
            if 0 <= before < len(self.spans) - 1:
                span, after = self.spans[before], self.spans[before + 1]
                alone, joined = span.stop - after.lead - 1, span.stop + span.tail
                if alone < time < joined:
                    return before, (time - alone) / (joined - alone)
        return None

    def render(
        self, view: View, width: int, height: int, source_frames: torch.Tensor
    ) -> Iterator[np.ndarray]:
        """Frames at these source times as `view` shows them, segment by segment."""
        times = source_frames.tolist()
        start = 0
        while start < len(times):
            mixed = self.blend(times[start])
            if mixed is not None:
                yield self._cross_fade(*mixed, view, width, height, times[start])
                start += 1
                continue
            number = self.locate(times[start])
            stop = start + 1
            while stop < len(times) and self.blend(times[stop]) is None:
                if self.locate(times[stop]) != number:
                    break
                stop += 1
            yield from self._render_in(number, view, width, height, times[start:stop])
            start = stop

    def _render_in(
        self, number: int, view: View, width: int, height: int, times: list[float]
    ) -> Iterator[np.ndarray]:
        """Segment `number`'s frames at these source times of the clip."""
        decoded = self.segment(number)
        span = self.spans[number]
        canvas = replace(self.canvas, num_frames=span.model_frames)
        local = torch.tensor(times, dtype=torch.float64) - (span.first - span.lead)
        yield from view.render(decoded.model, canvas, width, height, local, self.precision)

    def _cross_fade(
        self, number: int, weight: float, view: View, width: int, height: int, time: float
    ) -> np.ndarray:
        (before,) = self._render_in(number, view, width, height, [time])
        (after,) = self._render_in(number + 1, view, width, height, [time])
        mixed = (1.0 - weight) * before.astype(np.float32) + weight * after.astype(np.float32)
        return np.rint(mixed).astype(np.uint8)
