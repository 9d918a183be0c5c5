"""Reading layer outputs with forward hooks: the activation recorder and one-pass taps."""
