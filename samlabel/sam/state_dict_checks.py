"""Unwrapping and sanity checks of a loaded checkpoint's tensors, before any model is built.

Fine-tuning scripts save SAM's weights in a few common wrappers: a ``{"state_dict": ...}`` or
``{"model": ...}`` entry (Lightning, Meta's SAM 2 files, many training loops), and name
prefixes added by the wrapper module (``module.`` from DataParallel / DDP, ``_orig_mod.``
from ``torch.compile``, ``model.`` from a Lightning module holding the network as
``self.model``). :func:`unwrap_state_dict` removes them and says what it removed, so a
complete checkpoint is not refused as "N weights missing". When such a module holds other
parts beside the network (a loss with buffers), only the prefixed part is kept.

:func:`check_tensor_values` refuses tensors that cannot give a working model: tensors on
torch's ``meta`` device (shapes without data) and NaN or infinite values (every score would
be ``nan``). The architecture is never decided here: that is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from samlabel.core.errors import CheckpointError

#: Entries some training scripts save the weights under (searched in this order).
WRAPPER_KEYS = ("model", "state_dict", "model_state_dict", "module")
#: Name prefixes added by wrapper modules, removed when every weight name carries one.
WRAPPER_PREFIXES = ("module.", "_orig_mod.", "model.")
#: Where every SAM network's weight names start (SAM 1 and SAM 2 alike).
ENCODER_PREFIX = "image_encoder."
#: Constants the reference keeps as non-persistent buffers; some exports include them.
CONSTANT_KEYS = ("pixel_mean", "pixel_std")


def _examples(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


def _weights(count: int) -> str:
    return f"{count} weight" + ("" if count == 1 else "s")


def unwrap_state_dict(obj: object, path: Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The flat ``{name: tensor}`` state dict inside what ``torch.load`` returned.

    Args:
        obj: the loaded object (a state dict, or a dict wrapping one up to three levels deep).
        path: the file, for messages.

    Returns:
        ``(state, notes)``: ``state`` without wrapper entries, wrapper prefixes and SAM's
        pixel constants; ``notes`` one sentence per thing removed (empty for a plain file).

    Raises:
        CheckpointError: no tensors were found.
    """
    notes: list[str] = []
    entries: list[str] = []
    for _ in range(3):  # e.g. {"model": {"state_dict": {...}}}
        if not isinstance(obj, Mapping):
            break
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            break
        key = next((k for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if key is None:
            break
        entries.append(key)
        obj = obj[key]
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(f"Model file {path} holds no weights (no state dict found).", path)
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointError(f"Model file {path} holds no weights (no tensors found).", path)
    if entries and entries != ["model"]:  # {"model": ...} alone is SAM 2's official layout
        inside = " -> ".join(repr(k) for k in entries)
        notes.append(f"Model file {path.name}: the weights were read from its {inside} entry.")
    stripped: list[str] = []
    changed = True
    while changed:  # e.g. "model._orig_mod.image_encoder..." loses both prefixes
        changed = False
        for prefix in WRAPPER_PREFIXES:
            if all(k.startswith(prefix) and len(k) > len(prefix) for k in state):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                stripped.append(prefix)
                changed = True
    ignored: list[str] = []
    if not any(k.startswith(ENCODER_PREFIX) for k in state):
        # A training module holding the network beside other parts (a loss, an EMA copy):
        # keep the part whose names continue with the image encoder's.
        prefix = next(
            (p for p in WRAPPER_PREFIXES if any(k.startswith(p + ENCODER_PREFIX) for k in state)),
            None,
        )
        if prefix is not None:
            ignored = sorted(k for k in state if not k.startswith(prefix))
            state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            stripped.append(prefix)
    if stripped:
        notes.append(
            f"Model file {path.name}: removed the prefix "
            f"{' then '.join(repr(p) for p in stripped)} from every weight name "
            "(a wrapped or compiled model's checkpoint)."
        )
    if ignored:
        notes.append(
            f"Model file {path.name}: ignored {len(ignored)} entries outside the network "
            f"({_examples(ignored)})."
        )
    for key in CONSTANT_KEYS:
        state.pop(key, None)
    return state, notes


def _all_finite(tensor: torch.Tensor) -> bool:
    """Whether every value is finite; a float64 sum first (4-5x faster than ``isfinite``).

    A float64 sum of float32/16 values cannot overflow, so a finite sum proves them all
    finite (NaN and infinities propagate into it); only a non-finite sum is checked exactly.
    """
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return True
    if tensor.is_floating_point() and bool(torch.isfinite(tensor.sum(dtype=torch.float64))):
        return True
    return bool(torch.isfinite(tensor).all())


def check_tensor_values(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Refuse tensors without data (``meta`` device) and NaN or infinite values.

    Raises:
        CheckpointError: naming the file, how many tensors are affected and a few of them.
    """
    on_meta = sorted(k for k, v in state.items() if v.is_meta)
    if on_meta:
        raise CheckpointError(
            f"Model file {path} holds {len(on_meta)} tensors without data (on torch's 'meta' "
            f"device: {_examples(on_meta)}); it was saved from a model that was never loaded: "
            "save the real weights instead.",
            path,
        )
    not_finite = sorted(k for k, v in state.items() if not _all_finite(v))
    if not_finite:
        raise CheckpointError(
            f"Model file {path} has NaN or infinite values in {_weights(len(not_finite))} "
            f"({_examples(not_finite)}); it would give no usable masks (a diverged training "
            "run?): use an earlier checkpoint.",
            path,
        )


def check_floating(
    expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], path: Path
) -> None:
    """Refuse integer or boolean weights where the model has floating-point ones.

    ``expected`` is the built model's state dict (same names). float16 and bfloat16 weights
    are fine (converted to float32 on load); integer buffers such as BatchNorm's
    ``num_batches_tracked`` stay integers.
    """
    wrong = sorted(
        k
        for k, v in state.items()
        if not v.is_floating_point() and k in expected and expected[k].is_floating_point()
    )
    if wrong:
        dtypes = sorted({str(state[k].dtype).removeprefix("torch.") for k in wrong})
        raise CheckpointError(
            f"Model file {path} has {_weights(len(wrong))} of type {', '.join(dtypes)} "
            f"({_examples(wrong)}) where SAM has floating-point numbers (a quantised model?); "
            "use the original float checkpoint.",
            path,
        )
