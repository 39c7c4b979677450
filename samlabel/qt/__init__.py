"""The PySide6 user interface. The only package that imports Qt; talks to models only
through :mod:`samlabel.inference.api`."""
