"""Receipts, both copies, in English or Simplified Chinese, laid out for a 32-column printer
(a wide character takes two columns, so the values stay aligned in Chinese too).

The cardholder's copy speaks the card's language (tag 5F2D, the first one the terminal
supports); the merchant's copy speaks the terminal's (``--language``).

>>> facts = ReceiptFacts(TransactionKind.SALE, 1234, "EUR", "476173******0010",
...                      EntryMode.CHIP, "approved", "00", "000000000001", "000001",
...                      1_764_000_000, "PIN VERIFIED ONLINE")
>>> print("\\n".join(receipt_lines(facts, "zh", ReceiptCopy.CUSTOMER)))
POSSIM 测试终端
持卡人存根
2025-11-24 16:00:00 UTC
消费
卡号            476173******0010
输入方式                    芯片
EUR 12.34
交易成功
授权码                    000001
参考号              000000000001
已联机验证密码
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocols.codes import EntryMode, ReceiptCopy, TransactionKind
from protocols.currency import format_money

from .dates import utc_text
from .layout import spread
from .prompts import LANGUAGES

__all__ = ["ReceiptFacts", "receipt_lines", "WIDTH"]

WIDTH = 32  # columns of the simulated receipt printer

# key: (English, Simplified Chinese)
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("POSSIM TEST TERMINAL", "POSSIM 测试终端"),
    "customer": ("CARDHOLDER COPY", "持卡人存根"),
    "merchant": ("MERCHANT COPY", "商户存根"),
    "card": ("CARD", "卡号"),
    "entry": ("ENTRY", "输入方式"),
    "no card": ("NO CARD", "无卡"),
    "approved": ("APPROVED", "交易成功"),
    "declined": ("DECLINED", "交易拒绝"),
    "reversed": ("REVERSED - NOT CHARGED", "已冲正 - 未扣款"),
    "auth code": ("AUTH CODE", "授权码"),
    "reference": ("REF", "参考号"),
    "SALE": ("SALE", "消费"),
    "REFUND": ("REFUND", "退货"),
    "PREAUTH": ("PRE-AUTHORIZATION", "预授权"),
    "INCREMENT": ("INCREMENTAL AUTH", "追加预授权"),
    "COMPLETION": ("PRE-AUTH COMPLETION", "预授权完成"),
    "RELEASE": ("PRE-AUTH RELEASE", "预授权撤销"),
    "VOID": ("VOID", "撤销"),
    "TIP_ADJUST": ("TIP ADJUSTMENT", "小费调整"),
    "amount": ("AMOUNT", "金额"),
    "tip": ("TIP", "小费"),
    "total": ("TOTAL", "合计"),
    "requested": ("REQUESTED", "申请金额"),
    "partial": ("APPROVED AMOUNT", "批准金额"),
    "original": ("ORIGINAL REF", "原参考号"),
    "CHIP": ("CHIP", "芯片"),
    "SWIPE": ("SWIPE", "磁条"),
    "TAP": ("TAP", "挥卡"),
    "QR": ("QR", "扫码"),
    "NONE": ("NONE", "无"),
    # cardholder verification, as the core records it
    "PIN VERIFIED ONLINE": ("PIN VERIFIED ONLINE", "已联机验证密码"),
    "PIN VERIFIED": ("PIN VERIFIED", "密码已验证"),
    "NO CVM": ("NO CVM", "免验证"),
    "NO CVM (REFUND)": ("NO CVM (REFUND)", "免验证（退货）"),
    "NO CVM (WALLET)": ("NO CVM (WALLET)", "免验证（钱包）"),
    "NO CVM (CONTACTLESS)": ("NO CVM (CONTACTLESS)", "免验证（非接）"),
}


def _word(key: str, language: str) -> str:
    english, chinese = _WORDS.get(key, (key, key))
    return chinese if language == "zh" else english


@dataclass(frozen=True)
class ReceiptFacts:
    """What a receipt prints, in no language yet."""

    kind: TransactionKind
    amount: int
    currency: str
    masked_pan: str
    entry_mode: EntryMode
    outcome: str  # approved, declined or reversed
    response_code: str
    reference: str
    auth_code: str
    when: int  # Unix seconds
    cvm: str = ""  # the core's cardholder-verification result, in English
    approved_amount: int | None = None  # set when less than amount was approved (partial)
    tip_amount: int = 0
    original_reference: str = ""  # refunds and follow-ups: the transaction they follow
    # chip data for the merchant's copy (label, value): AID, TVR, TSI, ODA, script results
    emv: tuple[tuple[str, str], ...] = ()


def receipt_lines(facts: ReceiptFacts, language: str, copy: ReceiptCopy) -> tuple[str, ...]:
    """The lines of one copy in ``language`` (English for a language the terminal lacks)."""
    language = language if language in LANGUAGES else "en"

    def word(key: str) -> str:
        return _word(key, language)

    stamp = utc_text(facts.when, "%Y-%m-%d %H:%M:%S UTC")
    outcome = word(facts.outcome)
    if facts.outcome == "declined":
        outcome = f"{outcome} ({facts.response_code})"
    lines = [
        word("title"),
        word("customer" if copy is ReceiptCopy.CUSTOMER else "merchant"),
        stamp,
        word(facts.kind.name),
    ]
    if facts.masked_pan:
        lines.append(spread(word("card"), facts.masked_pan, WIDTH))
        if facts.entry_mode is not EntryMode.NONE:  # a follow-up reads no card
            lines.append(spread(word("entry"), word(facts.entry_mode.name), WIDTH))
    else:
        lines.append(word("no card"))
    lines += _amount_lines(facts, word)
    lines.append(outcome)
    if facts.auth_code:
        lines.append(spread(word("auth code"), facts.auth_code, WIDTH))
    if facts.reference:
        lines.append(spread(word("reference"), facts.reference, WIDTH))
    if facts.original_reference:
        lines.append(spread(word("original"), facts.original_reference, WIDTH))
    if facts.cvm:
        lines.append(word(facts.cvm))
    if copy is ReceiptCopy.MERCHANT:
        lines += [spread(label, value, WIDTH) for label, value in facts.emv]
    return tuple(lines)


def _amount_lines(facts: ReceiptFacts, word: Callable[[str], str]) -> list[str]:
    """The amount alone; or, with a tip or a partial approval, each part on its own line.

    >>> facts = ReceiptFacts(TransactionKind.SALE, 2010, "EUR", "", EntryMode.CHIP,
    ...                      "approved", "10", "", "", 0, approved_amount=1005, tip_amount=300)
    >>> print("\\n".join(_amount_lines(facts, lambda key: _word(key, "en"))))
    REQUESTED              EUR 20.10
    APPROVED AMOUNT        EUR 10.05
    TIP                     EUR 3.00
    TOTAL                  EUR 13.05
    """
    money, currency = format_money, facts.currency
    partial = facts.approved_amount is not None and facts.approved_amount != facts.amount
    if not partial and not facts.tip_amount:
        return [money(facts.amount, currency)]
    if partial:
        assert facts.approved_amount is not None
        base = facts.approved_amount
        lines = [
            spread(word("requested"), money(facts.amount, currency), WIDTH),
            spread(word("partial"), money(base, currency), WIDTH),
        ]
    else:
        base = facts.amount
        lines = [spread(word("amount"), money(base, currency), WIDTH)]
    if facts.tip_amount:
        lines.append(spread(word("tip"), money(facts.tip_amount, currency), WIDTH))
        lines.append(spread(word("total"), money(base + facts.tip_amount, currency), WIDTH))
    return lines
