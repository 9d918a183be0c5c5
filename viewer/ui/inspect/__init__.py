"""Inspect and explain in the window: the Inspector, Answer and Saliency tabs and their keys."""
