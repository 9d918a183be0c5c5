"""Data, Qt-free: any image to a network's input tensor, MNIST-style digit preparation, MNIST
IDX files, the studio's training sets.
"""
