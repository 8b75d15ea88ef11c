"""The terminal's states and its transition table: data, run by ``transitions`` and drawn in
the documentation from the same table.

Waiting states wait for the world (a card, a PIN, the card's removal); every other state does
its work on entry and fires the next trigger itself.

>>> len(TerminalState), len(TRANSITIONS) > 20
(23, True)
>>> sorted(s.name for s in WAITING_STATES)[:2]
['CARD_REMOVAL', 'OFFLINE_PIN']
"""

from __future__ import annotations

from enum import Enum

__all__ = ["TerminalState", "TRANSITIONS", "WAITING_STATES", "CANCELLABLE_STATES"]


class TerminalState(Enum):
    IDLE = "idle"
    WAITING_FOR_CARD = "waiting for the card"
    CARD_READ = "card read"
    APPLICATION_SELECTION = "application selection"
    READING_APPLICATION_DATA = "reading application data"
    OFFLINE_DATA_AUTHENTICATION = "offline data authentication and processing restrictions"
    CARDHOLDER_VERIFICATION = "cardholder verification"
    OFFLINE_PIN = "offline PIN: waiting for the PIN, checked by the card"
    ONLINE_PIN = "online PIN: waiting for the PIN, encrypted for the issuer"
    TERMINAL_RISK_MANAGEMENT = "terminal risk management"  # and action analysis, 1st GENERATE AC
    ONLINE_AUTHORIZATION = "online authorization"
    COMPLETION = "completion (second GENERATE AC)"
    APPROVED = "approved"
    DECLINED = "declined"
    RECEIPT = "receipt"
    CARD_REMOVAL = "card removal"
    CANCELLED = "cancelled"
    ERROR = "error"
    QR_DISPLAYED = "QR code shown: waiting for the wallet to pay"
    PIN_ENTRY = "PIN pad: waiting for the PIN"
    PIN_BLOCK_READY = "PIN pad: PIN block ready"
    RECOVERY = "recovery after a restart"
    TIP_SELECTION = "tip screen: waiting for the cardholder's tip"


S = TerminalState
WAITING_STATES = frozenset(
    {
        S.WAITING_FOR_CARD,
        S.OFFLINE_PIN,
        S.ONLINE_PIN,
        S.PIN_ENTRY,
        S.CARD_REMOVAL,
        S.QR_DISPLAYED,
        S.TIP_SELECTION,
    }
)
CANCELLABLE_STATES = frozenset(
    {S.WAITING_FOR_CARD, S.OFFLINE_PIN, S.ONLINE_PIN, S.PIN_ENTRY, S.QR_DISPLAYED, S.TIP_SELECTION}
)
# States whose work can fail (a card that answers wrongly, a key, the authorizer, the journal)
_FALLIBLE = [
    S.CARD_READ,
    S.APPLICATION_SELECTION,
    S.READING_APPLICATION_DATA,
    S.OFFLINE_DATA_AUTHENTICATION,
    S.OFFLINE_PIN,
    S.ONLINE_PIN,
    S.TERMINAL_RISK_MANAGEMENT,
    S.ONLINE_AUTHORIZATION,
    S.COMPLETION,
    S.RECEIPT,
    S.PIN_ENTRY,
]
# States that can end in a decline: PIN blocked or bypassed, the card's offline decline, the
# issuer's decline (magstripe), the card's AAC after the issuer (chip)
_DECLINING = [
    S.OFFLINE_PIN,
    S.ONLINE_PIN,
    S.TERMINAL_RISK_MANAGEMENT,
    S.ONLINE_AUTHORIZATION,
    S.COMPLETION,
]

