"""SAM 2's memory attention: the current frame's embedding attends to the memory bank.

Read in the SAM 2 paper (section 4, "memory attention") and Meta's ``memory_attention.py``
and ``RoPEAttention``, as SAM 2 / 2.1 configure them: four pre-norm layers of
self-attention (rotary position encoding on queries and keys), cross-attention to the
memories (queries rotated; memory keys rotated with the frame's grid repeated once per
memory frame; the object-pointer tokens at the end of the keys are not rotated) and a ReLU
MLP; one head of width 256; memories have 64 channels (``kv_in_dim``).

Token layout: ``(B, N, C)`` batch-first sequences; the frame grid is row-major, 64x64.
State-dict names are Meta's (``memory_attention.layers.<i>.{self_attn,cross_attn_image,
linear1,linear2,norm1,norm2,norm3}``, ``memory_attention.norm``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def axial_rope(dim: int, end_x: int, end_y: int, theta: float = 10000.0) -> torch.Tensor:
    """Complex rotations ``(end_x * end_y, dim / 2)`` for a row-major grid: the first half of
    the pairs turn with x, the second half with y."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 4)[: dim // 4].float() / dim))
    t = torch.arange(end_x * end_y, dtype=torch.float32)
    t_x, t_y = t % end_x, torch.div(t, end_x, rounding_mode="floor")
    angles_x, angles_y = torch.outer(t_x, freqs), torch.outer(t_y, freqs)
    cis_x = torch.polar(torch.ones_like(angles_x), angles_x)
    cis_y = torch.polar(torch.ones_like(angles_y), angles_y)
    return torch.cat([cis_x, cis_y], dim=-1)


def rotate(x: torch.Tensor, cis: torch.Tensor) -> torch.Tensor:
    """Rotate ``(B, heads, N, D)`` by ``cis`` ``(M, D / 2)`` where ``N`` is a multiple of
    ``M`` (the grid repeated once per memory frame)."""
    if x.shape[-2] == 0:
        return x
    pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    repeats = x.shape[-2] // cis.shape[0]
    if repeats > 1:
        cis = cis.unsqueeze(0).expand(repeats, -1, -1).flatten(0, 1)
    return torch.view_as_real(pairs * cis).flatten(3).type_as(x)


class RoPEAttention(nn.Module):
    """Multi-head attention with rotary encoding; ``(B, Nq, C)``, ``(B, Nk, kv_dim)`` ->
    ``(B, Nq, C)``."""

    def __init__(
        self, dim: int = 256, num_heads: int = 1, kv_dim: int | None = None, grid: int = 64
    ) -> None:
        super().__init__()
        kv_dim = kv_dim or dim
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(kv_dim, dim)
        self.v_proj = nn.Linear(kv_dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.grid = grid
        self.register_buffer("cis", axial_rope(dim // num_heads, grid, grid), persistent=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, num_k_exclude_rope: int = 0
    ) -> torch.Tensor:
        q = self._heads(self.q_proj(q))
        k = self._heads(self.k_proj(k))
        v = self._heads(self.v_proj(v))
        cis = self.cis
        if cis.shape[0] != q.shape[-2]:  # another grid than 64x64
            side = round(q.shape[-2] ** 0.5)
            cis = axial_rope(q.shape[-1], side, side).to(q.device)
        q = rotate(q, cis)
        n_rope = k.shape[-2] - num_k_exclude_rope
        k = torch.cat([rotate(k[:, :, :n_rope], cis), k[:, :, n_rope:]], dim=2)
        out = F.scaled_dot_product_attention(q, k, v)
        b, h, n, d = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * d))


class MemoryAttentionLayer(nn.Module):
    """Pre-norm self-attention, cross-attention to memory (position added to keys only), MLP."""

    def __init__(self, dim: int = 256, mem_dim: int = 64, mlp_dim: int = 2048) -> None:
        super().__init__()
        self.self_attn = RoPEAttention(dim, 1)
        self.cross_attn_image = RoPEAttention(dim, 1, kv_dim=mem_dim)
        self.linear1 = nn.Linear(dim, mlp_dim)
        self.linear2 = nn.Linear(mlp_dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor, num_ptr: int
    ) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.self_attn(y, y, y)
        y = self.norm2(x)
        x = x + self.cross_attn_image(y, memory + memory_pos, memory, num_k_exclude_rope=num_ptr)
        y = self.norm3(x)
        return x + self.linear2(F.relu(self.linear1(y)))


class MemoryAttention(nn.Module):
    """Condition a frame on memories: ``(B, HW, 256)`` -> ``(B, HW, 256)``."""

    def __init__(self, dim: int = 256, mem_dim: int = 64, num_layers: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList(MemoryAttentionLayer(dim, mem_dim) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)

    def forward(
        self,
        curr: torch.Tensor,
        curr_pos: torch.Tensor,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        num_obj_ptr_tokens: int = 0,
    ) -> torch.Tensor:
        """
        Args:
            curr: ``(B, HW, 256)`` frame tokens; curr_pos: their sine encoding, same shape.
            memory: ``(B, M, 64)`` memory tokens (spatial memories first, then
                ``num_obj_ptr_tokens`` pointer tokens); memory_pos: same shape.
        """
        x = curr + 0.1 * curr_pos
        for layer in self.layers:
            x = layer(x, memory, memory_pos, num_obj_ptr_tokens)
        return self.norm(x)
