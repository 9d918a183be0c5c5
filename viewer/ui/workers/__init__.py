"""Work off the GUI thread, and the check that widgets are touched only from it."""
