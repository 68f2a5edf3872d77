"""Splitting Chinese and English text into search terms, with no segmenter.

Knowledge search runs on SQLite and PostgreSQL alike, and PostgreSQL's default
text-search parser cannot split Chinese, so the index is built here, in
Python, and stored as plain rows.  Chinese is indexed as overlapping character
bigrams: no dictionary to install or keep up to date, and a two-character word
such as 卡纸 is found wherever it occurs.  Documents and queries go through the
same function, so whatever it does to one it does to the other.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# CJK Unified Ideographs, Extension A, Compatibility Ideographs, Extensions B-F
# and the Compatibility Supplement.  Kana and Hangul are left to the word rule:
# they are rare in this product's mail and bigrams would not suit Korean anyway.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_TOKEN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")

# Kept tiny on purpose: words like "not", "no" or "off" change what a fault
# description means, and BM25's idf already discounts common words.
STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it",
    "of", "on", "or", "that", "the", "this", "to", "was", "were", "with",
))


def normalise(text: str) -> str:
    """NFKC folds full-width letters, digits and spaces (ＨＰ１２３ → HP123)."""
    return unicodedata.normalize("NFKC", text or "").lower()


def terms(text: str) -> Counter[str]:
    """The terms of `text`, with how often each occurs."""
    found: Counter[str] = Counter()
    for match in _TOKEN.finditer(normalise(text)):
        run = match.group("cjk")
        if run is None:
            word = match.group("word")
            if word not in STOP_WORDS:
                found[word] += 1
        elif len(run) == 1:
            found[run] += 1
        else:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


def term_list(text: str) -> list[str]:
    """The distinct terms of `text` in a stable order (for queries)."""
    return sorted(terms(text))
