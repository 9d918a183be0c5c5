"""Models from other libraries and formats: timm by name, folders written by timm or
Hugging Face transformers, and ONNX files, each loaded as a torch module (so hooks,
Grad-CAM and the inspector work as for any model) with its own preprocessing and names."""
