"""Advance widths of the standard Type 1 fonts, for placing words on a PDF page.

A PDF that uses one of the 14 standard fonts (Helvetica, Times, Courier, ...) need not carry
its widths; a reader takes them from the font's Adobe metrics. The Helvetica widths below are
the AFM values for printable ASCII (1/1000 em); Courier is fixed-pitch 600. Other standard
faces are approximated by Helvetica [GUESS: close enough for word boxes, not for typesetting].
"""

from __future__ import annotations

__all__ = ["COURIER_WIDTH", "HELVETICA_WIDTHS", "standard_width"]

_HELVETICA_ASCII = (
    # 32-63: space ! " # $ % & ' ( ) * + , - . / 0-9 : ; < = > ?
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    # 64-95: @ A-Z [ \ ] ^ _
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    # 96-126: ` a-z { | } ~
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)  # fmt: skip

#: Character code -> width (1/1000 em) for Helvetica, codes 32-126.
HELVETICA_WIDTHS: dict[int, int] = {32 + i: w for i, w in enumerate(_HELVETICA_ASCII)}
COURIER_WIDTH = 600
#: The Euro sign in WinAnsiEncoding (code 128), 556 wide in Helvetica.
HELVETICA_WIDTHS[128] = 556


def standard_width(base_font: str, code: int) -> int:
    """Width of ``code`` in a standard font named ``base_font`` (subset prefix allowed)."""
    if "Courier" in base_font:
        return COURIER_WIDTH
    return HELVETICA_WIDTHS.get(code, 556)
