"""Measuring: the headless benchmark and the soak's memory sampling."""
