"""Segmented .cfv files (version 1.3): a clip cut into consecutive time ranges, each stored as
its own model, with an index that lets a reader fetch one segment's chunks without reading the
others (spec/cfv.md, section 5.8).

A segment is written and read as a one-model file of its own, whose canvas is the segment's
frames with the frames it overlaps of its neighbours (its lead and tail, fitted so that the
decoder can cross-fade there), so the encoder's parts and the reader's segments go through the
same code as whole files.
Layout: ``HEAD`` (the whole clip), ``SIDX`` (the index), each segment's ``ARCH``, ``FLOQ``,
``COLR`` and (grid models) ``LATC`` or ``LATS`` in frame order with nothing between them, then
ancillary chunks such as ``meta``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from nvcodec.bitstream.bounds import MAX_FRAMES, MAX_SEGMENTS
from nvcodec.bitstream.cfv import (
    CRITICAL_TYPES,
    FLOW,
    HEAD,
    META,
    SIDX,
    VERSION,
    CfvInfo,
    ParsedCfv,
    head_payload,
    meta_payload,
    parse_cfv,
    payload_sizes,
    read_head,
    read_meta,
)
from nvcodec.bitstream.container import (
    CHUNK_OVERHEAD,
    HEADER_BYTES,
    check_known,
    is_critical,
    read_chunk,
    read_container,
    read_header,
    write_container,
)
from nvcodec.bitstream.fields import ByteReader, ByteWriter
from nvcodec.errors import CfvError
from nvcodec.model.canvas import Canvas

INDEX_ENTRY_BYTES = 32


@dataclass(frozen=True)
class SegmentEntry:
    """One segment in the index: it owns frames [first, first + frames) of the clip, its model
    also covers the `lead` frames before and the `tail` frames after them, and its chunks lie
    at `offset` from the start of the file, `length` bytes."""

    first: int
    frames: int
    lead: int
    tail: int
    offset: int
    length: int

    @property
    def stop(self) -> int:
        return self.first + self.frames

    @property
    def model_frames(self) -> int:
        return self.lead + self.frames + self.tail


# --- Writing. ---


def join_segments(
    parts: Sequence[bytes],
    metadata: dict | None = None,
    margins: Sequence[tuple[int, int]] | None = None,
) -> bytes:
    """One file from the one-model files of consecutive time ranges (in frame order), all of one
    size, frame rate and colour; `margins` gives each part's (lead, tail), the frames its model
    covers of the segments before and after (none by default). Each part's model chunks are
    kept byte for byte, and `metadata` becomes the file's `meta` chunk. A single part without
    margins is returned as a one-model file."""
    if not parts:
        raise ValueError("a file needs at least one segment")
    margins = list(margins or [(0, 0)] * len(parts))
    parsed = [_model_chunks(part) for part in parts]
    canvases = [canvas for canvas, _, _ in parsed]
    first = canvases[0]
    if any((c.width, c.height, c.fps) != (first.width, first.height, first.fps) for c in canvases):
        raise ValueError("segments must share one frame size and frame rate")
    if any(colour != parsed[0][1] for _, colour, _ in parsed):
        raise ValueError("segments must share one colour description")
    owned = [c.num_frames - lead - tail for c, (lead, tail) in zip(canvases, margins, strict=True)]
    total = sum(owned)
    if total > MAX_FRAMES or len(parts) > MAX_SEGMENTS:
        raise ValueError(f"at most {MAX_FRAMES} frames in at most {MAX_SEGMENTS} segments")
    canvas = replace(first, num_frames=total)
    meta = [] if metadata is None else [(META, meta_payload(metadata))]
    if len(parts) == 1 and margins == [(0, 0)]:
        return write_container(VERSION, [(HEAD, head_payload(canvas)), *parsed[0][2], *meta])
    index_bytes = 4 + INDEX_ENTRY_BYTES * len(parts)
    offset = HEADER_BYTES + 2 * CHUNK_OVERHEAD + len(head_payload(canvas)) + index_bytes
    entries, chunks, start = [], [], 0
    for (_, _, part_chunks), frames, (lead, tail) in zip(parsed, owned, margins, strict=True):
        length = sum(CHUNK_OVERHEAD + len(payload) for _, payload in part_chunks)
        entries.append(SegmentEntry(start, frames, lead, tail, offset, length))
        chunks.extend(part_chunks)
        start, offset = start + frames, offset + length
    try:
        check_margins(entries)
    except CfvError as exc:
        raise ValueError(str(exc)) from None
    index = [(SIDX, _index_payload(entries))]
    return write_container(VERSION, [(HEAD, head_payload(canvas)), *index, *chunks, *meta])


def _model_chunks(part: bytes) -> tuple[Canvas, dict[str, int], list[tuple[bytes, bytes]]]:
    """A one-model file's canvas, colour and critical chunks after HEAD."""
    parse_cfv(part)  # checks it whole
    _, chunks = read_container(part, set(CRITICAL_TYPES), VERSION.major)
    canvas, colour = read_head(chunks[0][1])
    return canvas, colour, [(t, p) for t, p in chunks[1:] if is_critical(t)]


