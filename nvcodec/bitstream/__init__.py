"""The .cfv format of spec/cfv.md: chunk payloads and their bounds (cfv), segmented files and
the reader of any file (segments), a model's tensors in file order (tensors), a fitted model to
bytes and back (codec), int8 grids (quantize), range coding (entropy), the chunked container
(container) and its byte fields (fields).

Probing a file needs no torch; the model-side names are imported from `codec` on first use.
"""

from __future__ import annotations

from typing import Any

from nvcodec.bitstream.cfv import CfvInfo
from nvcodec.bitstream.segments import probe_cfv

_FROM_CODEC = ("DecodedCfv", "decode_cfv", "encode_cfv", "quantized_model")

__all__ = ["CfvInfo", "probe_cfv", *_FROM_CODEC]


def __getattr__(name: str) -> Any:
    if name in _FROM_CODEC:
        from nvcodec.bitstream import codec

        return getattr(codec, name)
    raise AttributeError(f"module 'nvcodec.bitstream' has no attribute {name!r}")
