"""Pure Python + numpy model of the user's work: no Qt, no torch, no onnxruntime."""
