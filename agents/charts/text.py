"""Text from a tool result made safe to print on a chart or in a caption: one line, bounded, no control
or format characters (bidi overrides, zero-width characters) that could make it read as something else."""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def clean(text: str, limit: int) -> str:
    """`text` on one line (control and format characters become spaces, runs of space one), at most
    `limit` characters (the last one an ellipsis when cut)."""
    if len(text) > limit * 4:  # a huge value: only its start can be shown anyway
        text = text[: limit * 4]
    kept = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else c for c in text
    )
    one_line = " ".join(kept.split())
    if len(one_line) <= limit:
        return one_line
    return one_line[: max(0, limit - 1)].rstrip() + ELLIPSIS
