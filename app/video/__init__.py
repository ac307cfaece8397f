"""Video: clips decoded safely, motion made from Fashion-MNIST, and the course's video models."""
