"""Vision Explorer's compute package: plain functions on arrays, tensors and
figures, usable from a notebook. Never imports streamlit."""
