"""The serving machinery: bounded caches, compute slots and fairness, run owners, model locks,
background jobs, the allocator, settings and devices. It imports no topic package."""
