"""The algo container and its strategies. Pure: no clock, no I/O, no unseeded randomness (see DESIGN.md)."""
