"""Measured next-character distributions, and how sampling from one behaves.

What follows a character in the real text (counted, not made up), how spread out a distribution
is (entropy), how temperature changes that spread, and how the frequencies of ``torch.multinomial``
draws converge to the probabilities (with a chi-square test to turn "close" into a number).
The chi-square p-value comes from torch (``torch.special.gammaincc``): no SciPy in the kernel.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..sampling import next_token_probs
from ..tokenizer import CharTokenizer

WORD = r"[A-Za-z']+"


@dataclass(frozen=True)
class Followers:
    """The measured distribution of the character that follows ``char``."""

    char: str
    counts: torch.Tensor  # (vocab,) how often each character follows ``char``
    chars: list[str]  # the vocabulary, in id order

    @property
    def total(self) -> int:
        """How many times ``char`` is followed by anything."""
        return int(self.counts.sum())

    @property
    def probs(self) -> torch.Tensor:
        """counts / total: the maximum-likelihood next-character distribution."""
        return self.counts / self.counts.sum()

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most frequent followers as (character, probability), most frequent first."""
        values, ids = torch.topk(self.probs, min(k, len(self.chars)))
        return [(self.chars[i], float(p)) for p, i in zip(values.tolist(), ids.tolist())]


def followers(counts: torch.Tensor, tok: CharTokenizer, char: str) -> Followers:
    """Row ``char`` of a bigram count matrix (:func:`nanogpt_lite.bigram_counts`), as a distribution."""
    if not isinstance(char, str) or len(char) != 1:
        raise ValueError(f"char 必须是单个字符，收到 {char!r}。 / char must be a single character, got {char!r}")
    if counts.shape != (tok.vocab_size, tok.vocab_size):
        raise ValueError(
            f"计数表的形状应是 ({tok.vocab_size}, {tok.vocab_size})，收到 {tuple(counts.shape)}：请用同一个分词器数出来的表。 / "
            f"counts must be ({tok.vocab_size}, {tok.vocab_size}) for this tokenizer, got {tuple(counts.shape)}"
        )
    (token,) = tok.encode(char)
    row = counts[token].double()
    if row.sum() == 0:
        raise ValueError(
            f"在这张计数表里 {char!r} 后面从没出现过字符，所以它没有下一个字符的分布。 / "
            f"{char!r} is never followed by anything in these counts: it has no next-character distribution"
        )
    return Followers(char, row, list(tok.chars))


@lru_cache(maxsize=1)
def _words_with_next_char(text: str) -> Counter[str]:
    """How often each word occurs followed by each character (counted once per text, reused for every pair)."""
    return Counter(match.group() for match in re.finditer(WORD + r"[^A-Za-z']?", text))  # no list of every word


