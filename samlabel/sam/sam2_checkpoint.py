"""Load Meta's SAM 2 / SAM 2.1 checkpoints (``{"model": state_dict}``) for image prediction.

Same safety as SAM 1 (:mod:`samlabel.sam.checkpoint`): ``torch.load(weights_only=True)``,
strict names and shapes, one sentence naming the file for every bad file. The trunk's size
is read from the weights. Official files also hold the video modules (memory encoder and
attention, object pointers): those are recognised by name and set aside explicitly; every
other name must be exactly the image model's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from samlabel.core.errors import CheckpointError
from samlabel.sam.checkpoint import ModelInfo, check_state_dict, file_sha256, read_state_dict
from samlabel.sam.sam2_model import HIERA_CONFIGS, SIZE_NAMES, Sam2Config, Sam2Model, build_sam2

#: Prefixes of the video-only modules in official checkpoints (unused for image prompts).
VIDEO_PREFIXES = (
    "memory_attention.",
    "memory_encoder.",
    "obj_ptr_proj.",
    "obj_ptr_tpos_proj.",
    "mask_downsample.",
)
#: Video-only single tensors in official checkpoints.
VIDEO_TENSORS = ("maskmem_tpos_enc", "no_mem_pos_enc", "no_obj_ptr", "no_obj_embed_spatial")
#: Present only in SAM 2.1 files (2.1 added these video inputs): tells 2.1 from 2.0.
SAM21_MARKERS = ("no_obj_embed_spatial", "obj_ptr_tpos_proj.weight")

_TRUNK = "image_encoder.trunk."
_BLOCK = re.compile(re.escape(_TRUNK) + r"blocks\.(\d+)\.")
# Meta's SAM 2 transformer MLP is ``mlp.layers.{0,1}``; ours (shared with SAM 1) ``mlp.lin{1,2}``.
_MLP_RENAME = re.compile(r"^(sam_mask_decoder\.transformer\.layers\.\d+\.mlp\.)layers\.([01])\.")


def is_sam2_state(state: Mapping[str, object]) -> bool:
    """Whether the names look like a SAM 2 model (a Hiera trunk or a SAM 2 decoder)."""
    return any(k.startswith((_TRUNK, "sam_mask_decoder.", "sam_prompt_encoder.")) for k in state)


def image_part(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The image model's tensors in our names: video modules dropped, MLP keys renamed."""
    image: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith(VIDEO_PREFIXES) or key in VIDEO_TENSORS:
            continue
        renamed = _MLP_RENAME.sub(lambda m: f"{m.group(1)}lin{int(m.group(2)) + 1}.", key)
        image[renamed] = value
    return image


def infer_sam2_config(state: Mapping[str, torch.Tensor], path: str | Path = "") -> Sam2Config:
    """The published size whose trunk has these widths and stage depths.

    Raises:
        CheckpointError: the trunk is missing or matches no published SAM 2 size.
    """
    path = Path(path)
    try:
        embed_dim = int(state[_TRUNK + "patch_embed.proj.weight"].shape[0])
        depth = 1 + max(int(m.group(1)) for k in state if (m := _BLOCK.match(k)))
    except (KeyError, ValueError):
        raise CheckpointError(
            f"Model file {path} is not a SAM 2 checkpoint: it has no Hiera image encoder "
            f"({_TRUNK}patch_embed, {_TRUNK}blocks).",
            path,
        ) from None
    # A block that widens the channels (it has ``proj``) starts a new stage.
    starts = [i for i in range(depth) if f"{_TRUNK}blocks.{i}.proj.weight" in state]
    bounds = [0, *starts, depth]
    stages = tuple(b - a for a, b in itertools.pairwise(bounds))
    for size, cfg in HIERA_CONFIGS.items():
        if cfg.embed_dim == embed_dim and cfg.stages == stages:
            return Sam2Config(size=size, encoder=cfg)
    known = ", ".join(
        f"{SIZE_NAMES[s]} ({c.embed_dim}, {'-'.join(map(str, c.stages))})"
        for s, c in HIERA_CONFIGS.items()
    )
    raise CheckpointError(
        f"Model file {path} has a SAM 2 encoder of no published size (width {embed_dim}, "
        f"stages {'-'.join(map(str, stages))}; known: {known}).",
        path,
    )


def sam2_model_name(cfg: Sam2Config, state: Mapping[str, torch.Tensor]) -> str:
    """For example ``"SAM 2.1 Hiera-T"`` (``"SAM 2"`` when no 2.1-only weights are present)."""
    version = "2.1" if any(k in state for k in SAM21_MARKERS) else "2"
    return f"SAM {version} {SIZE_NAMES[cfg.size]}"


def load_sam2_model(
    path: str | Path, state: Mapping[str, torch.Tensor] | None = None
) -> tuple[Sam2Model, ModelInfo]:
    """Load a SAM 2 / 2.1 checkpoint into a :class:`Sam2Model` in eval mode on the CPU.

    Args:
        path: the checkpoint file.
        state: its tensors when already read (:func:`read_state_dict`), to avoid reading twice.

    Raises:
        CheckpointError: missing, truncated, unsafe or foreign files (SAM 1 weights among
            them), an unknown size, mismatched names or shapes.
    """
    path = Path(path)
    if state is None:
        state = read_state_dict(path)
    if not is_sam2_state(state):
        raise CheckpointError(
            f"Model file {path} is not a SAM 2 checkpoint (it has no sam_mask_decoder or Hiera "
            "weights; a SAM 1 file opens as SAM 1).",
            path,
        )
    cfg = infer_sam2_config(state, path)
    image = image_part(state)
    model = build_sam2(cfg, init_weights=False)
    check_state_dict(model.state_dict(), image, path)
    model.load_state_dict({k: v.float() for k, v in image.items()}, strict=True)
    model.eval()
    info = ModelInfo(sam2_model_name(cfg, state), "hiera", cfg, file_sha256(path), str(path))  # type: ignore[arg-type]
    return model, info


def checkpoint_family(path: str | Path) -> str:
    """``"sam2"`` when ``path`` holds SAM 2 weights, else ``"sam"`` (SAM 1, or unreadable).

    Reads only the names (memory-mapped, ``weights_only``); a file that cannot be read this
    way is left to the SAM 1 loader, which says what is wrong with it.
    """
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(Path(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # damaged, legacy or foreign: the full loader reports it
        return "sam"
    for _ in range(3):
        if isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping):
            obj = obj["model"]
        elif isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
            obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        return "sam"
    names = [str(k).removeprefix("module.") for k in obj]
    return "sam2" if is_sam2_state(dict.fromkeys(names)) else "sam"


def load_any_model(path: str | Path) -> tuple[torch.nn.Module, ModelInfo]:
    """A SAM 1 / MobileSAM or a SAM 2 checkpoint, whichever ``path`` holds (CheckpointError
    with one sentence otherwise)."""
    if checkpoint_family(path) == "sam2":
        return load_sam2_model(path)
    from samlabel.sam.checkpoint import load_sam_model

    return load_sam_model(path)
