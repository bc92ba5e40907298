"""A transformer encoder layer from dropmini parts: chapter 25's equipment.

``torch.nn.TransformerEncoderLayer`` applies dropout at four sites, in this
order in a forward pass in training mode: the attention weights inside its
``nn.MultiheadAttention`` (``self_attn.dropout``, a float, applied by
``F.scaled_dot_product_attention``), ``dropout1`` on the attention block's
output, ``dropout`` after the feed-forward activation and ``dropout2`` on the
feed-forward block's output. :class:`EncoderLayer` repeats torch 2.13's
training-mode computation step by step, with ``dropmini.dropout`` at every
site and plain torch for the rest (linear maps, layer norms, softmax,
products), and takes the torch layer's ``state_dict`` unchanged.

Also here: :func:`words_consumed`, which counts the 32-bit words of the
Mersenne Twister used between two generator states, :func:`noise_at`, the
dropout noise a tensor would get after a given number of words, computed by
numpy, and :class:`RecordOps`, which records the ATen operators a call runs.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import dropmini
from dropmini.lab.attention import sdpa_reference
from dropmini.mt19937 import WORDS, read_state, uniform53

__all__ = [
    "EncoderLayer",
    "RecordOps",
    "SelfAttention",
    "noise_at",
    "words_consumed",
]

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class SelfAttention(nn.Module):
    """Multi-head self-attention with dropout on the weights, as ``nn.MultiheadAttention``.

    Only self-attention without masks, ``bias_k``/``bias_v`` or ``add_zero_attn``;
    parameters named as in ``nn.MultiheadAttention`` (``in_proj_weight``,
    ``in_proj_bias``, ``out_proj``), so its ``state_dict`` loads. In training
    mode the weights are dropped with ``dropmini.dropout``; with
    ``need_weights=False`` the attention is computed as
    ``F.scaled_dot_product_attention``'s CPU math path
    (:func:`dropmini.lab.attention.sdpa_reference`), otherwise as
    ``F.multi_head_attention_forward``'s own branch, which scales ``q`` alone.
    With nothing to drop (evaluation mode or ``dropout=0``) and
    ``need_weights=False`` it calls ``F.scaled_dot_product_attention`` itself,
    since SDPA may then pick a fused kernel that rounds differently.

    Parameters
    ----------
    embed_dim, num_heads : int
        Model width and number of heads (``embed_dim % num_heads == 0``).
    dropout : float, optional
        Drop probability of the attention weights, a float as in torch.
    batch_first : bool, optional
        Inputs are ``(N, L, E)`` instead of ``(L, N, E)``.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> theirs = nn.MultiheadAttention(4, 2, dropout=0.5)
    >>> ours = SelfAttention(4, 2, dropout=0.5)
    >>> ours.load_state_dict(theirs.state_dict())
    <All keys matched successfully>
    >>> x = torch.rand(3, 2, 4)
    >>> _ = torch.manual_seed(1); a = theirs(x, x, x, need_weights=False)[0]
    >>> _ = torch.manual_seed(1); b = ours(x)[0]
    >>> dropmini.same_bits(a, b)
    True
    """

    def __init__(
        self, embed_dim: int, num_heads: int, dropout: float = 0.0, batch_first: bool = False
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.dropout, self.batch_first = float(dropout), batch_first
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(
        self, x: torch.Tensor, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend ``x`` to itself; return the output and, if asked, the head-averaged weights."""
        if self.batch_first:
            x = x.transpose(1, 0)  # (L, N, E), a view, as MultiheadAttention does
        length, batch, embed = x.shape
        heads, head_dim = self.num_heads, embed // self.num_heads
        p = self.dropout if self.training else 0.0
        proj = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        proj = proj.unflatten(-1, (3, embed)).unsqueeze(0).transpose(0, -2).squeeze(-2)
        q, k, v = (
            t.view(length, batch * heads, head_dim).transpose(0, 1) for t in proj.contiguous()
        )
        weights = None
        if need_weights:
            scores = torch.bmm(q * math.sqrt(1.0 / float(head_dim)), k.transpose(-2, -1))
            weights = scores.softmax(dim=-1)
            if p > 0.0:
                weights = dropmini.dropout(weights, p)
            out = torch.bmm(weights, v).transpose(0, 1).reshape(length * batch, embed)
            weights = weights.view(batch, heads, length, length).mean(dim=1)
        else:
            q, k, v = (t.view(batch, heads, length, head_dim) for t in (q, k, v))
            if p > 0.0:
                attended = sdpa_reference(q, k, v, p)
            else:  # nothing to drop: SDPA picks its kernel (maybe flash), as it does in torch
                attended = F.scaled_dot_product_attention(q, k, v)
            out = attended.permute(2, 0, 1, 3).reshape(batch * length, embed)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias).view(length, batch, embed)
        return (out.transpose(1, 0) if self.batch_first else out), weights

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"batch_first={self.batch_first}"
        )


