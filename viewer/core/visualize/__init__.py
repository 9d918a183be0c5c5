"""What a unit wants to see: feature visualisation, DeepDream, top images, embeddings,
invariance, and the data sets they scan.
"""
