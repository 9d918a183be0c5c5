"""What leaves the app: MP4 recordings and snapshot folders."""
