"""Files: video reading and writing through PyAV, and outputs that appear only when complete."""
