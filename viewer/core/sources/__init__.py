"""Frame sources: cameras, video files, images and folders, the synthetic benchmark source,
example digits.
"""
