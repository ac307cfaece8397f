"""Live training: the loop, the small networks, datasets, augmentation, runs and their figures."""
