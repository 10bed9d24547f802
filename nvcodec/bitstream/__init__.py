"""The .cfv format of spec/cfv.md: chunk payloads and their bounds (cfv), a model's tensors in
file order (tensors), int8 grids (quantize), range coding (entropy), the chunked container
(container) and its byte fields (fields)."""

from nvcodec.bitstream.cfv import (
    CfvInfo,
    DecodedCfv,
    decode_cfv,
    encode_cfv,
    probe_cfv,
    quantized_model,
)

__all__ = ["CfvInfo", "DecodedCfv", "decode_cfv", "encode_cfv", "probe_cfv", "quantized_model"]
