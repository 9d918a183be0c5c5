"""What travels along the data path (Frame, Result) and the latest-item slots between the
threads.
"""
