"""Files in and out: images of every format, COCO annotations (atomic writes). No Qt, no torch."""
