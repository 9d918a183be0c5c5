"""What the window keeps: recordings, snapshots, drag and drop, recent files, remembered
settings.
"""
