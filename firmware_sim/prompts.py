"""What the display says, in English and Simplified Chinese (EMV Book 4 11.2 messages).

>>> prompt_text(PromptId.ENTER_PIN, "zh"), prompt_text(PromptId.ENTER_PIN, "fr")
('请输入密码', 'ENTER PIN')
"""

from __future__ import annotations

from protocols.codes import PromptId

__all__ = ["LANGUAGES", "prompt_text"]

LANGUAGES = ("en", "zh")

_TEXTS: dict[PromptId, tuple[str, str]] = {
    PromptId.APPROVED: ("APPROVED", "交易成功"),
    PromptId.CALL_YOUR_BANK: ("CALL YOUR BANK", "请联系发卡行"),
    PromptId.CARD_ERROR: ("CARD ERROR", "卡片错误"),
    PromptId.DECLINED: ("DECLINED", "交易拒绝"),
    PromptId.ENTER_PIN: ("ENTER PIN", "请输入密码"),
    PromptId.INCORRECT_PIN: ("INCORRECT PIN", "密码错误"),
    PromptId.INSERT_CARD: ("INSERT, SWIPE OR TAP CARD", "请插卡、刷卡或挥卡"),
    PromptId.NOT_ACCEPTED: ("NOT ACCEPTED", "不受理"),
    PromptId.PIN_OK: ("PIN OK", "密码正确"),
    PromptId.PLEASE_WAIT: ("PLEASE WAIT", "请稍候"),
    PromptId.PROCESSING_ERROR: ("PROCESSING ERROR", "处理错误"),
    PromptId.REMOVE_CARD: ("REMOVE CARD", "请取卡"),
    PromptId.USE_CHIP_READER: ("USE CHIP READER", "请使用芯片"),
    PromptId.USE_MAG_STRIPE: ("USE MAG STRIPE", "请刷卡"),
    PromptId.AUTHORISING: ("AUTHORISING", "授权中"),
    PromptId.LAST_PIN_TRY: ("LAST PIN TRY", "最后一次密码输入"),
    PromptId.CANCELLED: ("CANCELLED", "交易已取消"),
    PromptId.SCAN_QR_CODE: ("SCAN THE QR CODE TO PAY", "请扫码支付"),
    PromptId.PRINTING_RECEIPT: ("PRINTING RECEIPT", "正在打印凭条"),
    PromptId.CHOOSE_TIP: ("ADD A TIP?", "是否添加小费？"),
    PromptId.PARTIAL_APPROVAL: ("PARTIALLY APPROVED", "部分批准"),
}


def prompt_text(prompt_id: PromptId, language: str) -> str:
    english, chinese = _TEXTS.get(prompt_id, (prompt_id.name.replace("_", " "),) * 2)
    return chinese if language == "zh" else english
