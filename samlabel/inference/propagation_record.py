"""What must survive a crash to resume propagation, as a small JSON-able value.

Persisted (:class:`PropagationRecord`, a few hundred bytes per prompted frame):

- per object and conditioning frame, the prompts as given (points, box, or "a mask was
  given": the mask itself is an accepted annotation, stored with the annotations);
- per object, which frames were tracked and in which direction.

Not persisted (recomputed on resume): frame features (from the frames, or the embedding
cache), memory features, object pointers and logits (hundreds of KiB per frame and object).

Resuming (:func:`restore`): each conditioning frame is restored from its *accepted mask*
when there is one (taken as the frame's answer, as a mask prompt: exactly what the person
saw), else by replaying its prompts in frame order; then the accepted masks of the frames
just before where propagation is to continue (the memory window in each direction) become
ordinary tracked memories. Propagating from there runs as before the crash, except that
those memories come from the accepted (thresholded) masks rather than from the logits, so
masks after a resume can differ slightly from an uninterrupted run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from samlabel.inference.api import Box, Point


@dataclass(frozen=True)
class FramePrompt:
    """The prompts last given for one object on one frame (frame pixels, label 1/0)."""

    points: tuple[Point, ...] = ()
    box: Box | None = None
    mask_given: bool = False


@dataclass
class PropagationRecord:
    """Prompts and tracking directions per object (see the module docstring)."""

    prompts: dict[int, dict[int, FramePrompt]] = field(default_factory=dict)
    tracked: dict[int, dict[int, bool]] = field(default_factory=dict)

    def to_json(self) -> str:
        """A JSON string (object and frame numbers become string keys)."""
        return json.dumps(
            {
                "version": 1,
                "prompts": {
                    str(obj): {
                        str(frame): {
                            "points": [list(p) for p in prompt.points],
                            "box": list(prompt.box) if prompt.box is not None else None,
                            "mask_given": prompt.mask_given,
                        }
                        for frame, prompt in frames.items()
                    }
                    for obj, frames in self.prompts.items()
                },
                "tracked": {
                    str(obj): {str(f): bool(r) for f, r in frames.items()}
                    for obj, frames in self.tracked.items()
                },
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PropagationRecord:
        """Read :meth:`to_json`'s output.

        Raises:
            ValueError: the text is not such a record (one sentence).
        """
        try:
            data = json.loads(text)
            if data.get("version") != 1:
                raise ValueError
            prompts = {
                int(obj): {
                    int(frame): FramePrompt(
                        tuple((float(p[0]), float(p[1]), int(p[2])) for p in entry["points"]),
                        tuple(float(v) for v in entry["box"]) if entry["box"] else None,  # type: ignore[arg-type]
                        bool(entry["mask_given"]),
                    )
                    for frame, entry in frames.items()
                }
                for obj, frames in data["prompts"].items()
            }
            tracked = {
                int(obj): {int(f): bool(r) for f, r in frames.items()}
                for obj, frames in data["tracked"].items()
            }
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            raise ValueError("the propagation record is damaged or from another version.") from None
        return cls(prompts, tracked)


def restore(
    propagator,
    record: PropagationRecord,
    accepted: Mapping[tuple[int, int], np.ndarray],
    resume_frame: int,
    reverse: bool = False,
) -> None:
    """Rebuild ``propagator``'s memory from ``record`` and the accepted masks
    (``{(object_id, frame): (H, W) bool}``), ready to propagate from ``resume_frame`` in the
    given direction (see the module docstring)."""
    for object_id, frames in record.prompts.items():
        for frame in sorted(frames):
            prompt = frames[frame]
            mask = accepted.get((object_id, frame))
            if mask is not None:
                propagator.add_prompts(frame, object_id, mask=mask)
            elif not prompt.mask_given:
                propagator.add_prompts(frame, object_id, list(prompt.points) or None, prompt.box)
    window = propagator.model.video.num_maskmem - 1
    step = 1 if reverse else -1
    for object_id, frames in record.tracked.items():
        for distance in range(window, 0, -1):  # farthest first, as tracking would have run
            frame = resume_frame + step * distance
            mask = accepted.get((object_id, frame))
            if (
                frame in frames
                and mask is not None
                and frame not in record.prompts.get(object_id, {})
            ):
                propagator.add_tracked_mask(frame, object_id, mask, frames[frame])
