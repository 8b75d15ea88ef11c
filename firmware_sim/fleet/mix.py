"""The transaction mix of a fleet, from an INI file: how often each kind runs, and the think
time between a terminal's transactions.

    [mix]            ; relative weights
    sale = 60
    decline = 10     ; a sale for an amount that ends in 51: insufficient funds
    refund = 10      ; a sale, then a refund of part of it
    preauth = 10     ; a pre-authorization, then its completion
    cancel = 10      ; a sale cancelled while the terminal waits for the card
    [think]          ; seconds, uniformly between
    min = 0.5
    max = 2.0

>>> mix = Mix.parse("[mix]\\nsale = 3\\ncancel = 1\\n")
>>> mix.weights, mix.think
({'sale': 3, 'cancel': 1}, (0.5, 2.0))
"""

from __future__ import annotations

import configparser
import random
from dataclasses import dataclass, field

__all__ = ["Mix", "KINDS", "DEFAULT_MIX"]

KINDS = ("sale", "decline", "refund", "preauth", "cancel")
DEFAULT_MIX = "[mix]\nsale = 60\ndecline = 10\nrefund = 10\npreauth = 10\ncancel = 10\n"


@dataclass(frozen=True)
class Mix:
    weights: dict[str, int] = field(default_factory=dict)
    think: tuple[float, float] = (0.5, 2.0)

    @classmethod
    def parse(cls, text: str) -> Mix:
        """ValueError, saying what is wrong, for a file that is not a mix."""
        parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
        try:
            parser.read_string(text)
        except configparser.Error as e:
            raise ValueError(f"not a mix file: {e}") from None
        if not parser.has_section("mix"):
            raise ValueError("a mix file needs a [mix] section: kind = weight")
        weights: dict[str, int] = {}
        for kind, value in parser.items("mix"):
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}: the kinds are {', '.join(KINDS)}")
            if not value.strip().isdigit():
                raise ValueError(f"the weight of {kind} is a whole number, not {value!r}")
            weights[kind] = int(value)
        if not any(weights.values()):
            raise ValueError("every weight is zero: nothing would run")
        think = (0.5, 2.0)
        if parser.has_section("think"):
            try:
                low = parser.getfloat("think", "min", fallback=think[0])
                high = parser.getfloat("think", "max", fallback=think[1])
            except ValueError:
                raise ValueError("think min and max are seconds") from None
            if not 0 <= low <= high:
                raise ValueError("think times need 0 <= min <= max")
            think = (low, high)
        return cls(weights, think)

    def pick(self, rng: random.Random) -> str:
        kinds = [k for k, w in self.weights.items() if w]
        return rng.choices(kinds, [self.weights[k] for k in kinds])[0]
