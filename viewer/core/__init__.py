"""The engine, Qt-free: frames, slots, activation recording, saliency, mosaics, pipeline."""