def example_words(text: str, pair: str, k: int = 3) -> list[tuple[str, int]]:
    """The ``k`` words of ``text`` in which ``pair`` occurs most often, with how often it occurs in each.

    Case matters, as it does for the characters. The pair may end with the character right after a
    word: ``"e "`` counts words ending in ``e`` followed by a space (not by a comma).
    """
    if not isinstance(pair, str) or not re.fullmatch(WORD + r"[^A-Za-z']?", pair):
        raise ValueError(
            f"pair 应是字母，后面可以再跟一个别的字符（如 'e '），收到 {pair!r}。 / "
            f"pair must be letters, optionally followed by one other character, got {pair!r}"
        )
    found: Counter[str] = Counter()
    for token, n in _words_with_next_char(text).items():
        if pair in token:
            times = sum(token.startswith(pair, i) for i in range(len(token)))  # overlapping ones too ("eee")
            found[re.match(WORD, token).group()] += n * times
    return found.most_common(k)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats along the last dimension; 0 * log 0 counts as 0."""
    probs = probs.double()
    if (probs < 0).any() or not torch.allclose(probs.sum(-1), torch.ones((), dtype=probs.dtype), atol=1e-4):
        raise ValueError("probs 必须非负、沿最后一维加起来等于 1。 / probs must be non-negative and sum to 1 along the last dimension")
    h = -torch.where(probs > 0, probs * probs.log(), torch.zeros_like(probs)).sum(-1)
    return h.clamp(min=0.0) + 0.0  # rounding can leave -1e-17 or -0.0 for a certain outcome; entropy is >= 0


def entropy_curve(logits: torch.Tensor, temperatures: Sequence[float], *, top_k: int | None = None) -> list[float]:
    """Entropy (nats) of softmax(logits / T) for each T. T = 0 is greedy decoding: one certain token, entropy 0."""
    return [0.0 if t == 0 else float(entropy(next_token_probs(logits, temperature=t, top_k=top_k))) for t in temperatures]


def sample_frequencies(probs: torch.Tensor, sizes: Sequence[int], *, generator: torch.Generator) -> torch.Tensor:
    """(len(sizes), vocab): the frequencies of the first n of one run of ``torch.multinomial`` draws, for each n."""
    if not sizes or any(int(n) != n or n < 1 for n in sizes):
        raise ValueError(f"sizes 必须是 >= 1 的整数，收到 {list(sizes)!r}。 / sizes must be whole numbers >= 1, got {list(sizes)!r}")
    draws = torch.multinomial(probs.double(), max(sizes), replacement=True, generator=generator)
    vocab = probs.shape[-1]
    return torch.stack([torch.bincount(draws[: int(n)], minlength=vocab).double() / n for n in sizes])


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    """Half the L1 distance: the most probability any event can gain or lose between ``p`` and ``q`` (0..1)."""
    if p.shape != q.shape:
        raise ValueError(
            f"p 和 q 的形状必须相同，收到 {tuple(p.shape)} 和 {tuple(q.shape)}。 / "
            f"p and q must have the same shape, got {tuple(p.shape)} and {tuple(q.shape)}"
        )
    return float((p.double() - q.double()).abs().sum() / 2)


@dataclass(frozen=True)
class ChiSquare:
    """Pearson's chi-square goodness-of-fit test.

    A small p-value is evidence that the counts did not come from ``probs``. A large one is no proof that
    they did: it only says that this many draws show no difference the test can detect.
    """

    statistic: float
    pvalue: float
    dof: int


def chi_square(observed: torch.Tensor, probs: torch.Tensor, *, min_expected: float = 5.0) -> ChiSquare:
    """Test whether ``observed`` counts were drawn from ``probs``.

    Categories expected fewer than ``min_expected`` times are pooled into one (the test's usual rule).
    A count in a category of probability 0 is impossible under ``probs``: statistic inf, p-value 0.
    """
    observed, probs = observed.double(), probs.double()
    if observed.shape != probs.shape or observed.dim() != 1:
        raise ValueError(
            f"observed 和 probs 必须是同样长度的一维张量，收到 {tuple(observed.shape)} 和 {tuple(probs.shape)}。 / "
            f"observed and probs must be 1-D of the same length, got {tuple(observed.shape)} and {tuple(probs.shape)}"
        )
    if (observed < 0).any() or (probs < 0).any() or not math.isclose(float(probs.sum()), 1.0, abs_tol=1e-6):
        raise ValueError(
            "observed 必须是 >= 0 的次数，probs 必须是概率分布（>= 0，加起来等于 1）。 / "
            "observed must be counts >= 0 and probs a distribution (>= 0, summing to 1)"
        )
    if (observed[probs == 0] > 0).any():
        return ChiSquare(math.inf, 0.0, int((probs > 0).sum()) - 1)
    expected = probs / probs.sum() * observed.sum()
    small = expected < min_expected
    cells_obs, cells_exp = observed[~small], expected[~small]
    if small.any():  # pool the rare categories into one cell; if even the pool is rare, add it to the smallest cell
        pooled_obs, pooled_exp = observed[small].sum().view(1), expected[small].sum().view(1)
        if pooled_exp >= min_expected or len(cells_exp) == 0:
            cells_obs, cells_exp = torch.cat([cells_obs, pooled_obs]), torch.cat([cells_exp, pooled_exp])
        else:
            smallest = cells_exp.argmin()
            cells_obs[smallest] += pooled_obs[0]
            cells_exp[smallest] += pooled_exp[0]
    if len(cells_exp) < 2:
        raise ValueError(
            f"样本太少：至少要有两类的期望次数 >= {min_expected}，请多抽一些。 / "
            f"too few samples: need at least two categories expected >= {min_expected} times; draw more"
        )
    statistic = float(((cells_obs - cells_exp) ** 2 / cells_exp).sum())
    dof = len(cells_exp) - 1
    return ChiSquare(statistic, chi_square_pvalue(statistic, dof), dof)


def chi_square_pvalue(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X chi-square with ``dof`` degrees of freedom: the regularised upper gamma Q(dof/2, x/2)."""
    half = torch.tensor([dof / 2, statistic / 2], dtype=torch.float64)
    return float(torch.special.gammaincc(half[0], half[1]))
