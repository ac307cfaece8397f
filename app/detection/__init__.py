"""Detection with a transformer: DETR's boxes, its attention, the bipartite matching, and a small
DETR trained here on Fashion-MNIST scenes."""