class EncoderLayer(nn.Module):
    """``nn.TransformerEncoderLayer``'s training-mode forward pass, with dropmini's dropout.

    The same submodule and parameter names as torch's layer, so
    ``load_state_dict(layer.state_dict())`` works; :meth:`from_torch` does it.
    For batched inputs without masks, in training mode and with the same seed,
    the output, the gradients and the generator state afterwards have the same
    bits as torch 2.13's on the CPU (tested for float32 and float64, with any
    ``p`` from 0 to 1 at each site). In evaluation mode every site is the
    identity and the output has the bits of torch's Python path, but torch may
    take its fused fast path instead, which rounds differently.

    Parameters
    ----------
    d_model, nhead, dim_feedforward : int
        Width, heads and feed-forward width, as in torch.
    dropout : float, optional
        The drop probability of all four sites.
    activation : str, optional
        The feed-forward activation, ``"relu"`` or ``"gelu"``.
    layer_norm_eps : float, optional
        Epsilon of both layer norms.
    batch_first, norm_first : bool, optional
        Input layout and pre-norm (``True``) or post-norm (``False``).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> theirs = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3)
    >>> ours = EncoderLayer.from_torch(theirs)
    >>> [name for name, m in ours.named_modules() if isinstance(m, dropmini.Dropout)]
    ['dropout', 'dropout1', 'dropout2']
    >>> x = torch.rand(5, 3, 8)
    >>> _ = torch.manual_seed(1); a = theirs(x)
    >>> _ = torch.manual_seed(1); b = ours(x)
    >>> dropmini.same_bits(a, b)
    True
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be 'relu' or 'gelu', not {activation!r}")
        self.self_attn = SelfAttention(d_model, nhead, dropout, batch_first)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = dropmini.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = dropmini.Dropout(dropout)
        self.dropout2 = dropmini.Dropout(dropout)
        self.activation_name = activation

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer) -> EncoderLayer:
        """Build the twin of ``layer``: same sizes, probabilities, mode and parameters.

        Raises
        ------
        ValueError
            If ``layer``'s activation is neither ReLU nor exact GELU (``F.relu``,
            ``F.gelu``, ``nn.ReLU()``, ``nn.GELU()``; not
            ``nn.GELU(approximate="tanh")``), or its attention is not plain
            self-attention with biases.
        """
        attn = layer.self_attn
        if (
            layer.activation_relu_or_gelu == 0
            or getattr(layer.activation, "approximate", "none") != "none"
        ):
            raise ValueError("only the activations F.relu and F.gelu are supported")
        if attn.in_proj_bias is None or attn.bias_k is not None or attn.add_zero_attn:
            raise ValueError("only self-attention with biases, without bias_k or zero attention")
        twin = cls(
            attn.embed_dim,
            attn.num_heads,
            layer.linear1.out_features,
            attn.dropout,
            "gelu" if layer.activation_relu_or_gelu == 2 else "relu",
            layer.norm1.eps,
            attn.batch_first,
            layer.norm_first,
        )
        twin.dropout.p, twin.dropout1.p, twin.dropout2.p = (
            layer.dropout.p,
            layer.dropout1.p,
            layer.dropout2.p,
        )
        twin.to(attn.in_proj_weight.dtype).load_state_dict(layer.state_dict())
        return twin.train(layer.training)

    def _sa_block(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout1(self.self_attn(x)[0])

    def _ff_block(self, x: torch.Tensor) -> torch.Tensor:
        hidden = _ACTIVATIONS[self.activation_name](self.linear1(x))
        return self.dropout2(self.linear2(self.dropout(hidden)))

    def forward(self, src: torch.Tensor) -> torch.Tensor:
        """Attention block, then feed-forward block, each with a residual connection."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x))
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x))
        return self.norm2(x + self._ff_block(x))


