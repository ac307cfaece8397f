"""The drawing kit every topic shares: pictures as plotly images, colormaps, overlays of a map on
a picture, tiling, captioned grids, prediction bars."""
