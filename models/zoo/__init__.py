"""The networks we know how to build, Qt-free: the model behind every loaded network
(LoadedModel), the small CNN and the shipped digit CNN, torchvision classifiers and their
pretrained weights, the studio's architectures, which layers to show.
"""
