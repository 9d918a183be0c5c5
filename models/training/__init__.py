"""Training, Qt-free: the one loop (studio), its runs from a folder, the digit CNN's
recipe, pictures of filters."""
