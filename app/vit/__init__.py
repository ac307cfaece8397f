"""Vision Transformers: attention capture, rollout, masks and distances, and their figures."""
