"""Load a SAM / MobileSAM checkpoint, reading the architecture from the weights alone.

Files are read with ``torch.load(..., weights_only=True)`` (never full unpickling) or
``safetensors``. Every failure is a :class:`~samlabel.core.errors.CheckpointError` whose
message is one sentence naming the file.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from samlabel.core.errors import CheckpointError
from samlabel.sam.build import VIT_CONFIGS, DecoderConfig, SamConfig, build_sam
from samlabel.sam.image_encoder import ViTConfig
from samlabel.sam.sam_model import SamModel
from samlabel.sam.state_dict_checks import check_floating, check_tensor_values, unwrap_state_dict

log = logging.getLogger(__name__)

_MIN_TORCH = (2, 10)


def _version_tuple(version: str) -> tuple[int, int]:
    numbers = re.findall(r"\d+", version)[:2]
    return (int(numbers[0]), int(numbers[1])) if len(numbers) == 2 else (0, 0)


if _version_tuple(torch.__version__) < _MIN_TORCH:
    raise ImportError(
        f"samlabel needs torch >= {_MIN_TORCH[0]}.{_MIN_TORCH[1]} to load model files safely "
        f"(found {torch.__version__}): older releases have published bypasses of "
        "torch.load(weights_only=True). Please upgrade torch."
    )

_BLOCK_KEY = re.compile(r"image_encoder\.blocks\.(\d+)\.")


@dataclass(frozen=True)
class ModelInfo:
    """What was loaded.

    Attributes:
        name: e.g. ``"SAM ViT-B"``, ``"MobileSAM"``, ``"SAM ViT (custom: embed 96, depth 3)"``.
        encoder_kind: ``"vit"`` or ``"tiny_vit"``.
        config: the inferred :class:`~samlabel.sam.build.SamConfig`.
        sha256: hex digest of the file (a cache key for exported models).
        path: the file loaded.
        notices: one sentence per wrapper removed from the file (``{"state_dict": ...}``,
            ``module.`` / ``_orig_mod.`` / ``model.`` prefixes), to show the user.
    """

    name: str
    encoder_kind: str
    config: SamConfig
    sha256: str
    path: str = ""
    notices: tuple[str, ...] = ()


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _torch_load(path: Path) -> object:
    try:
        with warnings.catch_warnings():
            # e.g. "Detected pickle protocol 4": noise for the user, not a failure.
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" in str(err).lower():
            raise CheckpointError(
                f"Model file {path} is not a plain weights file: it contains code, and was "
                "refused for safety.",
                path,
            ) from None
        raise CheckpointError(
            f"Model file {path} is not a PyTorch weights file (or it is damaged).", path
        ) from None
    except (RuntimeError, EOFError) as err:
        if isinstance(err, EOFError) or "zip" in str(err).lower():
            raise CheckpointError(
                f"Model file {path} is truncated or damaged (an incomplete download?).", path
            ) from None
        text = str(err)
        if "archive" in text or "inline_container" in text:
            raise CheckpointError(
                f"Model file {path} is a zip archive but not a PyTorch weights file (or it is "
                "damaged).",
                path,
            ) from None
        detail = text.strip().splitlines()[0][:160] if text.strip() else type(err).__name__
        raise CheckpointError(f"Model file {path} could not be read ({detail}).", path) from None
    except Exception as err:  # torch raises many types for garbage; none must escape raw
        raise CheckpointError(
            f"Model file {path} is not a PyTorch weights file (or it is damaged): "
            f"{type(err).__name__}.",
            path,
        ) from None


def _safetensors_load(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"Model file {path} is not a readable safetensors file ({err}).", path
        ) from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.pth`` / ``.pt`` / ``.safetensors`` file, unwrapped and CPU-resident.

    What was unwrapped is logged; :func:`read_state_dict_with_notes` returns it too.
    """
    return read_state_dict_with_notes(path)[0]


