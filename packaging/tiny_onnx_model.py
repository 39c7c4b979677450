"""Write a tiny random-weight SAM as an exported ONNX model folder, for testing a bundle.

Usage::

    python packaging/tiny_onnx_model.py OUT_FOLDER

A lite bundle cannot convert a checkpoint (it has no torch), so the build machine, which
has samlabel's development install, exports one here and hands the folder to
``samlabel --selftest --model OUT_FOLDER``. The weights are random: the model runs every
code path of a real one in a second, but its masks mean nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path


def write_tiny_onnx_model(out: Path, seed: int = 0) -> Path:
    """Build a small random SAM (ViT, 2 blocks of width 32), export it into ``out``."""
    import torch

    from samlabel.inference.onnx_export import ensure_onnx
    from samlabel.sam.build import SamConfig, build_sam
    from samlabel.sam.image_encoder import ViTConfig

    torch.manual_seed(seed)
    encoder = ViTConfig(embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,), window_size=8)
    model = build_sam(SamConfig(encoder=encoder))
    with tempfile.TemporaryDirectory(prefix="samlabel-tiny-") as temp:
        checkpoint = Path(temp) / "tiny_sam_random.pth"
        torch.save(model.state_dict(), checkpoint)
        exported = ensure_onnx(checkpoint, cache_root=Path(temp) / "onnx")
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(exported, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (replaced if it exists)")
    args = parser.parse_args(argv)
    print(write_tiny_onnx_model(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
