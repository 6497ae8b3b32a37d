"""Similarity scores from 0 (nothing alike) to 100 (the same after normalisation).

A score is the better of two views: the whole strings compared as sequences (catches typing
errors: LESTARI / LESTARY), and the words aligned one by one in any order (catches reordered
words and initials: M. YUSUF / MUHAMMAD YUSUF counts the initial as 0.9 of a word).
"""

from __future__ import annotations

from difflib import SequenceMatcher

INITIAL_WEIGHT = 0.9


def _ratio(a: str, b: str) -> float:
    """SequenceMatcher's ratio, made symmetric (its matching blocks depend on the order)."""
    forward = SequenceMatcher(None, a, b, autojunk=False).ratio()
    return max(forward, SequenceMatcher(None, b, a, autojunk=False).ratio())


def _word(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return INITIAL_WEIGHT if a[0] == b[0] else 0.0
    return _ratio(a, b)


def _aligned(a: list[str], b: list[str]) -> float:
    """Greedy best pairing of words; every unpaired word of the longer side counts as 0."""
    if not a or not b:
        return 0.0
    left, right = (a, list(b)) if len(a) <= len(b) else (b, list(a))  # the shorter side picks
    total = 0.0
    for word in left:
        best = max(right, key=lambda other: _word(word, other))
        total += _word(word, best)
        right.remove(best)
    return total / max(len(a), len(b))


def score(a: str, b: str) -> int:
    """0-100 for two already normalised strings (symmetric)."""
    if a == b:
        return 100
    if not a or not b:
        return 0
    whole = _ratio(a, b)
    words = max(_aligned(a.split(), b.split()), _aligned(b.split(), a.split()))
    return round(100 * max(whole, words))


def best_score(a: set[str], b: set[str]) -> int:
    """The best score over every pair of variants."""
    return max((score(x, y) for x in a for y in b), default=0)