def _index_payload(entries: Sequence[SegmentEntry]) -> bytes:
    w = ByteWriter()
    w.u32(len(entries))
    for entry in entries:
        w.u32(entry.first)
        w.u32(entry.frames)
        w.u32(entry.lead)
        w.u32(entry.tail)
        w.u64(entry.offset)
        w.u64(entry.length)
    return w.getvalue()


# --- Reading. ---


def read_index(
    payload: bytes, canvas: Canvas, index_end: int, file_bytes: int
) -> list[SegmentEntry]:
    """The entries of a SIDX chunk that ends at byte `index_end` of a file of `file_bytes`,
    checked: 2 to MAX_SEGMENTS segments tiling the clip's frames, their chunks contiguous from
    the end of the index and within the file."""
    r = ByteReader(payload)
    count = r.u32("segment count")
    if not 2 <= count <= MAX_SEGMENTS:
        raise CfvError(f"segment count {count} is outside 2..{MAX_SEGMENTS}")
    if r.remaining != INDEX_ENTRY_BYTES * count:
        raise CfvError(f"SIDX chunk holds {r.remaining} bytes for {count} segments")
    entries = []
    first, offset = 0, index_end
    for number in range(count):
        entry = SegmentEntry(
            r.u32("segment first frame"),
            r.u32("segment frame count"),
            r.u32("segment lead"),
            r.u32("segment tail"),
            r.u64("segment offset"),
            r.u64("segment length"),
        )
        if entry.first != first or entry.frames < 1:
            raise CfvError(
                f"segment {number} holds frames {entry.first}:{entry.stop}; "
                f"segments must tile the clip from frame {first}"
            )
        if entry.offset != offset or entry.offset + entry.length > file_bytes:
            raise CfvError(f"segment {number}'s chunks are not where the index puts them")
        entries.append(entry)
        first, offset = entry.stop, entry.offset + entry.length
    if first != canvas.num_frames:
        raise CfvError(f"segments cover {first} frames of the clip's {canvas.num_frames}")
    check_margins(entries)
    return entries


def check_margins(entries: Sequence[SegmentEntry]) -> None:
    """Refuse overlaps that reach past a neighbour or into the next boundary's cross-fade: the
    first segment has no lead and the last no tail, a segment's lead is the previous one's
    tail, and between two boundaries at least one frame belongs to its segment alone."""
    if entries[0].lead or entries[-1].tail:
        raise CfvError("the first segment cannot have a lead nor the last a tail")
    for number, (before, after) in enumerate(zip(entries[:-1], entries[1:], strict=True), 1):
        if after.lead != before.tail:
            raise CfvError(f"segment {number}'s lead differs from the previous segment's tail")
    for number, entry in enumerate(entries):
        if entry.lead + entry.tail >= entry.frames:
            raise CfvError(f"segment {number}'s overlaps leave none of its frames its own")


ReadAt = Callable[[int, int], bytes]
"""Reads `size` bytes at `offset` of a file (fewer at its end)."""


