"""Carry masks through a stack (volume slices or video frames) with SAM 2's memory. Qt-free.

One :class:`Propagator` per open stack. The person prompts an object on a frame
(:meth:`Propagator.add_prompts`), then :meth:`Propagator.propagate` yields each following
(or preceding) frame's masks as soon as that frame is computed, so a caller can show it and
stop between frames (closing the iterator is enough). Clicks on any frame later correct it:
that frame becomes a conditioning frame (as Meta's video predictor with
``add_all_frames_to_correct_as_cond``), and propagating again from there carries the
correction on. Several objects are tracked independently, each with its own memory bank
(:mod:`samlabel.inference.propagation_bank`).

Results match Meta's ``SAM2VideoPredictor`` (``build_sam2_video_predictor`` defaults) as
it runs on a CPU: there its filling of small holes (up to 8 low-res pixels) needs a CUDA
extension and is skipped with a warning; we do not fill holes either.

Coordinates: points ``(x, y, label)`` and boxes ``(x0, y0, x1, y1)`` in frame pixels, label
1 include / 0 exclude; masks ``(H, W)`` bool. Low-res logits are ``(256, 256)`` over the
whole frame stretched to a square.

Not thread-safe: one worker thread owns a propagator.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from samlabel.inference.api import Box, Point
from samlabel.inference.propagation_bank import (
    FrameOutput,
    ObjectMemory,
    memory_frames,
    pointer_frames,
)
from samlabel.inference.propagation_frames import FrameFeatures, FrameFeatureSource
from samlabel.inference.propagation_record import FramePrompt, PropagationRecord
from samlabel.inference.sam2_transforms import sam2_prompt_arrays, upsample_stretched
from samlabel.sam.sam2_video import HeadOutput, Sam2VideoModel, upsample_1024

DIRECTIONS = ("forward", "backward", "both")


@dataclass(frozen=True)
class FrameMask:
    """One object's result on one frame.

    Attributes:
        low_res_logits: ``(256, 256)`` float32 logits of the stretched frame.
        object_score: > 0 when the model sees the object on this frame.
        frame_size: ``(H, W)``.
    """

    low_res_logits: np.ndarray
    object_score: float
    frame_size: tuple[int, int]

    @property
    def mask(self) -> np.ndarray:
        """``(H, W)`` bool: the logits bilinearly resized to the frame, above 0."""
        return upsample_stretched(self.low_res_logits, self.frame_size)[0] > 0

    @property
    def visible(self) -> bool:
        return self.object_score > 0


class Propagator:
    """SAM 2 propagation state for one stack (see the module docstring).

    Args:
        model: the video model, in eval mode.
        frames: the stack's per-frame features (computed lazily, a few kept).
        keep_memory_frames: None keeps every tracked frame's memory (as Meta's predictor:
            ~770 KiB per frame and object). A number keeps it only for that many frames
            behind the one being tracked (at least ``num_maskmem - 1``), which bounds memory
            on long stacks and leaves each pass's masks unchanged (see
            :meth:`~samlabel.inference.propagation_bank.ObjectMemory.compact`).
    """

    def __init__(
        self,
        model: Sam2VideoModel,
        frames: FrameFeatureSource,
        keep_memory_frames: int | None = None,
    ) -> None:
        self.model = model
        self.frames = frames
        self.objects: dict[int, ObjectMemory] = {}
        if keep_memory_frames is not None:
            keep_memory_frames = max(int(keep_memory_frames), model.video.num_maskmem - 1)
        self.keep_memory_frames = keep_memory_frames

    @property
    def num_frames(self) -> int:
        return self.frames.num_frames

    # -- prompts ---------------------------------------------------------------------------

    def add_prompts(
        self,
        frame: int,
        object_id: int,
        points: Sequence[Point] | None = None,
        box: Box | None = None,
        mask: np.ndarray | None = None,
    ) -> FrameMask:
        """Prompt ``object_id`` on ``frame``; returns the mask shown for it.

        ``points``/``box`` are all the prompts on that frame so far (they replace earlier
        ones; the previous mask on the frame is fed back, as Meta does). ``mask``: an
        ``(H, W)`` mask taken as the frame's answer instead (exclusive with points/box).
        A frame never tracked starts the object from scratch; on a tracked frame the
        prompts correct it using the memory. Either way it becomes a conditioning frame.

        Raises:
            ValueError: no prompt, both a mask and points, a frame outside the stack, bad
                point labels or coordinates.
        """
        if mask is not None and (points or box is not None):
            raise ValueError("give either a mask or points/box for a frame, not both.")
        if mask is None and not points and box is None:
            raise ValueError("add at least one point, a box or a mask.")
        features = self.frames(frame)
        bank = self.objects.setdefault(object_id, ObjectMemory())
        is_init = frame not in bank.tracked
        reverse = bank.tracked.get(frame, False)
        with torch.inference_mode():
            if mask is not None:
                heads = self._mask_heads(features, mask)
            else:
                coords, labels = sam2_prompt_arrays(points, box, self.frames.frame_size)
                coords, labels = coords[:, :-1], labels[:, :-1]  # the heads add the padding
                previous = bank.latest(frame)
                prev_logits = None
                if previous is not None and previous.pred_masks is not None:
                    prev_logits = previous.pred_masks.clamp(-32.0, 32.0)
                heads = self._run_frame(
                    bank, frame, features, is_init, reverse, coords, labels, prev_logits
                )
        bank.pending[frame] = FrameOutput(
            heads.low_res_masks, heads.obj_ptr, heads.object_score_logits
        )
        bank.prompts[frame] = FramePrompt(tuple(points or ()), box, mask_given=mask is not None)
        return self._result(heads.low_res_masks, heads.object_score_logits)

    def add_tracked_mask(
        self, frame: int, object_id: int, mask: np.ndarray, reverse: bool = False
    ) -> None:
        """Put an accepted mask in memory as an ordinary tracked frame (no prompt): used to
        resume after a crash (:func:`~samlabel.inference.propagation_record.restore`)."""
        features = self.frames(frame)
        bank = self.objects.setdefault(object_id, ObjectMemory())
        with torch.inference_mode():
            heads = self._mask_heads(features, mask)
            maskmem = self.model.encode_memory(
                features.feat, heads.high_res_masks(), heads.object_score_logits, binarize=False
            )[0]
        bank.non_cond[frame] = FrameOutput(
            heads.low_res_masks, heads.obj_ptr, heads.object_score_logits, maskmem
        )
        bank.tracked[frame] = reverse

    def record(self) -> PropagationRecord:
        """The small state needed to resume after a crash (see
        :mod:`samlabel.inference.propagation_record`)."""
        return PropagationRecord(
            {obj: dict(bank.prompts) for obj, bank in self.objects.items()},
            {obj: dict(bank.tracked) for obj, bank in self.objects.items()},
        )

    def clear_object(self, object_id: int) -> None:
        """Forget an object and its memory."""
        self.objects.pop(object_id, None)

    # -- propagation -----------------------------------------------------------------------

    def propagate(
        self,
        start_frame: int | None = None,
        direction: str = "forward",
        max_frames: int | None = None,
    ) -> Iterator[tuple[int, dict[int, FrameMask]]]:
        """Yield ``(frame, {object_id: FrameMask})`` frame by frame, from ``start_frame``
        (default: the first conditioning frame) for ``max_frames`` frames after it (default:
        to the end) in ``direction`` (``"both"``: forward, then backward from the start).

        Raises:
            ValueError: no object has a prompt yet, a bad direction or start frame.
        """
        if direction not in DIRECTIONS:
            raise ValueError(
                f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}."
            )
        self._consolidate()
        if start_frame is None:
            start_frame = min(t for bank in self.objects.values() for t in bank.cond)
        if not 0 <= start_frame < self.num_frames:
            raise ValueError(
                f"frame {start_frame} is outside the stack (0..{self.num_frames - 1})."
            )
        span = self.num_frames if max_frames is None else max(0, int(max_frames))
        passes = []
        if direction in ("forward", "both"):
            end = min(start_frame + span, self.num_frames - 1)
            passes.append((range(start_frame, end + 1), False))
        if direction in ("backward", "both"):
            end = max(start_frame - span, 0)
            order = range(start_frame, end - 1, -1) if start_frame > 0 else range(0)
            passes.append((order, True))
        for order, reverse in passes:
            for frame in order:
                yield frame, self._track_frame(frame, reverse)

    def _consolidate(self) -> None:
        """Encode the memories of prompted frames and make them conditioning frames."""
        if not self.objects:
            raise ValueError("prompt an object on a frame before propagating.")
        for object_id, bank in self.objects.items():
            for frame, out in bank.pending.items():
                features = self.frames(frame)
                with torch.inference_mode():
                    out.maskmem = self.model.encode_memory(
                        features.feat,
                        upsample_1024(out.pred_masks),
                        out.object_score_logits,
                        binarize=True,  # what the user saw on the frame, exactly
                    )[0]
                bank.cond[frame] = out
                bank.non_cond.pop(frame, None)
            bank.pending.clear()
            if not bank.cond:
                raise ValueError(f"object {object_id} has no prompt on any frame yet.")

    def _track_frame(self, frame: int, reverse: bool) -> dict[int, FrameMask]:
        results: dict[int, FrameMask] = {}
        for object_id, bank in self.objects.items():
            if frame in bank.cond:
                out = bank.cond[frame]
            else:
                features = self.frames(frame)
                with torch.inference_mode():
                    heads = self._run_frame(bank, frame, features, False, reverse, None, None, None)
                    maskmem = self.model.encode_memory(
                        features.feat,
                        heads.high_res_masks(),
                        heads.object_score_logits,
                        binarize=False,
                    )[0]
                out = FrameOutput(
                    heads.low_res_masks, heads.obj_ptr, heads.object_score_logits, maskmem
                )
                bank.non_cond[frame] = out
            bank.tracked[frame] = reverse
            results[object_id] = self._result(out.pred_masks, out.object_score_logits)
            if self.keep_memory_frames is not None:
                bank.compact(frame, reverse, self.keep_memory_frames)
        return results

    # -- one frame -------------------------------------------------------------------------

    def _run_frame(
        self,
        bank: ObjectMemory,
        frame: int,
        features: FrameFeatures,
        is_init: bool,
        reverse: bool,
        coords: np.ndarray | None,
        labels: np.ndarray | None,
        prev_logits: torch.Tensor | None,
    ) -> HeadOutput:
        """Meta's ``track_step`` without the memory encoder: condition, then the SAM heads."""
        model = self.model
        feat = features.feat
        if is_init:
            conditioned = feat + model.no_mem_embed.reshape(1, -1, 1, 1)
        else:
            memories = [
                (out.maskmem, self._maskmem_pos(), t_pos)
                for out, t_pos in memory_frames(bank, frame, reverse, model.video.num_maskmem)
            ]
            ptrs = pointer_frames(bank, frame, reverse, self.num_frames, model.video.max_obj_ptrs)
            distances = [d for d, _ in ptrs]
            pos = model.pointer_positions(distances, self.num_frames) if ptrs else None
            conditioned = model.condition(feat, memories, [o.obj_ptr for _, o in ptrs], pos)
        num_points = 0 if labels is None else labels.shape[1]
        # Meta: three candidates for a single click (or none, when tracking), else one.
        multimask = num_points <= 1
        device = feat.device
        return model.sam_heads(
            conditioned,
            features.s0,
            features.s1,
            None if coords is None else torch.from_numpy(coords).to(device),
            None if labels is None else torch.from_numpy(labels).to(device),
            prev_logits,
            multimask,
        )

    def _mask_heads(self, features: FrameFeatures, mask: np.ndarray) -> HeadOutput:
        """A given mask as the frame's output (Meta's ``add_new_mask``)."""
        mask = np.asarray(mask)
        if mask.shape != tuple(self.frames.frame_size):
            raise ValueError(f"the mask is {mask.shape[:2]}, the frames {self.frames.frame_size}.")
        tensor = torch.from_numpy(mask.astype(np.float32))[None, None].to(features.feat.device)
        if tensor.shape[-2:] != (1024, 1024):
            tensor = F.interpolate(
                tensor, (1024, 1024), mode="bilinear", align_corners=False, antialias=True
            )
            tensor = (tensor >= 0.5).float()
        return self.model.mask_as_output(features.feat, features.s0, features.s1, tensor)

    def _maskmem_pos(self) -> torch.Tensor:
        """The memories' positional encoding: one constant for every frame."""
        pos = getattr(self, "_pos_cache", None)
        if pos is None:
            pos = self.model.memory_encoder.position(64, 64).to(self.model.no_mem_embed)
            self._pos_cache = pos
        return pos

    def _result(self, low_res: torch.Tensor, score: torch.Tensor) -> FrameMask:
        return FrameMask(
            low_res[0, 0].float().cpu().numpy(), float(score.reshape(-1)[0]), self.frames.frame_size
        )

    # -- figures ---------------------------------------------------------------------------

    def memory_bytes(self) -> int:
        """Bytes held by every object's memory bank (features of frames excluded)."""
        return sum(bank.nbytes for bank in self.objects.values())
