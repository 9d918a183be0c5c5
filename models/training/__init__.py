"""Training, Qt-free: the loop, the studio's runs, the digit CNN's recipe, pictures of filters."""