# (trigger, source(s), destination): the whole machine.
TRANSITIONS: list[dict[str, object]] = [
    {"trigger": "start_sale", "source": S.IDLE, "dest": S.WAITING_FOR_CARD},
    {"trigger": "start_refund", "source": S.IDLE, "dest": S.WAITING_FOR_CARD},
    {"trigger": "start_preauth", "source": S.IDLE, "dest": S.WAITING_FOR_CARD},
    # a sale with tip choices shows the tip screen before it asks for the card
    {"trigger": "offer_tip", "source": S.IDLE, "dest": S.TIP_SELECTION},
    {"trigger": "tip_chosen", "source": S.TIP_SELECTION, "dest": S.WAITING_FOR_CARD},
    # increment, completion, release, void, tip adjustment: no card, straight to the issuer
    {"trigger": "start_follow_up", "source": S.IDLE, "dest": S.ONLINE_AUTHORIZATION},
    {"trigger": "start_pin_block", "source": S.IDLE, "dest": S.PIN_ENTRY},
    {"trigger": "card_presented", "source": S.WAITING_FOR_CARD, "dest": S.CARD_READ},
    {"trigger": "use_chip", "source": S.CARD_READ, "dest": S.WAITING_FOR_CARD},
    {"trigger": "chip_read", "source": S.CARD_READ, "dest": S.APPLICATION_SELECTION},
    {"trigger": "tap_read", "source": S.CARD_READ, "dest": S.APPLICATION_SELECTION},
    {"trigger": "show_qr", "source": S.CARD_READ, "dest": S.QR_DISPLAYED},
    {"trigger": "wallet_paid", "source": S.QR_DISPLAYED, "dest": S.CARDHOLDER_VERIFICATION},
    {"trigger": "chip_failed", "source": S.APPLICATION_SELECTION, "dest": S.WAITING_FOR_CARD},
    {"trigger": "stripe_read", "source": S.CARD_READ, "dest": S.CARDHOLDER_VERIFICATION},
    {
        "trigger": "application_selected",
        "source": S.APPLICATION_SELECTION,
        "dest": S.READING_APPLICATION_DATA,
    },
    {
        "trigger": "data_read",
        "source": S.READING_APPLICATION_DATA,
        "dest": S.OFFLINE_DATA_AUTHENTICATION,
    },
    {
        "trigger": "authenticated",
        "source": S.OFFLINE_DATA_AUTHENTICATION,
        "dest": S.CARDHOLDER_VERIFICATION,
    },
    {"trigger": "ask_offline_pin", "source": S.CARDHOLDER_VERIFICATION, "dest": S.OFFLINE_PIN},
    {"trigger": "pin_incorrect", "source": S.OFFLINE_PIN, "dest": S.OFFLINE_PIN},
    {"trigger": "ask_online_pin", "source": S.CARDHOLDER_VERIFICATION, "dest": S.ONLINE_PIN},
    {
        "trigger": "verified",
        "source": [S.CARDHOLDER_VERIFICATION, S.OFFLINE_PIN, S.ONLINE_PIN],
        "dest": S.TERMINAL_RISK_MANAGEMENT,
    },
    {"trigger": "go_online", "source": S.TERMINAL_RISK_MANAGEMENT, "dest": S.ONLINE_AUTHORIZATION},
    {"trigger": "authorized", "source": S.ONLINE_AUTHORIZATION, "dest": S.COMPLETION},
    # terminal action analysis chose online, or the card approved offline (TC), or declined
    {"trigger": "approve_offline", "source": S.TERMINAL_RISK_MANAGEMENT, "dest": S.APPROVED},
    {"trigger": "approve", "source": [S.ONLINE_AUTHORIZATION, S.COMPLETION], "dest": S.APPROVED},
    {"trigger": "decline", "source": _DECLINING, "dest": S.DECLINED},
    {"trigger": "print_receipt", "source": [S.APPROVED, S.DECLINED], "dest": S.RECEIPT},
    {"trigger": "ask_removal", "source": S.RECEIPT, "dest": S.CARD_REMOVAL},
    {"trigger": "cancel", "source": list(CANCELLABLE_STATES), "dest": S.CANCELLED},
    {"trigger": "pin_typed", "source": S.PIN_ENTRY, "dest": S.PIN_BLOCK_READY},
    {"trigger": "fail", "source": _FALLIBLE, "dest": S.ERROR},
    {
        "trigger": "finish",
        "source": [S.RECEIPT, S.CARD_REMOVAL, S.CANCELLED, S.ERROR, S.PIN_BLOCK_READY, S.RECOVERY],
        "dest": S.IDLE,
    },
    {"trigger": "power_on", "source": S.IDLE, "dest": S.RECOVERY},
]