def read_state_dict_with_notes(path: str | Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """``(state, notes)``: the file's checked tensors, and one sentence per wrapper removed.

    Raises:
        CheckpointError: missing, empty, unreadable or unsafe files; no tensors; tensors
            without data (``meta``) or with NaN / infinite values.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"Model file {path} does not exist.", path)
    if path.is_dir():
        raise CheckpointError(f"Model file {path} is a folder, not a weights file.", path)
    if path.stat().st_size == 0:
        raise CheckpointError(f"Model file {path} is empty (0 bytes).", path)
    raw = _safetensors_load(path) if path.suffix == ".safetensors" else _torch_load(path)
    state, notes = unwrap_state_dict(raw, path)
    check_tensor_values(state, path)
    for note in notes:
        log.info("%s", note)
    return state, notes


def _count_indexed(state: Mapping[str, torch.Tensor], prefix: str) -> int:
    """Number of ``prefix<i>.`` sub-modules (highest index + 1)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    indexes = [int(m.group(1)) for k in state if (m := pattern.match(k))]
    return max(indexes) + 1 if indexes else 0


def infer_vit_config(state: Mapping[str, torch.Tensor]) -> ViTConfig:
    """ViT encoder hyper-parameters from weight names and shapes (KeyError if absent).

    Heads come from the relative-position tables: ``rel_pos_h`` is ``(2 * size - 1,
    head_dim)`` with ``size`` the grid side (global blocks) or the window size.
    """
    p = "image_encoder."
    patch = state[p + "patch_embed.proj.weight"]  # (E, 3, patch, patch)
    embed, patch_size = int(patch.shape[0]), int(patch.shape[2])
    grid = int(state[p + "pos_embed"].shape[1])  # (1, grid, grid, E)
    depth = 1 + max(int(m.group(1)) for k in state if (m := _BLOCK_KEY.match(k)))
    head_dim = int(state[p + "blocks.0.attn.rel_pos_h"].shape[1])
    global_blocks: list[int] = []
    windows: set[int] = set()
    for i in range(depth):
        length = int(state[f"{p}blocks.{i}.attn.rel_pos_h"].shape[0])
        if length == 2 * grid - 1:
            global_blocks.append(i)
        else:
            windows.add((length + 1) // 2)
    if len(windows) > 1:
        raise ValueError(f"blocks use different window sizes {sorted(windows)}")
    mlp_hidden = int(state[p + "blocks.0.mlp.lin1.weight"].shape[0])
    return ViTConfig(
        embed_dim=embed,
        depth=depth,
        num_heads=embed // head_dim,
        global_attn_indexes=tuple(global_blocks),
        window_size=windows.pop() if windows else 14,
        mlp_ratio=mlp_hidden / embed,
        patch_size=patch_size,
        img_size=grid * patch_size,
        out_chans=int(state[p + "neck.0.weight"].shape[0]),
        qkv_bias=p + "blocks.0.attn.qkv.bias" in state,
    )


def infer_decoder_config(state: Mapping[str, torch.Tensor]) -> DecoderConfig:
    """Prompt encoder and mask decoder hyper-parameters (KeyError if absent)."""
    gauss = state["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"]  # (2, C/2)
    dim = int(gauss.shape[1]) * 2
    t = "mask_decoder.transformer."
    return DecoderConfig(
        prompt_embed_dim=dim,
        mask_in_chans=int(state["prompt_encoder.mask_downscaling.3.weight"].shape[0]),
        depth=_count_indexed(state, t + "layers."),
        mlp_dim=int(state[t + "layers.0.mlp.lin1.weight"].shape[0]),
        attention_downsample_rate=dim
        // int(state[t + "layers.0.cross_attn_token_to_image.q_proj.weight"].shape[0]),
        num_multimask_outputs=int(state["mask_decoder.mask_tokens.weight"].shape[0]) - 1,
        iou_head_depth=_count_indexed(state, "mask_decoder.iou_prediction_head.layers."),
        iou_head_hidden_dim=int(state["mask_decoder.iou_prediction_head.layers.0.weight"].shape[0]),
    )


def _is_tiny_vit(state: Mapping[str, torch.Tensor]) -> bool:
    return any(k.startswith("image_encoder.layers.") for k in state)


def _model_name(cfg: SamConfig) -> str:
    enc = cfg.encoder
    if isinstance(enc, ViTConfig):
        for name, known in VIT_CONFIGS.items():
            if known == enc:
                return name
        return f"SAM ViT (custom: embed {enc.embed_dim}, depth {enc.depth})"
    if tuple(enc.embed_dims) == (64, 128, 160, 320) and tuple(enc.depths) == (2, 2, 6, 2):
        return "MobileSAM"
    return f"SAM TinyViT (custom: embed {'/'.join(map(str, enc.embed_dims))})"


def _examples(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def _mismatch_message(path: Path, expected: Mapping[str, torch.Tensor], state: Mapping) -> str:
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    parts = []
    if missing:
        parts.append(f"{len(missing)} expected weights are missing ({_examples(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} are not SAM's ({_examples(unexpected)})")
    return f"Model file {path} is not a SAM checkpoint: " + " and ".join(parts) + "."


def _expected_tensors(cfg: SamConfig) -> dict[str, torch.Tensor]:
    """Names and shapes a model of ``cfg`` has (weights left uninitialised: cheap)."""
    return build_sam(cfg, init_weights=False).state_dict()


def infer_sam_config(state: Mapping[str, torch.Tensor], path: str | Path = "") -> SamConfig:
    """The architecture of a SAM state dict; CheckpointError if it is not one."""
    path = Path(path)
    tiny = _is_tiny_vit(state)
    failed = False
    try:
        if tiny:
            from samlabel.sam.tiny_vit import infer_tiny_vit_config

            encoder: object = infer_tiny_vit_config(state, prefix="image_encoder.")
        else:
            encoder = infer_vit_config(state)
    except (KeyError, ValueError, IndexError):
        encoder = _default_tiny_vit_config() if tiny else VIT_CONFIGS["SAM ViT-B"]
        failed = True
    try:
        decoder = infer_decoder_config(state)
    except (KeyError, ValueError, IndexError, ZeroDivisionError):
        decoder = DecoderConfig()
        failed = True
    cfg = SamConfig(encoder=encoder, decoder=decoder)
    if failed:
        # Compare against the closest known architecture, so the message lists what differs.
        raise CheckpointError(_mismatch_message(path, _expected_tensors(cfg), state), path)
    return cfg


def _default_tiny_vit_config() -> object:
    from samlabel.sam.tiny_vit import TinyViTConfig

    return TinyViTConfig()


def check_state_dict(
    expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], path: str | Path
) -> None:
    """CheckpointError unless ``state`` has exactly the names and shapes of ``expected``."""
    path = Path(path)
    if set(expected) != set(state):
        raise CheckpointError(_mismatch_message(path, expected, state), path)
    wrong = [
        f"{k} is {tuple(state[k].shape)} instead of {tuple(v.shape)}"
        for k, v in expected.items()
        if tuple(state[k].shape) != tuple(v.shape)
    ]
    if wrong:
        raise CheckpointError(
            f"Model file {path} has {len(wrong)} weights of the wrong shape "
            f"({'; '.join(wrong[:3])}{'; ...' if len(wrong) > 3 else ''}).",
            path,
        )


def load_sam_model(path: str | Path) -> tuple[SamModel, ModelInfo]:
    """Load a SAM / MobileSAM checkpoint into a :class:`SamModel` in eval mode on the CPU.

    Raises:
        CheckpointError: missing, empty, truncated, unsafe or foreign files, mismatched keys
            or shapes.
    """
    path = Path(path)
    state, notes = read_state_dict_with_notes(path)
    cfg = infer_sam_config(state, path)
    # Built on the CPU without random init (every weight is overwritten below; the strict
    # check guarantees it). Not on the meta device: its first use in a process costs seconds
    # of lazy imports inside torch.
    model = build_sam(cfg, init_weights=False)
    expected = model.state_dict()
    check_state_dict(expected, state, path)
    check_floating(expected, state, path)  # float16 / bfloat16 are fine: made float32 below
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    model.eval()
    kind = "vit" if isinstance(cfg.encoder, ViTConfig) else "tiny_vit"
    info = ModelInfo(_model_name(cfg), kind, cfg, file_sha256(path), str(path), tuple(notes))
    return model, info
