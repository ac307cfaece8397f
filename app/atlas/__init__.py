"""The lineage of the course's CNNs: what each architecture costs (parameters, multiply-adds
counted without running it, latency measured on this machine) and the arithmetic behind the
steps from one to the next (ResNeXt's paths, depthwise separable convolutions)."""