def words_consumed(before: torch.Tensor, after: torch.Tensor, limit: int = 10**7) -> int:
    """How many 32-bit words the CPU generator produced between two of its states.

    Steps numpy's ``MT19937``, set from ``before``, until its words and position
    equal those of ``after``. Does not touch torch's generator.

    Parameters
    ----------
    before, after : torch.Tensor
        Two results of ``torch.get_rng_state()``, ``after`` later in the stream.
    limit : int, optional
        Give up beyond this many words.

    Returns
    -------
    int
        The number of words (``bernoulli_`` on a float tensor takes two per element).

    Raises
    ------
    ValueError
        If ``after`` is not reached within ``limit`` words of ``before``, or the
        two states were seeded differently.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> start = torch.get_rng_state()
    >>> _ = torch.empty(1000).bernoulli_(0.5)
    >>> words_consumed(start, torch.get_rng_state())
    2000
    """
    first, last = read_state(before), read_state(after)
    if first.seed != last.seed:
        raise ValueError(f"the states come from different seeds ({first.seed}, {last.seed})")
    bits = first.bit_generator()
    step = (last.position - first.position) % WORDS
    if step == 0 and last.position != first.position:
        step = WORDS  # positions 0 and 624 both mean "at a block boundary"
    used = 0
    while used <= limit:
        if step:
            bits.random_raw(step)
            used += step
        inner = bits.state["state"]
        if int(inner["pos"]) == last.position and np.array_equal(inner["key"], last.words):
            return used
        step = WORDS
    raise ValueError(f"the second state is not within {limit} words of the first")


def noise_at(start: torch.Tensor, words: int, like: torch.Tensor, p: float) -> torch.Tensor:
    """The dropout noise for ``like`` that torch would draw ``words`` words after ``start``.

    Computed with numpy from the state bytes, in ``like``'s memory order (the
    order in which ``bernoulli_`` fills a tensor): zeros and ``1 / (1 - p)``,
    shaped and strided like ``like``. Torch's generator is not touched.

    Parameters
    ----------
    start : torch.Tensor
        A result of ``torch.get_rng_state()``.
    words : int
        Words drawn from ``start`` before this tensor's mask (even: two per element).
    like : torch.Tensor
        A dense floating-point tensor whose storage starts at its first element.
    p : float
        Drop probability, strictly between 0 and 1.

    Returns
    -------
    torch.Tensor
        The noise ``torch.nn.functional.dropout(like, p)`` multiplies ``like`` by.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> start = torch.get_rng_state()
    >>> x = torch.ones(2, 3)
    >>> _ = torch.nn.functional.dropout(x, 0.5)  # the first 12 words
    >>> y = torch.nn.functional.dropout(x.t(), 0.5)  # a transposed view: memory order
    >>> torch.equal(y, noise_at(start, 12, x.t(), 0.5))
    True
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be strictly between 0 and 1, but got {p}")
    order = sorted(range(like.dim()), key=lambda d: -like.stride(d))
    if like.storage_offset() or not like.permute(order).is_contiguous():
        raise ValueError("like must be dense: a permutation of a contiguous tensor")
    bits = read_state(start).bit_generator()
    bits.random_raw(words)
    n = like.numel()
    raw = bits.random_raw(2 * n)
    keep = torch.from_numpy(uniform53(raw[0::2], raw[1::2]) < 1.0 - p)
    noise = torch.empty_like(like)  # same strides
    flat = noise.as_strided((n,), (1,))  # its storage, in memory order
    flat.copy_(keep.to(like.dtype)).div_(1.0 - p)
    return noise


class RecordOps(TorchDispatchMode):
    """A context manager that records the name of every ATen operator run inside it.

    Attributes
    ----------
    ops : list of str
        Operator names in call order, such as ``"bernoulli_"`` or ``"addmm"``.

    Examples
    --------
    >>> x = torch.ones(3)
    >>> with RecordOps() as record:
    ...     _ = torch.nn.functional.dropout(x, 0.5)
    >>> record.ops
    ['empty_like', 'bernoulli_', 'div_', 'mul']
    """

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        self.ops.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))
