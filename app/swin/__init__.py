"""Swin Transformers: window geometry, window-attention capture and their figures."""
