"""Loss landscapes: directions and grids, the subject (network and data), lines, timing,
sharpness and figures."""
