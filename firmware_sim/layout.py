"""Text laid out for a fixed-width display or printer: widths that count East Asian wide
characters as two columns, and tables whose columns fit their content.

>>> display_width("价格"), display_width("EUR")
(4, 3)
>>> print("\\n".join(table(["card", "PAN"], [["declines-offline", "4761739001010085"]])))
card              PAN
declines-offline  4761739001010085
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

__all__ = ["display_width", "pad", "spread", "table"]


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal or a receipt printer."""
    if text.isascii():  # most receipt lines: a column a character
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` columns."""
    return text + " " * max(0, width - display_width(text))


def spread(left: str, right: str, width: int) -> str:
    """``left`` at the left edge and ``right`` at the right edge of ``width`` columns.

    >>> spread("金额", "EUR 1.00", 16)
    '金额    EUR 1.00'
    """
    gap = max(1, width - display_width(left) - display_width(right))
    return left + " " * gap + right


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], gap: int = 2) -> list[str]:
    """Lines of a table whose columns are as wide as their widest cell; the last column is
    not padded."""
    widths = [max(display_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return [
        "".join(pad(cell, widths[i] + gap) for i, cell in enumerate(row[:-1])) + row[-1]
        for row in [headers, *rows]
    ]
