"""Loanwords: a Korean ↔ English word list learned from the company's own vocabulary, without a dictionary.

Shop-floor Korean writes most equipment words as English loanwords in Hangul: 스핀들 (spindle), 베어링 (bearing),
필터 (filter), 파우치 (pouch), 스크류 (screw), 체크링 (check ring). A Korean question about an English manual
often carries such words, and BM25 cannot match them. Both spellings are reduced to a **consonant skeleton**
that survives the usual Korean rendering of English sounds (f→ㅍ, v→ㅂ, r/l→ㄹ, a non-rhotic r dropped, the
epenthetic ㅡ dropped, z→ㅈ, th→ㅅ, x→ㅋㅅ, soft c/g):

    스핀들 → spntl ← spindle      베어링 → plN ← bearing      파우치 → pC ← pouch      스크류 → skl ← screw

A Korean word of the question whose skeleton (≥ 3 consonants, so short words do not collide) equals the skeleton
of one or two adjacent words of the company's English vocabulary is expanded with them (``LoanwordIndex``). The
English side comes from the store's BM25 vocabulary, so the list is the company's own and follows every ingest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher

__all__ = ["LoanwordIndex", "english_skeleton", "hangul_skeleton"]

# initial consonants (19), medial vowels (21), final consonants (28, first = none)
_INITIAL = ["k", "k", "n", "t", "t", "l", "m", "p", "p", "s", "s", "", "j", "j", "C", "k", "t", "p", "h"]
_FINAL = ["", "k", "k", "ks", "n", "nj", "nh", "t", "l", "lk", "lm", "lp", "ls", "lt", "lp", "lh", "m", "p",
          "ps", "s", "s", "N", "j", "C", "k", "t", "p", "h"]
_MIN_CONSONANTS = 3
_PARTICLES = ("으로", "에서", "에게", "까지", "부터", "이랑", "하고", "처럼", "은", "는", "이", "가", "을", "를", "의",
              "에", "로", "와", "과", "도", "만", "랑")
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]{2,}")


def hangul_skeleton(word: str) -> str:
    """Consonant skeleton of a Hangul word (vowels dropped, repeated consonants collapsed)."""
    out: list[str] = []
    for ch in word:
        code = ord(ch) - 0xAC00
        if not 0 <= code < 11172:
            return ""
        out.append(_INITIAL[code // 588])
        out.append(_FINAL[code % 28])
    return _collapse("".join(out))


_EN_RULES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    (r"ph", "f"), (r"th", "s"), (r"sh", "s"), (r"tch", "C"), (r"ch", "C"), (r"ck", "k"), (r"qu", "k"),
    (r"ng(?![aeiouy])", "N"), (r"x", "ks"), (r"c(?=[eiy])", "s"), (r"g(?=[eiy])", "j"), (r"r(?![aeiouy])", ""),
    (r"e$", ""), (r"^wh?|^y", ""), (r"[wyh]", ""),
)]
_EN_MAP = str.maketrans({"f": "p", "v": "p", "b": "p", "d": "t", "g": "k", "c": "k", "q": "k", "z": "j", "r": "l",
                         "a": "", "e": "", "i": "", "o": "", "u": ""})


def english_skeleton(word: str) -> str:
    """Consonant skeleton of an English word as Korean spelling renders it."""
    w = word.lower()
    if not w.isascii() or not w.isalpha():
        return ""
    initial_h = w.startswith("h")
    for pat, rep in _EN_RULES:
        w = pat.sub(rep, w)
    return _collapse(("h" if initial_h else "") + w.translate(_EN_MAP))


_KO_VOWELS = ["a", "e", "ya", "ye", "o", "e", "yo", "ye", "o", "wa", "we", "we", "yo", "u", "wo", "we", "wi", "yu",
              "", "i", "i"]
_EN_VOWELS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    (r"ee|ea|ie", "i"), (r"oo|ou", "u"), (r"ai|ay|ei|ey", "e"), (r"au|aw|ow|oa", "o"), (r"y", "i"), (r"e$", ""),
)]


def hangul_sound(word: str) -> str:
    """A rough Latin spelling of a Hangul word (consonants as in the skeleton, vowels kept; ㅡ dropped)."""
    out: list[str] = []
    for ch in word:
        code = ord(ch) - 0xAC00
        out += [_INITIAL[code // 588], _KO_VOWELS[(code % 588) // 28], _FINAL[code % 28]]
    return _collapse("".join(out))


def english_sound(word: str) -> str:
    """The English word's consonants as in its skeleton, with its vowels simplified."""
    w = word.lower()
    initial_h = w.startswith("h")
    for pat, rep in _EN_RULES:
        if pat.pattern != r"e$":
            w = pat.sub(rep, w)
    for pat, rep in _EN_VOWELS:
        w = pat.sub(rep, w)
    return _collapse(("h" if initial_h and not w.startswith("h") else "") + w.translate(_EN_SOUND))


_EN_SOUND = str.maketrans({"f": "p", "v": "p", "b": "p", "d": "t", "g": "k", "c": "k", "q": "k", "z": "j", "r": "l"})


def _collapse(s: str) -> str:
    return re.sub(r"(.)\1+", r"\1", s)


def _hangul_words(text: str) -> list[str]:
    """Hangul words of a question; a word ending in a particle (스크류를) without it."""
    out: list[str] = []
    for w in _HANGUL_WORD.findall(text):
        for p in _PARTICLES:
            if w.endswith(p) and len(w) - len(p) >= 2:
                w = w[: -len(p)]
                break
        out.append(w)
    return out


def _plausible(word: str, skel: str) -> bool:
    """Enough consonants to trust a match: three, or two spread over three syllables (파우치 = pouch); 호스
    (hose) is too short to tell from a native word."""
    return len(skel) >= _MIN_CONSONANTS or (len(skel) == 2 and len(word) >= 3)


_MIN_SIMILARITY = 0.65
_COMPOUND_SIMILARITY = 0.8  # each half of a compound is short, so it must sound closer


def _sounds_like(hangul: str, candidates: Iterable[str], least: float = _MIN_SIMILARITY) -> list[str]:
    """The candidates (same skeleton) whose spelling with vowels is close to the Hangul word's: a skeleton alone
    also matches native words (주조 "casting" and july share j-l)."""
    sound = hangul_sound(hangul)
    return [w for w in candidates if SequenceMatcher(None, sound, english_sound(w)).ratio() >= least]


class LoanwordIndex:
    """English words of a store's vocabulary by skeleton; ``expand`` finds the ones a Korean question spells."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._by_skel: dict[str, set[str]] = {}
        for word in vocabulary:
            if len(word) >= 3 and word.isascii() and word.isalpha():
                skel = english_skeleton(word)
                if len(skel) >= 2:
                    self._by_skel.setdefault(skel, set()).add(word)

    def expand(self, text: str) -> list[str]:
        """English words (one word, or two whose skeletons join) spelled by the question's Hangul words."""
        found: set[str] = set()
        for word in _hangul_words(text):
            skel = hangul_skeleton(word)
            whole = _sounds_like(word, self._by_skel.get(skel, ())) if _plausible(word, skel) else []
            found.update(whole)
            for cut in range(2, len(word)) if not whole else ():  # one word for two: 체크링 = check + ring
                a, b = word[:cut], word[cut:]
                pa = _sounds_like(a, self._by_skel.get(hangul_skeleton(a), ()), _COMPOUND_SIMILARITY)
                pb = _sounds_like(b, self._by_skel.get(hangul_skeleton(b), ()), _COMPOUND_SIMILARITY)
                if pa and pb:
                    found.update(pa + pb)
        return sorted(found)
