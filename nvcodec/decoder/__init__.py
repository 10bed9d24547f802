"""A model to frames at any size and time: rendering, the layer views and stabilization."""
