"""What a .cfv file describes: the CoordFlow network, its coordinate convention, size presets
and FLOP counts."""
