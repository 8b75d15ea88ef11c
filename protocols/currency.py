"""ISO 4217 currencies: alphabetic code, numeric code and minor-unit exponent.

The table is ISO 4217 list one (current currencies), without funds, precious metals and
testing codes. An amount travels as an integer of minor units; the exponent says where the
decimal point goes (JPY 0, EUR 2, KWD 3).

>>> by_alpha("KWD")
Currency(alpha='KWD', numeric=414, exponent=3)
>>> format_amount(1234, "EUR"), format_amount(1234, "JPY"), format_amount(1234, "KWD")
('12.34', '1234', '1.234')
>>> parse_amount("12.34", "EUR")
1234
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ErrorCode, FieldError

__all__ = [
    "Currency",
    "CURRENCIES",
    "by_alpha",
    "by_numeric",
    "format_amount",
    "parse_amount",
    "format_money",
    "MAX_MINOR_UNITS",
]


@dataclass(frozen=True)
class Currency:
    alpha: str
    numeric: int
    exponent: int


# alpha numeric exponent, from ISO 4217 list one
_TABLE = """
AED 784 2  AFN 971 2  ALL 008 2  AMD 051 2  AOA 973 2  ARS 032 2  AUD 036 2  AWG 533 2
AZN 944 2  BAM 977 2  BBD 052 2  BDT 050 2  BGN 975 2  BHD 048 3  BIF 108 0  BMD 060 2
BND 096 2  BOB 068 2  BRL 986 2  BSD 044 2  BTN 064 2  BWP 072 2  BYN 933 2  BZD 084 2
CAD 124 2  CDF 976 2  CHF 756 2  CLF 990 4  CLP 152 0  CNY 156 2  COP 170 2  CRC 188 2
CUP 192 2  CVE 132 2  CZK 203 2  DJF 262 0  DKK 208 2  DOP 214 2  DZD 012 2  EGP 818 2
ERN 232 2  ETB 230 2  EUR 978 2  FJD 242 2  FKP 238 2  GBP 826 2  GEL 981 2  GHS 936 2
GIP 292 2  GMD 270 2  GNF 324 0  GTQ 320 2  GYD 328 2  HKD 344 2  HNL 340 2  HTG 332 2
HUF 348 2  IDR 360 2  ILS 376 2  INR 356 2  IQD 368 3  IRR 364 2  ISK 352 0  JMD 388 2
JOD 400 3  JPY 392 0  KES 404 2  KGS 417 2  KHR 116 2  KMF 174 0  KPW 408 2  KRW 410 0
KWD 414 3  KYD 136 2  KZT 398 2  LAK 418 2  LBP 422 2  LKR 144 2  LRD 430 2  LSL 426 2
LYD 434 3  MAD 504 2  MDL 498 2  MGA 969 2  MKD 807 2  MMK 104 2  MNT 496 2  MOP 446 2
MRU 929 2  MUR 480 2  MVR 462 2  MWK 454 2  MXN 484 2  MYR 458 2  MZN 943 2  NAD 516 2
NGN 566 2  NIO 558 2  NOK 578 2  NPR 524 2  NZD 554 2  OMR 512 3  PAB 590 2  PEN 604 2
PGK 598 2  PHP 608 2  PKR 586 2  PLN 985 2  PYG 600 0  QAR 634 2  RON 946 2  RSD 941 2
RUB 643 2  RWF 646 0  SAR 682 2  SBD 090 2  SCR 690 2  SDG 938 2  SEK 752 2  SGD 702 2
SHP 654 2  SLE 925 2  SOS 706 2  SRD 968 2  SSP 728 2  STN 930 2  SVC 222 2  SYP 760 2
SZL 748 2  THB 764 2  TJS 972 2  TMT 934 2  TND 788 3  TOP 776 2  TRY 949 2  TTD 780 2
TWD 901 2  TZS 834 2  UAH 980 2  UGX 800 0  USD 840 2  UYU 858 2  UYW 927 4  UZS 860 2
VED 926 2  VES 928 2  VND 704 0  VUV 548 0  WST 882 2  XAF 950 0  XCD 951 2  XCG 532 2
XOF 952 0  XPF 953 0  YER 886 2  ZAR 710 2  ZMW 967 2  ZWG 924 2
"""


def _load(table: str) -> tuple[Currency, ...]:
    words = table.split()
    return tuple(
        Currency(words[i], int(words[i + 1]), int(words[i + 2])) for i in range(0, len(words), 3)
    )


CURRENCIES: tuple[Currency, ...] = _load(_TABLE)
_BY_ALPHA = {c.alpha: c for c in CURRENCIES}
_BY_NUMERIC = {c.numeric: c for c in CURRENCIES}


def by_alpha(alpha: str, field: str = "currency") -> Currency:
    """The currency with this alphabetic code; FieldError(INVALID_CURRENCY) if none."""
    try:
        return _BY_ALPHA[alpha]
    except (KeyError, TypeError):
        raise FieldError(field, ErrorCode.INVALID_CURRENCY, f"unknown currency {alpha!r}") from None


def by_numeric(numeric: int, field: str = "currency") -> Currency:
    """The currency with this numeric code; FieldError(INVALID_CURRENCY) if none."""
    try:
        return _BY_NUMERIC[numeric]
    except KeyError:
        raise FieldError(
            field, ErrorCode.INVALID_CURRENCY, f"unknown currency number {numeric:03d}"
        ) from None


def format_money(minor_units: int, currency: str) -> str:
    """An amount as a person reads it: the currency and the decimal amount.

    >>> format_money(2000, "EUR"), format_money(500, "JPY")
    ('EUR 20.00', 'JPY 500')
    """
    return f"{currency} {format_amount(minor_units, currency)}"


def format_amount(minor_units: int, currency: str) -> str:
    """Minor units as a decimal string with the currency's exponent."""
    exponent = by_alpha(currency).exponent
    sign = "-" if minor_units < 0 else ""
    digits = str(abs(minor_units)).rjust(exponent + 1, "0")
    if exponent == 0:
        return sign + digits
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


