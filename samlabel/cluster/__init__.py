"""Embeddings and proposals for a whole folder, on this machine or on a Ray cluster.

:mod:`samlabel.cluster.images` prepares an image exactly as the window does and names its
cache entry; it needs nothing beyond samlabel. The Ray pipeline (:mod:`samlabel.cluster.ray_embed`)
and the connection helper (:mod:`samlabel.cluster.ray_session`) import Ray, the optional extra
``samlabel[cluster]``, and are imported only when a command is given ``--ray``.
"""
