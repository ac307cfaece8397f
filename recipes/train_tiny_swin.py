"""Trains the tiny Swin on Fashion-MNIST and writes its checkpoint and card.

    python -m recipes.train_tiny_swin     # about 9 minutes on 2 CPU cores

Same recipe as the tiny ViT (recipes/tiny_training.py); the registry entry
`tiny_swin_fmnist` loads the result from pretrained/checkpoints/.
"""

from recipes.train_tiny_vit import main

DESCRIPTION = ("A small Swin Transformer trained by this project, so the Swin page has a really trained model "
               "offline: 28×28 grey images in 2×2 patches (a 14×14 grid), 7×7 windows, a regular and a shifted "
               "block in stage 1, one 7×7 window in stage 2.")

if __name__ == "__main__":
    main("tiny_swin_fmnist", DESCRIPTION)
