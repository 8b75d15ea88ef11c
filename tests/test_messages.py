"""Messages: golden payloads both ways, round trips, and every malformed input refused."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import any_message

from protocols.codes import (
    CancelOutcome,
    Capability,
    EntryMode,
    MessageType,
    PinBlockFormat,
    PinEntry,
    PromptId,
    ReceiptCopy,
    SaleOption,
    TransactionKind,
    TransactionStatus,
)
from protocols.errors import (
    ErrorCode,
    FieldError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from protocols.messages import (
    MAX_PAYLOAD,
    MESSAGE_CLASSES,
    TIP_CUSTOM,
    CancelRequest,
    CancelResponse,
    Counter,
    Error,
    FollowUpRequest,
    InfoRequest,
    InfoResponse,
    KindTotals,
    LastResultRequest,
    LookupRequest,
    MerchantAccepted,
    MerchantLogin,
    Message,
    PinBlockRequest,
    PinBlockResponse,
    PreauthRequest,
    Prompt,
    Receipt,
    RefundRequest,
    SaleRequest,
    SetPassword,
    SettlementRequest,
    SettlementResponse,
    SimAccepted,
    SimChooseTip,
    SimEnterPin,
    SimPowerCycle,
    SimPresentCard,
    SimPressCancel,
    SimRemoveCard,
    StatusRequest,
    StatusResponse,
    TransactionResult,
    decode_payload,
    encode_payload,
)
from protocols.pairing_messages import (
    PairBegin,
    PairingEntry,
    PairingsRequest,
    PairingsResponse,
    PairingStep,
    PairKey,
    PairStep,
    PairStepAnswer,
)

# Payloads written out by hand from the field tables of docs/protocol.md.
GOLDEN: list[tuple[Message, str]] = [
    (InfoRequest(), "0000"),
    (SaleRequest("T1", 1234, "EUR", request_id=0x0102), "0102 02 5431 000000001234 0978 00 00"),
    (
        SaleRequest("T1", 1234, "EUR", SaleOption.ALLOW_PARTIAL, (10, 15, 20)),
        "0000 02 5431 000000001234 0978 01 03 0a 0f 14",
    ),
    (PreauthRequest("H1", 5000, "EUR"), "0000 02 4831 000000005000 0978 00"),
    (
        FollowUpRequest("C1", TransactionKind.COMPLETION, "000000000001", 4200, "EUR", 500),
        "0000 02 4331 05 0c 303030303030303030303031 000000004200 0978 000000000500",
    ),
    (SimChooseTip(TIP_CUSTOM, 250), "0000 ff 000000000250"),
    (RefundRequest("R1", 500, "JPY", "ABC123"), "0000 02 5231 000000000500 0392 06 414243313233"),
    (
        PinBlockRequest("4012345678909", PinBlockFormat.ISO_4),
        "0000 0d 34303132333435363738393039 04",
    ),
    (CancelRequest(), "0000"),
    (LastResultRequest(), "0000"),
    (LookupRequest("T1"), "0000 02 5431"),
    (SettlementRequest(), "0000"),
    (
        InfoResponse(1, "0.1.0", "SN1", Capability.CHIP | Capability.PIN_PAD),
        "0000 01 05 302e312e30 03 534e31 0011",
    ),
    (
        TransactionResult(
            client_transaction_id="T1",
            kind=TransactionKind.SALE,
            status=TransactionStatus.DECLINED,
            response_code="51",
            auth_code="",
            reference="000000000001",
            amount=1251,
            currency="KWD",
            masked_pan="476173******0010",
            entry_mode=EntryMode.SWIPE,
            original_reference="",
            time=1_764_000_000,
        ),
        "0000 02 5431 01 01 3531 00 0c 303030303030303030303031 000000001251 0414"
        " 10 3437363137332a2a2a2a2a2a30303130 02 00 69248100 000000000000 000000000000",
    ),
    (Receipt("T1", ReceiptCopy.MERCHANT, ("A", "价")), "0000 02 5431 02 02 01 41 03 e4bbb7"),
    (
        PinBlockResponse(
            PinBlockFormat.ISO_0,
            bytes.fromhex("1B9C1845EB993A7A"),
            bytes.fromhex("FFFF9876543210E00001"),
        ),
        "0000 00 08 1b9c1845eb993a7a 0a ffff9876543210e00001",
    ),
    (CancelResponse(CancelOutcome.TOO_LATE, request_id=0xFFFF), "ffff 01"),
    (
        SettlementResponse(7, (KindTotals("EUR", TransactionKind.SALE, 2, 2468),)),
        "0000 00000007 01 0978 01 00000002 00000000000009a4",
    ),
    (
        Prompt(PromptId.ENTER_PIN, "zh", "请输入密码"),
        "0000 09 7a68 0f e8afb7e8be93e585a5e5af86e7a081",
    ),
    (Error(ErrorCode.INVALID_AMOUNT, "amount", "x", request_id=0x0102), "0102 0101 06 616d6f756e74 01 78"),
    (SimPresentCard("default", EntryMode.TAP), "0000 07 64656661756c74 03"),
    (SimEnterPin(PinEntry.WRONG), "0000 01"),
    (SimPressCancel(), "0000"),
    (SimRemoveCard(), "0000"),
    (SimPowerCycle(), "0000"),
    (SimAccepted(), "0000"),
    # request id, then u8 length and the ASCII ("secret1" = 73 65 63 72 65 74 31)
    (MerchantLogin("secret1", request_id=4), "0004" "07" "73656372657431"),
    # an empty current password is a zero length
    (SetPassword("", "merchant-42", request_id=5), "0005" "00" "0b" "6d65726368616e742d3432"),
    (MerchantAccepted(request_id=4), "0004"),
    (PairBegin(bytes(range(32)), "till", request_id=6), "0006" + bytes(range(32)).hex() + "04" "74696c6c"),
    (
        PairKey(bytes(32), bytes.fromhex("0102030405060708"), "POSSIM01", request_id=6),
        "0006" + "00" * 32 + "0102030405060708" "08" "504f5353494d3031",
    ),
    (PairStep(PairingStep.OPEN, 2, bytes(16), request_id=7), "0007" "02" "02" "10" + "00" * 16),
    (
        PairStepAnswer(PairingStep.COMMIT, 5, b"\xff" * 32, request_id=7),
        "0007" "01" "05" "20" + "ff" * 32,
    ),
    (PairingsRequest(request_id=8), "0008" "00" "0000000000000000"),
    (
        PairingsResponse((PairingEntry(bytes(8), "till", 1_764_000_000),), request_id=8),
        "0008" "01" "0000000000000000" "04" "74696c6c" "69248100",
    ),
    (StatusRequest(request_id=3), "0003"),
    (
        StatusResponse(
            "WAITING_FOR_CARD", 1, "T1", 1234, "EUR", "", (Counter("sessions", 2),), request_id=3
        ),
        "0003 10 57414954494e475f464f525f43415244 01 02 5431 00000000000004d2 03 455552 00"
        " 01 08 73657373696f6e73 00000002",
    ),
]


def test_golden_covers_every_message_type() -> None:
    assert {type(m) for m, _ in GOLDEN} == set(MESSAGE_CLASSES.values())


@pytest.mark.parametrize(("message", "payload_hex"), GOLDEN, ids=lambda x: type(x).__name__)
def test_golden_encode(message: Message, payload_hex: str) -> None:
    assert encode_payload(message) == bytes.fromhex(payload_hex)


@pytest.mark.parametrize(("message", "payload_hex"), GOLDEN, ids=lambda x: type(x).__name__)
def test_golden_decode(message: Message, payload_hex: str) -> None:
    assert decode_payload(message.TYPE, bytes.fromhex(payload_hex)) == message


@given(any_message)
def test_build_then_parse_round_trips(message: Message) -> None:
    assert decode_payload(message.TYPE, encode_payload(message)) == message


@given(st.sampled_from(sorted(MESSAGE_CLASSES)), st.binary(max_size=300))
def test_any_payload_decodes_or_raises_remote_protocol_error(
    message_type: MessageType, payload: bytes
) -> None:
    try:
        message = decode_payload(message_type, payload)
    except RemoteProtocolError as e:
        assert isinstance(e.error_code, ErrorCode)
    else:
        assert encode_payload(message) == payload  # a payload that parses is canonical


@given(any_message, st.binary(min_size=1, max_size=4))
def test_trailing_bytes_are_malformed(message: Message, extra: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_payload(message.TYPE, encode_payload(message) + extra)
    assert info.value.error_code is ErrorCode.MALFORMED_MESSAGE


SALE = "0000 02 5431 000000001234 0978"

BAD_PAYLOADS = [
    # (type, payload hex, expected code, expected field)
    (MessageType.SALE_REQUEST, "0001 02 5431 00000000123a 0978 00 00", ErrorCode.MALFORMED_MESSAGE, "amount"),
    (MessageType.SALE_REQUEST, "0001 02 5431 000000000000 0978 00 00", ErrorCode.INVALID_AMOUNT, "amount"),
    (MessageType.SALE_REQUEST, "0001 02 5431 000000001234 0999 00 00", ErrorCode.INVALID_CURRENCY, "currency"),
    (MessageType.SALE_REQUEST, "0001 02 5431 000000001234 09", ErrorCode.MALFORMED_MESSAGE, None),
    (
        MessageType.SALE_REQUEST,
        "0001 00 000000001234 0978 00 00",
        ErrorCode.INVALID_TRANSACTION_ID,
        "client_transaction_id",
    ),
    (MessageType.SALE_REQUEST, "0001 02 54ff 000000001234 0978 00 00", ErrorCode.MALFORMED_MESSAGE, None),
    (
        MessageType.SALE_REQUEST,
        "0001 02 5420 000000001234 0978 00 00",
        ErrorCode.INVALID_TRANSACTION_ID,
        "client_transaction_id",
    ),
    (
        MessageType.REFUND_REQUEST,
        "0001 02 5231 000000000500 0392 06 4142432d3132",
        ErrorCode.INVALID_REFERENCE,
        "original_reference",
    ),
    (
        MessageType.PIN_BLOCK_REQUEST,
        "0001 0d 34303132333435363738393038 00",
        ErrorCode.INVALID_PAN,
        "pan",
    ),
    (MessageType.PIN_BLOCK_REQUEST, "0001 0b 3430313233343536373839 00", ErrorCode.INVALID_PAN, "pan"),
    (
        MessageType.PIN_BLOCK_REQUEST,
        "0001 0d 34303132333435363738393039 01",
        ErrorCode.INVALID_PIN_BLOCK_FORMAT,
        "format",
    ),
    (MessageType.SIM_PRESENT_CARD, "0001 07 64656661756c74 00", ErrorCode.INVALID_FIELD, "entry_mode"),
    (MessageType.SIM_PRESENT_CARD, "0001 07 64656661756c74 09", ErrorCode.INVALID_FIELD, "entry_mode"),
    (MessageType.SIM_ENTER_PIN, "0001 07", ErrorCode.INVALID_FIELD, "entry"),
    # protocol 3: sale options and tips, pre-authorization, follow-ups, the tip screen
    (MessageType.SALE_REQUEST, "0001 02 5431 000000001234 0978 80 00", ErrorCode.INVALID_FIELD, "options"),
    (
        MessageType.SALE_REQUEST,
        "0001 02 5431 000000001234 0978 00 02 0a 65",
        ErrorCode.INVALID_FIELD,
        "tip_percentages",
    ),
    (
        MessageType.SALE_REQUEST,
        "0001 02 5431 000000001234 0978 00 05 0a 0a 0a 0a 0a",
        ErrorCode.INVALID_FIELD,
        "tip_percentages",
    ),
    (MessageType.PREAUTH_REQUEST, "0001 02 5431 000000000000 0978 00", ErrorCode.INVALID_AMOUNT, "amount"),
    (
        MessageType.FOLLOW_UP_REQUEST,
        "0001 02 5431 01 01 31 000000001000 0978 000000000000",
        ErrorCode.INVALID_FIELD,
        "kind",
    ),
    (
        MessageType.FOLLOW_UP_REQUEST,
        "0001 02 5431 07 01 31 000000001000 0978 000000000000",
        ErrorCode.INVALID_AMOUNT,
        "amount",
    ),
    (
        MessageType.FOLLOW_UP_REQUEST,
        "0001 02 5431 04 01 31 000000001000 0978 000000000100",
        ErrorCode.INVALID_AMOUNT,
        "tip_amount",
    ),
    (
        MessageType.FOLLOW_UP_REQUEST,
        "0001 02 5431 05 00 000000001000 0978 000000000000",
        ErrorCode.INVALID_REFERENCE,
        "original_reference",
    ),
    (MessageType.SIM_CHOOSE_TIP, "0001 05 000000000000", ErrorCode.INVALID_FIELD, "choice"),
    (MessageType.SIM_CHOOSE_TIP, "0001 ff 000000000000", ErrorCode.INVALID_AMOUNT, "tip_amount"),
    (MessageType.PROMPT, "0001 09 7a68 02 c328", ErrorCode.MALFORMED_MESSAGE, None),
    (MessageType.INFO_REQUEST, "0001 00", ErrorCode.MALFORMED_MESSAGE, None),
    (0x99, "0001 ", ErrorCode.UNKNOWN_MESSAGE_TYPE, None),
]


@pytest.mark.parametrize(("message_type", "payload_hex", "code", "field"), BAD_PAYLOADS)
def test_bad_payloads_get_their_documented_code(
    message_type: int, payload_hex: str, code: ErrorCode, field: str | None
) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_payload(message_type, bytes.fromhex(payload_hex))
    assert info.value.error_code is code
    assert info.value.field == field


def test_a_message_breaking_the_input_rules_cannot_be_made() -> None:
    with pytest.raises(FieldError) as info:
        SaleRequest("T1", 0, "EUR")
    assert (info.value.field, info.value.error_code) == ("amount", ErrorCode.INVALID_AMOUNT)
    with pytest.raises(FieldError):
        SaleRequest("T1", 1_000_000_000_000, "EUR")
    with pytest.raises(FieldError):
        SaleRequest("T1", 100, "XXX")
    with pytest.raises(FieldError):
        SaleRequest("x" * 33, 100, "EUR")
    with pytest.raises(FieldError):
        PinBlockRequest("4012345678909", 1)  # type: ignore[arg-type]


def test_a_receipt_too_long_for_a_frame_is_a_local_error() -> None:
    receipt = Receipt("T1", ReceiptCopy.CUSTOMER, tuple("价" * 48 for _ in range(48)))
    with pytest.raises(LocalProtocolError) as info:
        encode_payload(receipt)
    assert info.value.error_code is ErrorCode.MESSAGE_TOO_LONG
    assert "payload is" in str(info.value) and str(MAX_PAYLOAD) in str(info.value)


def test_an_unknown_error_code_from_a_newer_peer_is_kept_as_a_number() -> None:
    assert decode_payload(MessageType.ERROR, bytes.fromhex("0000 0999 00 00")) == Error(0x0999, "", "")


def test_errors_pickle_with_their_code_and_field() -> None:
    for error in (
        RemoteProtocolError("x", error_code=ErrorCode.INVALID_PAN, field="pan"),
        LocalProtocolError("y", error_code=ErrorCode.QUEUE_FULL),
        FieldError("amount", ErrorCode.INVALID_AMOUNT, "too big"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.error_code is error.error_code
        assert getattr(copy, "field", None) == getattr(error, "field", None)


def test_protocol_error_is_abstract() -> None:
    with pytest.raises(TypeError):
        ProtocolError("x")
