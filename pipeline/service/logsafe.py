"""Text from clients made safe for a log line: control characters escaped.

A path with `%0a` decodes to a newline; written as is it would start a forged log line
(and an ESC sequence could rewrite a terminal). `escape` writes every C0/C1 control
character, DEL and the Unicode line/paragraph separators as `\\xNN` / `\\uNNNN`, the
backslash as `\\\\` (so an escaped text cannot pose as an escape), and lone surrogates
(from JSON `\\ud800`) as `\\udNNN`. It also caps the length.
"""

from __future__ import annotations

import re

MAX_LOGGED_CHARS = 512

_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """`text` with control characters escaped, cut to `limit` characters (marked '...')."""
    if len(text) > limit:
        text = text[:limit] + "..."
    return _UNSAFE.sub(_escaped, text)


def printable(text: str) -> str:
    """`text` encodable as UTF-8 (lone surrogates replaced), for error messages."""
    return text.encode("utf-8", "replace").decode("utf-8")
