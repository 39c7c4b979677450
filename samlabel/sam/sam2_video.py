"""SAM 2 with its memory: the tensor-level steps of tracking an object through frames.

:class:`Sam2VideoModel` is the image model (:class:`~samlabel.sam.sam2_model.Sam2Model`)
plus the modules Meta's checkpoints hold for video: memory encoder and attention, object
pointer projection and its temporal encoding, ``maskmem_tpos_enc``, ``no_mem_pos_enc``,
``no_obj_ptr``, ``no_obj_embed_spatial`` (SAM 2.1) and ``mask_downsample``. Names are Meta's,
so the whole checkpoint loads strictly. Which memories a frame sees (the memory bank) is the
caller's business (:mod:`samlabel.inference.propagation`); each method here is one step of
Meta's ``SAM2Base.track_step`` for one frame and one object (batch ``B`` = 1 in practice).

Frames: ``feat`` is the frame's ``(B, 256, 64, 64)`` embedding *without* ``no_mem_embed``,
``s0``/``s1`` its high-resolution maps already projected by ``conv_s0``/``conv_s1``
(``(B, 32, 256, 256)``, ``(B, 64, 128, 128)``). Masks are logits in the stretched 1024 frame:
low-res ``(B, 1, 256, 256)``, high-res ``(B, 1, 1024, 1024)``. Points are pixels in the 1024
frame, labels 1 include, 0 exclude, 2/3 box corners (placed first).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from samlabel.sam.build import _skip_weight_init
from samlabel.sam.common import MLP
from samlabel.sam.sam2_decoder import select_sam2_masks
from samlabel.sam.sam2_memory_attention import MemoryAttention
from samlabel.sam.sam2_memory_encoder import MemoryEncoder, sine_1d, sine_position_encoding
from samlabel.sam.sam2_model import Sam2Config, Sam2Model

#: Mask logit Meta writes where the object is predicted absent.
NO_OBJ_SCORE = -1024.0
#: Memory encoder input: sigmoid (or 0/1) of the mask, times 20, minus 10.
MEM_SCALE, MEM_BIAS = 20.0, -10.0


@dataclass(frozen=True)
class VideoConfig:
    """Video settings of the published SAM 2 / 2.1 models (the same for every size).

    ``sam21`` switches on what 2.1 added: a learned temporal encoding of object pointers by
    signed frame distance, and ``no_obj_embed_spatial`` added to memories of frames where
    the object is absent.
    """

    sam21: bool = True
    num_maskmem: int = 7  # the conditioning frames plus the 6 previous frames
    max_obj_ptrs: int = 16
    mem_dim: int = 64
    attention_layers: int = 4


@dataclass
class HeadOutput:
    """The SAM heads' result on one frame.

    Attributes:
        low_res_multimasks: ``(B, K, 256, 256)`` logits (K = 3 multimask, else 1), with
            :data:`NO_OBJ_SCORE` where the object is judged absent.
        ious: ``(B, K)``.
        low_res_masks: ``(B, 1, 256, 256)`` the chosen mask (best IoU when K = 3).
        obj_ptr: ``(B, 256)`` object pointer.
        object_score_logits: ``(B, 1)``; > 0 means the object is visible.
    """

    low_res_multimasks: torch.Tensor
    ious: torch.Tensor
    low_res_masks: torch.Tensor
    obj_ptr: torch.Tensor
    object_score_logits: torch.Tensor

    def high_res_masks(self) -> torch.Tensor:
        """The chosen mask bilinearly upsampled to ``(B, 1, 1024, 1024)``."""
        return upsample_1024(self.low_res_masks)


def upsample_1024(low_res: torch.Tensor) -> torch.Tensor:
    """``(B, 1, 256, 256)`` -> ``(B, 1, 1024, 1024)`` bilinear (half-pixel centres)."""
    return F.interpolate(low_res.float(), size=(1024, 1024), mode="bilinear", align_corners=False)


class Sam2VideoModel(Sam2Model):
    """:class:`Sam2Model` plus the memory modules (see the module docstring)."""

    def __init__(self, cfg: Sam2Config, video: VideoConfig | None = None) -> None:
        super().__init__(cfg)
        self.video = video or VideoConfig()
        v = self.video
        hidden = 256
        self.memory_attention = MemoryAttention(hidden, v.mem_dim, v.attention_layers)
        self.memory_encoder = MemoryEncoder(hidden, v.mem_dim)
        self.mask_downsample = nn.Conv2d(1, 1, kernel_size=4, stride=4)
        self.obj_ptr_proj = MLP(hidden, hidden, hidden, 3)
        if v.sam21:
            self.obj_ptr_tpos_proj = nn.Linear(hidden, v.mem_dim)
            self.no_obj_embed_spatial = nn.Parameter(torch.zeros(1, v.mem_dim))
        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(v.num_maskmem, 1, 1, v.mem_dim))
        self.no_mem_pos_enc = nn.Parameter(torch.zeros(1, 1, hidden))
        self.no_obj_ptr = nn.Parameter(torch.zeros(1, hidden))
        # Fixed encodings of the 64x64 grid: the frame's (256 ch) and the memories' (64 ch).
        self.register_buffer("frame_pos", sine_position_encoding(hidden, 64, 64), False)

    def frame_features(
        self, image: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(1, 3, 1024, 1024)`` normalised frame -> ``(feat, s0, s1)`` (no ``no_mem_embed``)."""
        s0, s1, feat = self.image_encoder(image)
        s0, s1 = self.sam_mask_decoder.project_high_res(s0, s1)
        return feat, s0, s1

    def sam_heads(
        self,
        feat: torch.Tensor,
        s0: torch.Tensor,
        s1: torch.Tensor,
        coords: torch.Tensor | None,
        labels: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask: bool,
    ) -> HeadOutput:
        """Prompt encoder and mask decoder on a (memory-conditioned) frame embedding.

        Args:
            feat: ``(B, 256, 64, 64)`` the embedding the decoder sees.
            coords, labels: ``(B, N, 2)`` / ``(B, N)`` prompts, or None for none (tracking).
            mask_input: ``(B, 1, 256, 256)`` logits (or any size: resized with antialiasing),
                or None.
            multimask: three candidates (best IoU chosen) or one (with Meta's fallback to the
                best candidate when the single mask is unstable).
        """
        b = feat.shape[0]
        if coords is None or coords.shape[1] == 0:
            coords = torch.zeros(b, 1, 2, device=feat.device)
            labels = -torch.ones(b, 1, device=feat.device)
        # Meta's prompt encoder always appends one padding point when no box is passed.
        coords = torch.cat([coords.float(), torch.zeros(b, 1, 2, device=feat.device)], 1)
        labels = torch.cat([labels.float(), -torch.ones(b, 1, device=feat.device)], 1)
        if mask_input is None:
            mask = torch.zeros(b, 1, 256, 256, device=feat.device)
            has_mask = torch.zeros(b, device=feat.device)
        else:
            mask = mask_input.float()
            if mask.shape[-2:] != (256, 256):
                mask = F.interpolate(
                    mask, (256, 256), mode="bilinear", align_corners=False, antialias=True
                )
            has_mask = torch.ones(b, device=feat.device)
        sparse, dense = self.sam_prompt_encoder(coords, labels, mask, has_mask)
        masks, ious, tokens, obj_score = self.sam_mask_decoder.forward_all(
            feat, self.sam_prompt_encoder.get_dense_pe(), sparse, dense, s0, s1
        )
        if multimask:
            masks, ious, tokens = masks[:, 1:], ious[:, 1:], tokens[:, 1:]
        else:
            masks, ious = select_sam2_masks(masks, ious, False)
            tokens = tokens[:, 0:1]  # the single-mask token makes the pointer, whatever was shown
        visible = obj_score > 0
        masks = torch.where(visible[:, :, None, None], masks, NO_OBJ_SCORE).float()
        rows = torch.arange(b, device=feat.device)
        best = torch.argmax(ious, dim=-1) if multimask else torch.zeros_like(rows)
        low_res = masks[rows, best].unsqueeze(1)
        obj_ptr = self.obj_ptr_proj(tokens[rows, best])
        appearing = visible.float()
        obj_ptr = appearing * obj_ptr + (1 - appearing) * self.no_obj_ptr
        return HeadOutput(masks, ious, low_res, obj_ptr, obj_score)

    def mask_as_output(
        self, feat: torch.Tensor, s0: torch.Tensor, s1: torch.Tensor, mask: torch.Tensor
    ) -> HeadOutput:
        """A given mask ``(B, 1, 1024, 1024)`` (0/1) taken as the frame's output, as Meta's
        ``add_new_mask``: logits +-10, a pointer from the decoder fed the downsampled mask."""
        mask = mask.float()
        high = mask * 20.0 - 10.0
        low = F.interpolate(high, (256, 256), mode="bilinear", align_corners=False, antialias=True)
        heads = self.sam_heads(feat, s0, s1, None, None, self.mask_downsample(mask), False)
        appearing = torch.any(mask.flatten(1) > 0.0, dim=1, keepdim=True).float()
        obj_ptr = appearing * heads.obj_ptr + (1 - appearing) * self.no_obj_ptr
        ious = torch.ones(mask.shape[0], 1, device=mask.device)
        return HeadOutput(low, ious, low, obj_ptr, 20.0 * appearing - 10.0)

    def encode_memory(
        self,
        feat: torch.Tensor,
        high_res_masks: torch.Tensor,
        object_score_logits: torch.Tensor,
        binarize: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One memory: ``(features (B, 64, 64, 64) bfloat16, position (1, 64, 64, 64))``.

        ``binarize``: True for frames the user prompted (the memory holds exactly the mask
        shown), False for tracked frames (the sigmoid of the logits). Kept in bfloat16 as
        Meta keeps it: half the memory, and the rounding is part of the reference result.
        """
        mask = (high_res_masks > 0).float() if binarize else torch.sigmoid(high_res_masks)
        memory, pos = self.memory_encoder(feat, mask * MEM_SCALE + MEM_BIAS)
        if self.video.sam21:
            absent = 1 - (object_score_logits > 0).float()
            memory = memory + absent[..., None, None] * self.no_obj_embed_spatial[..., None, None]
        return memory.to(torch.bfloat16), pos

    def pointer_positions(self, distances: list[int], num_frames: int) -> torch.Tensor:
        """Temporal encoding ``(P, 64)`` of pointers ``distances`` frames away (zeros for
        SAM 2.0, which has none)."""
        if not self.video.sam21:
            return torch.zeros(len(distances), self.video.mem_dim, device=self.no_obj_ptr.device)
        t_diff_max = min(num_frames, self.video.max_obj_ptrs) - 1
        pos = torch.tensor(distances, dtype=torch.float32, device=self.no_obj_ptr.device)
        return self.obj_ptr_tpos_proj(sine_1d(pos / t_diff_max, 256))

    def condition(
        self,
        feat: torch.Tensor,
        memories: list[tuple[torch.Tensor, torch.Tensor, int]],
        pointers: list[torch.Tensor],
        pointer_pos: torch.Tensor | None,
    ) -> torch.Tensor:
        """The frame embedding after attending to its memories: ``(B, 256, 64, 64)``.

        Args:
            feat: ``(B, 256, 64, 64)`` frame embedding.
            memories: ``(features (B, 64, 64, 64), position (1, 64, 64, 64), t_pos)`` per
                memory frame, conditioning frames first (``t_pos`` 0), then previous frames
                (``t_pos`` 1 the farthest .. ``num_maskmem - 1`` the nearest).
            pointers: ``(B, 256)`` object pointers, conditioning frames first.
            pointer_pos: ``(P, 64)`` from :meth:`pointer_positions`.
        """
        b, c, h, w = feat.shape
        mems, poss = [], []
        for features, pos, t_pos in memories:
            mems.append(features.float().flatten(2).transpose(1, 2))
            tpos = self.maskmem_tpos_enc[self.video.num_maskmem - t_pos - 1].reshape(1, 1, -1)
            poss.append(pos.flatten(2).transpose(1, 2).expand(b, -1, -1) + tpos)
        num_ptr_tokens = 0
        if pointers:
            split = c // self.video.mem_dim  # each 256-d pointer becomes 4 tokens of 64
            ptrs = torch.stack(pointers, dim=1)  # (B, P, 256)
            ptrs = ptrs.reshape(b, -1, self.video.mem_dim)
            mems.append(ptrs)
            poss.append(pointer_pos.repeat_interleave(split, dim=0).unsqueeze(0).expand(b, -1, -1))
            num_ptr_tokens = ptrs.shape[1]
        curr = feat.flatten(2).transpose(1, 2)
        curr_pos = self.frame_pos.flatten(2).transpose(1, 2).expand(b, -1, -1)
        out = self.memory_attention(
            curr, curr_pos, torch.cat(mems, 1), torch.cat(poss, 1), num_ptr_tokens
        )
        return out.transpose(1, 2).reshape(b, c, h, w)


def build_sam2_video(
    cfg: Sam2Config, video: VideoConfig | None = None, init_weights: bool = True
) -> Sam2VideoModel:
    """A :class:`Sam2VideoModel`; ``init_weights`` False leaves parameters uninitialised
    (only for loading a complete state dict right after)."""
    if not init_weights:
        with _skip_weight_init():
            return Sam2VideoModel(cfg, video)
    return Sam2VideoModel(cfg, video)
