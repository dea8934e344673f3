"""Character error rate (CER) between OCR output and ground truth, after normalisation.

Used by the tests and the benchmarks; needs rapidfuzz (the `dev` extra).

Normalisation (as the corpus MANIFEST advises): Unicode NFKC; curly quotes straightened;
whitespace runs (newlines included) to one space; spaces between two CJK characters
dropped; ends stripped. CER = Levenshtein distance / length of the normalised reference.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
    }
)
_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
)
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = " ".join(text.split())
    return _SPACE_BETWEEN_CJK.sub("", text)


def cer(hypothesis: str, reference: str) -> float:
    """Edit distance per reference character (0.0 = identical; can exceed 1.0)."""
    hyp, ref = normalize(hypothesis), normalize(reference)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(hyp, ref) / len(ref)
