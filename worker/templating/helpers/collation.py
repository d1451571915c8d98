"""Sort keys that order strings as ``String.prototype.localeCompare`` does in Node (ICU, root locale).

ICU compares in three passes: base letters first (punctuation and symbols before digits,
digits before letters, letters without regard to case or accents), then accents, then case
(lower before upper). ``"a b" < "a_b" < "a-b" < "ab" < "aB" < "Ab"`` and
``"e" < "E" < "é"``. Ligatures and sharp s expand (``æ`` sorts as ``ae``, ``ß`` as ``ss``).
This covers Latin text, which is what mock data holds; other scripts sort by code point
after Latin letters, as they do in ICU's root order.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# ASCII punctuation and symbols in ICU's root order (space first, then _ - , ; : ! ? . ' " …)
_PUNCTUATION = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_PUNCTUATION_RANK = {ch: i for i, ch in enumerate(_PUNCTUATION)}
# combining marks in the order of their secondary weights (acute before grave before breve …)
_MARK_RANK = {mark: i for i, mark in enumerate(
    "\u0301\u0300\u0306\u0302\u030c\u030a\u0308\u030b\u0303\u0307\u0338\u0335\u0327\u0328\u0304")}
_LIGATURE = 1000  # the extra secondary weight ICU gives a ligature after its first letter
_EXPANSIONS = {"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS", "ĳ": "ij", "Ĳ": "IJ"}
_STROKED = {"ø": ("o", "\u0338"), "Ø": ("O", "\u0338"), "đ": ("d", "\u0335"), "Đ": ("D", "\u0335"),
            "ł": ("l", "\u0335"), "Ł": ("L", "\u0335"), "ħ": ("h", "\u0335"), "Ħ": ("H", "\u0335")}


Weight = tuple[tuple[int, int | str], tuple[int, ...], int]


@lru_cache(maxsize=4096)
def _char_weights(ch: str) -> tuple[Weight, ...]:
    if ch in _EXPANSIONS:
        first, *rest = (weight for part in _EXPANSIONS[ch] for weight in _char_weights(part))
        return ((first[0], (_LIGATURE,), first[2]), *rest)
    if ch in _STROKED:
        base, mark = _STROKED[ch]
        return ((_primary(base), (_MARK_RANK[mark],), 1 if base.isupper() else 0),)
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    ranks = tuple(_MARK_RANK.get(mark, 100 + ord(mark) % 1000) for mark in marks)
    return ((_primary(base), ranks, 1 if base.isupper() else 0),)


def _primary(ch: str) -> tuple[int, int | str]:
    if ch in _PUNCTUATION_RANK:
        return (1, _PUNCTUATION_RANK[ch])
    if ch.isspace() or unicodedata.category(ch)[0] in "PSZC":
        return (0 if ch.isspace() else 2, ord(ch))
    if ch.isdigit():
        return (3, unicodedata.digit(ch, 0))
    if ch.isalpha():
        return (4, ch.lower()) if ch.isascii() else (5, ch.lower())
    return (6, ord(ch))


def collation_key(text: str) -> tuple[list[tuple[int, int | str]], list[tuple[int, ...]], list[int]]:
    weights = [weight for ch in text for weight in _char_weights(ch)]
    return [w[0] for w in weights], [w[1] for w in weights], [w[2] for w in weights]