MAX_MINOR_UNITS = 999_999_999_999  # n12: what EMV tag 9F02 and ISO 8583 field 4 carry


def parse_amount(text: str, currency: str, field: str = "amount", *, allow_zero: bool = False) -> int:
    """A plain decimal ("12.34") as minor units. The rule: ASCII digits, then at most the
    currency's exponent of decimals after a point (JPY none); no sign, exponent, spaces or
    thousands separators; greater than zero; at most 12 digits in minor units. Anything else
    is a :class:`FieldError` (a ``ValueError``) that names the rule. ``allow_zero`` lets a
    tip be zero.

    >>> parse_amount("1000", "JPY"), parse_amount("0.5", "EUR"), parse_amount("1.234", "KWD")
    (1000, 50, 1234)
    >>> parse_amount("1e9", "EUR")
    Traceback (most recent call last):
    ...
    protocols.errors.FieldError: amount: '1e9' is not a plain EUR amount: digits with at most 2 decimals, like 12.34 (no sign, exponent or separators)
    """
    exponent = by_alpha(currency).exponent
    pattern = _PLAIN[exponent]
    if not isinstance(text, str) or pattern.fullmatch(text) is None:
        example = "1234" if exponent == 0 else "12." + "3456789"[: exponent]
        decimals = "no decimals" if exponent == 0 else f"at most {exponent} decimals"
        raise FieldError(
            field,
            ErrorCode.INVALID_AMOUNT,
            f"{text!r} is not a plain {currency} amount: digits with {decimals}, like "
            f"{example} (no sign, exponent or separators)",
        )
    whole, _, fraction = text.partition(".")
    minor = int(whole + fraction.ljust(exponent, "0"))
    if not (0 if allow_zero else 1) <= minor <= MAX_MINOR_UNITS:
        largest = format_amount(MAX_MINOR_UNITS, currency)
        least = "zero or more" if allow_zero else "more than zero"
        raise FieldError(
            field,
            ErrorCode.INVALID_AMOUNT,
            f"{text!r} is out of range: {least} and at most {currency} {largest}",
        )
    return minor


_PLAIN = {
    exponent: re.compile(r"[0-9]+" + (rf"(\.[0-9]{{1,{exponent}}})?" if exponent else ""))
    for exponent in range(5)
}
