"""The training studio in the window: the Train dock."""
