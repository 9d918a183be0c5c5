"""What users bring, Qt-free: checkpoints made elsewhere, their own model files and labels,
checks on the weights.
"""
