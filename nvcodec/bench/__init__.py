"""The rate-distortion benchmark behind `cfv bench`: nvcodec against classic codecs on one clip,
with exact colour, the metrics video-coding papers report and Bjøntegaard deltas."""
