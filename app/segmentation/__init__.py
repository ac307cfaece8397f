"""Dense prediction: a class for every pixel (FCN, U-Net), on scenes built from Fashion-MNIST and on photos."""
