"""The window driven for measurements: `bench --render` and the soak."""
