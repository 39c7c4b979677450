"""Per-object memory bank of SAM 2 propagation, and which memories a frame attends to.

Mirrors the bookkeeping of Meta's ``SAM2VideoPredictor`` / ``SAM2Base`` for one object:
conditioning frames (frames the user prompted, their memories always attended), tracked
frames (the 6 nearest before the current frame in the tracking direction are attended),
object pointers (every past conditioning frame, plus up to 15 tracked frames before the
current one), frames prompted but not yet encoded into memory (encoded when propagation
starts, as Meta's ``propagate_in_video_preflight``).

Memory per frame and object: the memory features ``(1, 64, 64, 64)`` bfloat16 (512 KiB),
the low-res logits ``(1, 1, 256, 256)`` float32 (256 KiB), a pointer (1 KiB).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from samlabel.inference.propagation_record import FramePrompt


@dataclass
class FrameOutput:
    """What one frame leaves in an object's memory.

    Attributes:
        pred_masks: ``(1, 1, 256, 256)`` float32 low-res logits of the stretched frame (None
            once compacted: see :meth:`ObjectMemory.compact`).
        obj_ptr: ``(1, 256)`` object pointer.
        object_score_logits: ``(1, 1)``; > 0 means visible.
        maskmem: ``(1, 64, 64, 64)`` bfloat16 memory, None until encoded.
    """

    pred_masks: torch.Tensor | None
    obj_ptr: torch.Tensor
    object_score_logits: torch.Tensor
    maskmem: torch.Tensor | None = None

    @property
    def nbytes(self) -> int:
        tensors = [self.pred_masks, self.obj_ptr, self.object_score_logits, self.maskmem]
        return sum(t.numel() * t.element_size() for t in tensors if t is not None)


@dataclass
class ObjectMemory:
    """One object's bank: conditioning and tracked outputs by frame, pending prompt outputs,
    the direction each frame was tracked in (``True`` = backward), and the prompts given."""

    cond: dict[int, FrameOutput] = field(default_factory=dict)
    non_cond: dict[int, FrameOutput] = field(default_factory=dict)
    pending: dict[int, FrameOutput] = field(default_factory=dict)
    tracked: dict[int, bool] = field(default_factory=dict)
    prompts: dict[int, FramePrompt] = field(default_factory=dict)

    def latest(self, frame: int) -> FrameOutput | None:
        """The most recent output on ``frame`` (pending first), or None."""
        for bank in (self.pending, self.cond, self.non_cond):
            if frame in bank:
                return bank[frame]
        return None

    def compact(self, frame: int, reverse: bool, keep: int) -> None:
        """Drop the memory features and logits of tracked frames more than ``keep`` frames
        behind ``frame`` (in the tracking direction); their pointers (1 KiB) stay. Tracking
        on only ever reads the ``num_maskmem - 1`` frames behind, so with ``keep`` at least
        that, the masks of this pass are unchanged; a later pass over compacted frames (or
        a correction on one) sees less memory than Meta's predictor would."""
        for t, out in self.non_cond.items():
            behind = t - frame if reverse else frame - t
            if behind > keep and out.maskmem is not None:
                out.maskmem = None
                out.pred_masks = None

    @property
    def nbytes(self) -> int:
        banks = (self.cond, self.non_cond, self.pending)
        return sum(out.nbytes for bank in banks for out in bank.values())


def memory_frames(
    bank: ObjectMemory, frame: int, reverse: bool, num_maskmem: int
) -> list[tuple[FrameOutput, int]]:
    """``(output, t_pos)`` for the spatial memories ``frame`` attends to: every conditioning
    frame (``t_pos`` 0), then the ``num_maskmem - 1`` frames before it in the tracking
    direction that have a tracked memory (``t_pos`` 1 the farthest)."""
    chosen = [(out, 0) for out in bank.cond.values()]
    for t_pos in range(1, num_maskmem):
        t_rel = num_maskmem - t_pos
        previous = frame + t_rel if reverse else frame - t_rel
        out = bank.non_cond.get(previous)
        if out is not None and out.maskmem is not None:
            chosen.append((out, t_pos))
    return chosen


def pointer_frames(
    bank: ObjectMemory, frame: int, reverse: bool, num_frames: int, max_ptrs: int
) -> list[tuple[int, FrameOutput]]:
    """``(signed distance, output)`` of the object pointers ``frame`` attends to: the
    conditioning frames not after it in the tracking direction, then up to
    ``min(num_frames, max_ptrs) - 1`` tracked frames before it."""
    sign = -1 if reverse else 1
    limit = min(num_frames, max_ptrs)
    chosen = [
        ((frame - t) * sign, out)
        for t, out in bank.cond.items()
        if (t >= frame if reverse else t <= frame)
    ]
    for t_diff in range(1, limit):
        t = frame + t_diff if reverse else frame - t_diff
        if t < 0 or t >= num_frames:
            break
        out = bank.non_cond.get(t)
        if out is not None:
            chosen.append((t_diff, out))
    return chosen
