"""Icons and the stylesheet, read with importlib.resources."""