@dataclass(frozen=True)
class SegmentedSource:
    """A .cfv file read through `read_at`: its header, canvas and index, and each segment's
    model on request (reading and checking only that segment's chunks)."""

    read_at: ReadAt
    size: int
    canvas: Canvas
    colour: dict[str, int]
    entries: list[SegmentEntry]

    def segment(self, number: int) -> ParsedCfv:
        """Segment `number`'s model, as a file of its own."""
        entry = self.entries[number]
        chunks = _chunk_run(self.read_at(entry.offset, entry.length), f"segment {number}")
        canvas = replace(self.canvas, num_frames=entry.model_frames)
        return parse_cfv(write_container(VERSION, [(HEAD, head_payload(canvas)), *chunks]))


def open_segments(read_at: ReadAt, size: int) -> SegmentedSource | None:
    """The index of a segmented file, or None for a one-model file (read it whole)."""
    r = ByteReader(read_at(0, HEADER_BYTES))
    read_header(r, VERSION.major)
    head_type, head, position = _chunk_at(read_at, HEADER_BYTES, size)
    if head_type != HEAD:
        return None  # a malformed file: the whole-file reader says why
    canvas, colour = read_head(head)
    index_type, index, index_end = _chunk_at(read_at, position, size)
    if index_type != SIDX:
        return None
    entries = read_index(index, canvas, index_end, size)
    return SegmentedSource(read_at, size, canvas, colour, entries)


def _chunk_at(read_at: ReadAt, position: int, size: int) -> tuple[bytes, bytes, int]:
    """The chunk at `position` of a file of `size` bytes, and where the next one starts."""
    prefix = read_at(position, 8)
    length = ByteReader(prefix).u32("chunk length")
    if position + CHUNK_OVERHEAD + length > size:
        raise CfvError("truncated file: a chunk runs past its end")
    chunk_type, payload = read_chunk(ByteReader(read_at(position, CHUNK_OVERHEAD + length)))
    return chunk_type, payload, position + CHUNK_OVERHEAD + length


def _chunk_run(data: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """The critical chunks that exactly fill `data`."""
    r = ByteReader(data)
    chunks = []
    while r.remaining:
        chunk_type, payload = read_chunk(r)
        check_known(chunk_type, set(CRITICAL_TYPES))
        if not is_critical(chunk_type) or chunk_type in (HEAD, SIDX, FLOW):
            raise CfvError(f"{what} holds a {chunk_type.decode()} chunk")
        chunks.append((chunk_type, payload))
    return chunks


def probe_cfv(data: bytes) -> CfvInfo:
    """Check a whole file, segmented or not (CRCs, bounds, sizes, the index), and describe it,
    without range decoding."""
    return parse_segmented(data)[0]


def parse_segmented(data: bytes) -> tuple[CfvInfo, SegmentedSource | None]:
    """Check a whole file, segmented or not, and describe it; for a segmented file also its
    index, from which `SegmentedSource.segment` takes each model."""
    data = bytes(data)
    source = open_segments(lambda offset, size: data[offset : offset + size], len(data))
    if source is None:
        return parse_cfv(data).info, None
    version, chunks = read_container(data, set(CRITICAL_TYPES), VERSION.major)
    last = source.entries[-1]
    position = HEADER_BYTES
    for chunk_type, payload in chunks:
        position += CHUNK_OVERHEAD + len(payload)
        if is_critical(chunk_type) and position > last.offset + last.length:
            raise CfvError(f"a {chunk_type.decode()} chunk follows the last segment")
        if not is_critical(chunk_type) and position <= last.offset + last.length:
            raise CfvError("ancillary chunks must follow the last segment")
    segments = [source.segment(number).info for number in range(len(source.entries))]
    infos = tuple(
        replace(
            segment.segments[0],
            first_frame=entry.first,
            frames=entry.frames,
            lead=entry.lead,
            tail=entry.tail,
            bytes=entry.length,
        )
        for segment, entry in zip(segments, source.entries, strict=True)
    )
    chunk_bytes = payload_sizes(chunks)
    payloads = dict(chunks[::-1])
    info = CfvInfo(
        version=(version.major, version.minor),
        min_reader_major=version.min_reader_major,
        canvas=source.canvas,
        colour=source.colour,
        config=segments[0].config,
        params=sum(segment.params for segment in segments),
        bytes=len(data),
        chunk_bytes=chunk_bytes,
        metadata=read_meta(payloads.get(META)),
        segments=infos,
    )
    return info, source
