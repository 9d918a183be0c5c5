"""The Visualize dock: feature visualisation, DeepDream, top images, embedding, invariance."""
