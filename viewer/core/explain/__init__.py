"""Why the network answers as it does: Grad-CAM and the saliency suite, the unit inspector's
numbers, what feeds what, the softmax story.
"""
