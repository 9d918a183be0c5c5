"""The main window: layout and wiring, its actions and keys, model loading, clean quitting."""
