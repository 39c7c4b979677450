"""SAM's two-way transformer: prompt tokens and image tokens attend to each other.

Shapes: tokens (queries) ``(B, N_tokens, C)``; image tokens (keys) ``(B, H*W, C)`` with
``C = 256`` and ``H*W = 64*64``; positional terms have the same shapes as what they add to.

Prompt-independent work is split out for an exporter: the first layer's keys depend only on
the image (and the dense mask embedding), so :meth:`Attention.project_keys` /
:meth:`Attention.project_values` of ``cross_attn_token_to_image`` in layer 0 can be computed
once per image and passed to :meth:`TwoWayAttentionBlock.forward` as ``image_kv``.
"""

from __future__ import annotations

import torch
from torch import nn

from samlabel.sam.common import MLPBlock


class Attention(nn.Module):
    """Multi-head attention with an optional down-projected internal width.

    ``q``, ``k``, ``v`` are ``(B, N, C)``; the projections map to ``C / downsample_rate``
    channels split over ``num_heads`` heads; the output is ``(B, N_q, C)``.
    """

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.internal_dim = embedding_dim // downsample_rate
        self.num_heads = num_heads
        if self.internal_dim % num_heads != 0:
            raise ValueError("num_heads must divide embedding_dim / downsample_rate")
        self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.k_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.v_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.out_proj = nn.Linear(self.internal_dim, embedding_dim)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, internal) -> (B, heads, N, internal / heads)``."""
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def project_keys(self, k: torch.Tensor) -> torch.Tensor:
        """``(B, N, C)`` -> ``(B, heads, N, d)`` projected keys."""
        return self._split_heads(self.k_proj(k))

    def project_values(self, v: torch.Tensor) -> torch.Tensor:
        """``(B, N, C)`` -> ``(B, heads, N, d)`` projected values."""
        return self._split_heads(self.v_proj(v))

    def attend(self, q: torch.Tensor, k_heads: torch.Tensor, v_heads: torch.Tensor) -> torch.Tensor:
        """Queries ``(B, N_q, C)`` against already projected keys/values ``(B, heads, N_k, d)``."""
        q_heads = self._split_heads(self.q_proj(q))
        d = q_heads.shape[-1]
        attn = (q_heads @ k_heads.transpose(-2, -1)) / (d**0.5)
        out = attn.softmax(dim=-1) @ v_heads  # (B, heads, N_q, d)
        b, _, n, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, self.internal_dim))

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.attend(q, self.project_keys(k), self.project_values(v))


class TwoWayAttentionBlock(nn.Module):
    """Self-attention of tokens, tokens->image, MLP on tokens, image->tokens.

    In the first layer the tokens' self-attention takes no positional term and replaces the
    tokens instead of adding a residual, as in the reference.
    """

    def __init__(
        self,
        embedding_dim: int,
        num_heads: int,
        mlp_dim: int = 2048,
        attention_downsample_rate: int = 2,
        skip_first_layer_pe: bool = False,
    ) -> None:
        super().__init__()
        self.self_attn = Attention(embedding_dim, num_heads)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate
        )
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = MLPBlock(embedding_dim, mlp_dim, nn.ReLU)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate
        )
        self.skip_first_layer_pe = skip_first_layer_pe

    def image_kv(
        self, keys: torch.Tensor, key_pe: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected keys/values of the token->image attention; depend on image side only."""
        attn = self.cross_attn_token_to_image
        return attn.project_keys(keys + key_pe), attn.project_values(keys)

    def self_attend(self, queries: torch.Tensor, query_pe: torch.Tensor) -> torch.Tensor:
        """The tokens' self-attention and its LayerNorm: ``(B, N, C)`` -> ``(B, N, C)``."""
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        return self.norm1(queries)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        query_pe: torch.Tensor,
        key_pe: torch.Tensor,
        image_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns updated ``(queries (B, N, C), keys (B, HW, C))``.

        ``image_kv``: optional precomputed :meth:`image_kv` for these ``keys`` and ``key_pe``.
        """
        queries = self.self_attend(queries, query_pe)

        k_heads, v_heads = image_kv if image_kv is not None else self.image_kv(keys, key_pe)
        queries = queries + self.cross_attn_token_to_image.attend(
            queries + query_pe, k_heads, v_heads
        )
        queries = self.norm2(queries)

        queries = self.norm3(queries + self.mlp(queries))

        q = queries + query_pe
        keys = keys + self.cross_attn_image_to_token(keys + key_pe, q, queries)
        keys = self.norm4(keys)
        return queries, keys


class TwoWayTransformer(nn.Module):
    """``depth`` two-way blocks, then a final token->image attention and a LayerNorm."""

    def __init__(
        self,
        depth: int,
        embedding_dim: int,
        num_heads: int,
        mlp_dim: int,
        attention_downsample_rate: int = 2,
    ) -> None:
        super().__init__()
        self.depth = depth
        self.embedding_dim = embedding_dim
        self.num_heads = num_heads
        self.mlp_dim = mlp_dim
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(
                embedding_dim,
                num_heads,
                mlp_dim=mlp_dim,
                attention_downsample_rate=attention_downsample_rate,
                skip_first_layer_pe=(i == 0),
            )
            for i in range(depth)
        )
        self.final_attn_token_to_image = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate
        )
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def forward(
        self,
        image_embedding: torch.Tensor,
        image_pe: torch.Tensor,
        point_embedding: torch.Tensor,
        first_layer_image_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the transformer.

        Args:
            image_embedding: ``(B, C, H, W)`` image embedding (plus dense prompt embedding).
            image_pe: ``(B, C, H, W)`` positional encoding of the grid.
            point_embedding: ``(B, N, C)`` tokens (output tokens then prompt tokens).
            first_layer_image_kv: optional ``layers[0].image_kv(keys, key_pe)`` computed
                beforehand from the flattened ``image_embedding`` and ``image_pe``.

        Returns:
            ``(tokens (B, N, C), image tokens (B, H*W, C))``.
        """
        keys = image_embedding.flatten(2).permute(0, 2, 1)
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = point_embedding
        for i, layer in enumerate(self.layers):
            kv = first_layer_image_kv if i == 0 else None
            queries, keys = layer(queries, keys, point_embedding, key_pe, image_kv=kv)
        q = queries + point_embedding
        queries = queries + self.final_attn_token_to_image(q, keys + key_pe, keys)
        return self.norm_final_attn(queries), keys
