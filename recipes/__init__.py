"""The scripts that trained the shipped checkpoints (`python -m recipes.train_tiny_vit`, …). They
import `app` and `pretrained`; nothing imports them."""
