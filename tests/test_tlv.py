"""BER-TLV (EMV Book 3 annex B): our decoder against a plain reference written from the
annex, on arbitrary bytes and on what our encoder makes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocols.errors import RemoteProtocolError
from protocols.tlv import decode_tlv, encode_tlv
from tests.reference import ber_tlv_items

# tags as EMV uses them: one byte (not xF), two bytes (xF then a last byte), three bytes
PRIMITIVE_TAGS = st.sampled_from([0x50, 0x5A, 0x57, 0x82, 0x84, 0x9F02, 0x9F26, 0x5F20, 0xDF8101])
CONSTRUCTED_TAGS = st.sampled_from([0x6F, 0x70, 0x77, 0xA5, 0xBF0C])


def trees(depth: int = 3) -> st.SearchStrategy[list[tuple[int, object]]]:
    leaf = st.tuples(PRIMITIVE_TAGS, st.binary(max_size=300))
    if depth == 0:
        return st.lists(leaf, max_size=4)
    node = st.tuples(CONSTRUCTED_TAGS, st.deferred(lambda: trees(depth - 1)))
    return st.lists(st.one_of(leaf, node), max_size=4)


@given(trees())
def test_what_we_encode_decodes_to_the_same_tree(items: list) -> None:
    encoded = encode_tlv(items)
    assert decode_tlv(encoded) == items
    assert ber_tlv_items(encoded) == items


@given(st.binary(max_size=64))
def test_any_bytes_decode_as_the_reference_says_or_are_refused(data: bytes) -> None:
    expected = ber_tlv_items(data)
    try:
        got = decode_tlv(data)
    except RemoteProtocolError:
        assert expected is None, data.hex()
    else:
        assert got == expected, data.hex()


def test_a_long_length_and_a_three_byte_tag() -> None:
    value = bytes(200)
    data = bytes.fromhex("DF810181C8") + value  # tag DF8101, length 81 C8 = 200
    assert decode_tlv(data) == [(0xDF8101, value)]


def test_truncated_inputs_are_refused() -> None:
    for data in (b"\x5a", b"\x5a\x81", b"\x5a\x05\x01", b"\x9f", b"\x9f\x81\x81\x81\x81\x01\x00"):
        try:
            decode_tlv(data)
        except RemoteProtocolError:
            continue
        raise AssertionError(f"{data.hex()} was accepted")
