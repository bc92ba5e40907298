"""A tiny GPT-style model in the manner of nanoGPT, with dropmini's dropout inside.

The line the second source article explains, ``drop = nn.Dropout(config.dropout)``,
appears here as ``self.drop = Dropout(config.dropout)``; dropout also sits on the
attention weights, after the attention projection and after the MLP, as in nanoGPT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from dropmini.modules import Dropout

__all__ = ["Block", "GPTConfig", "TinyGPT"]


@dataclass
class GPTConfig:
    """Hyper-parameters of :class:`TinyGPT`.

    Attributes
    ----------
    vocab_size, block_size, n_layer, n_head, n_embd : int
        Vocabulary, context length, depth, heads and width.
    dropout : float
        The ``p`` of every dropout layer in the model.

    Examples
    --------
    >>> GPTConfig(dropout=0.1).dropout
    0.1
    """

    vocab_size: int = 32
    block_size: int = 8
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 16
    dropout: float = 0.1


class CausalSelfAttention(nn.Module):
    """Masked multi-head self-attention with dropout on the weights and the output."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = Dropout(config.dropout)
        self.resid_dropout = Dropout(config.dropout)
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("causal", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over ``x`` of shape ``(B, T, n_embd)``; position t sees positions <= t."""
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        att = att.masked_fill(~self.causal[:t, :t], float("-inf")).softmax(dim=-1)
        att = self.attn_dropout(att)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_dropout(self.proj(y))


class Block(nn.Module):
    """A transformer block: attention and MLP, each with a residual connection."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(config.n_embd, 4 * config.n_embd),
            nn.GELU(),
            nn.Linear(4 * config.n_embd, config.n_embd),
            Dropout(config.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` of shape ``(B, T, n_embd)``."""
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TinyGPT(nn.Module):
    """Token and position embeddings, ``drop``, a stack of blocks, a language-model head.

    Parameters
    ----------
    config : GPTConfig
        Sizes and the dropout probability.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> model = TinyGPT(GPTConfig())
    >>> model(torch.zeros(1, 4, dtype=torch.long)).shape
    torch.Size([1, 4, 32])
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, T, vocab_size)`` for token indices of shape ``(B, T)``."""
        pos = torch.arange(idx.size(1), device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))
