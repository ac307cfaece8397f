"""Convolutional networks: feature capture, receptive fields, layer statistics and their figures."""
