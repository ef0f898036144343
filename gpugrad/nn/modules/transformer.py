"""``MultiheadAttention`` and ``TransformerEncoderLayer``, with PyTorch's parameters,
initialization, masks and ``batch_first`` convention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._factories import empty, zeros
from ..._tensor import Tensor
from ...backends import dtypes as _dtypes
from ...ops.elementwise import where
from ...ops.shape import cat
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .dropout import Dropout
from .linear import Linear, NonDynamicallyQuantizableLinear
from .module import Module
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer"]


def _as_additive(mask: Tensor | None, like: Tensor) -> Tensor | None:
    """A boolean mask (``True`` = not allowed, PyTorch's convention for these modules) as
    an additive float mask of ``-inf``/0; a float mask as it is."""
    if mask is None:
        return None
    if mask.dtype == _dtypes.bool_:
        return where(mask, float("-inf"), zeros((), dtype=like.dtype, device=like.device))
    return mask


class MultiheadAttention(Module):
    """``num_heads`` scaled dot-product attentions over projections of query, key and
    value, concatenated and projected by ``out_proj``. Inputs are ``(L, N, E)``
    (``(N, L, E)`` with ``batch_first``) or unbatched ``(L, E)``; returns the output and,
    with ``need_weights``, the attention weights (averaged over heads unless
    ``average_attn_weights=False``)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        kw = {"dtype": dtype, "device": device}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:  # a learned key and value appended to every sequence
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn  # a zero key and value appended after the heads split
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform projections, zero biases (PyTorch's initialization)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        e = self.embed_dim
        b = self.in_proj_bias
        biases = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:e], w[e : 2 * e], w[2 * e :])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        return tuple(
            F.linear(x, w, bias)
            for x, w, bias in zip((query, key, value), weights, biases, strict=True)
        )

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        batched = query.dim() == 3
        if query.dim() not in (2, 3):
            raise AssertionError(
                f"query should be unbatched 2D or batched 3D tensor but received "
                f"{query.dim()}-D query tensor"
            )
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        # now (L, N, E)
        length, batch, _ = query.shape
        source = key.shape[0]
        heads, head_dim = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)

        def split_heads(t: Tensor, n: int) -> Tensor:  # (n, N, E) -> (N, H, n, D)
            return t.reshape(n, batch, heads, head_dim).permute(1, 2, 0, 3)

        q = split_heads(q, length)
        mask = self._merged_mask(attn_mask, key_padding_mask, is_causal, q, length, source)
        appended = 0
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, batch, self.embed_dim)])
            v = cat([v, self.bias_v.expand(1, batch, self.embed_dim)])
            appended += 1
        k, v = split_heads(k, source + appended), split_heads(v, source + appended)
        if self.add_zero_attn:
            extra = zeros((batch, heads, 1, head_dim), dtype=k.dtype, device=k.device)
            k, v = cat([k, extra], 2), cat([v, extra], 2)
            appended += 1
        if mask is not None and appended:  # the appended keys are never masked
            mask = cat(
                [mask, zeros((*mask.shape[:-1], appended), dtype=mask.dtype, device=mask.device)],
                -1,
            )
        scores = (q @ k.transpose(-2, -1)) * (1.0 / head_dim**0.5)
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(-1)
        if self.dropout > 0 and self.training:
            weights = F.dropout(weights, self.dropout, True)
        out = (weights @ v).permute(2, 0, 1, 3).reshape(length, batch, self.embed_dim)
        out = self.out_proj(out)
        if batched and self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            weights = weights.squeeze(0)
        return out, weights

    def _merged_mask(
        self,
        attn_mask: Tensor | None,
        key_padding_mask: Tensor | None,
        is_causal: bool,
        like: Tensor,
        length: int,
        source: int,
    ) -> Tensor | None:
        """``attn_mask`` (2-D ``(L, S)`` or 3-D ``(N * H, L, S)``) and
        ``key_padding_mask`` (``(N, S)``) as one additive ``(N, H, L, S)``-broadcastable
        mask."""
        batch = like.shape[0]
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                "module method `generate_square_subsequent_mask` to create this mask."
            )
        mask = _as_additive(attn_mask, like)
        if mask is not None:
            if mask.dim() == 2:
                if tuple(mask.shape) != (length, source):
                    raise RuntimeError(
                        f"The shape of the 2D attn_mask is {mask.shape}, but should be "
                        f"{(length, source)}."
                    )
            elif mask.dim() == 3:
                expected = (batch * self.num_heads, length, source)
                if tuple(mask.shape) != expected:
                    raise RuntimeError(
                        f"The shape of the 3D attn_mask is {mask.shape}, but should be {expected}."
                    )
                mask = mask.reshape(batch, self.num_heads, length, source)
            else:
                raise RuntimeError(f"attn_mask's dimension {mask.dim()} is not supported")
        padding = _as_additive(key_padding_mask, like)
        if padding is not None:
            if tuple(padding.shape) != (batch, source):
                raise AssertionError(
                    f"expecting key_padding_mask shape of {(batch, source)}, but got "
                    f"{padding.shape}"
                )
            padding = padding.reshape(batch, 1, 1, source)
            mask = padding if mask is None else mask + padding
        return mask


def _activation(name: str | Callable) -> Callable:
    if callable(name):
        return name
    if name == "relu":
        return F.relu
    if name == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {name}")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection and
    ``LayerNorm`` (after each block, or before with ``norm_first``)."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        out = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
            need_weights=False, is_causal=is_causal,
        )[0]  # fmt: skip
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))
