"""TR-31 key blocks: published examples unwrap to their keys and check values, wrap
reproduces them, and a forged, damaged or misused block is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.errors import KeyBlockError, KeyUsageError
from keys.tr31 import KeyBlockHeader, Operation, key_check_value, require_use, unwrap, wrap

# (source, KBPK, key block, key, KCV)
PUBLISHED = [
    (
        "TR-31:2018 A.7.2.2",
        "DD7515F2BFC17F85CE48F3CA25CB21F6",
        "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E",
        "3F419E1CB7079442AA37474C2EFBF8B8",
        "57C409",
    ),
    (
        "TR-31:2018 A.7.3.2",
        "1D22BF32387C600AD97F9B97A51311AC",
        "B0104B0TX12S0100KS1800604B120F9292800000BB68BE8680A400D9191AD4ECE45B6E6C0D21C4738A52190E"
        "248719E24B433627",
        "E8BC63E5479455E26577F715D587FE68",
        "9A4212",
    ),
    (
        "TR-31:2018 A.7.4",
        "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6",
        "D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA"
        "05F7425509593D03A457DC34",
        "3F419E1CB7079442AA37474C2EFBF8B8",
        "08793E",
    ),
    (
        "ANSI X9.143:2021 8.1",
        "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6",
        "D0144P0AE00E00002C77FA3F4A553BED6E88AE5C172A4166E3D4ACA8E2AC71C158A476FAC12C13C3829DE55D"
        "3AB54C48F4C4FEF7AC75E90FC47F1B77E7B19A73ED46E64410082557",
        "3F419E1CB7079442AA37474C2EFBF8B8",
        "08793E",
    ),
    (
        "ANSI X9.143:2021 8.4.2",
        "1D22BF32387C600AD97F9B97A51311AC",
        "B0120B0TX12S0100KS1800604B120F929280000015CEB14B76D551F21EC43A75390FA118A98C6CB049E3B9E8"
        "64A5F4A8B9A5108A6DB5635C95B042D7",
        "E8BC63E5479455E26577F715D587FE68",
        "9A4212",
    ),
]


@pytest.mark.parametrize(("source", "kbpk", "block", "key", "kcv"), PUBLISHED, ids=lambda v: v)
def test_published_key_blocks_unwrap(
    source: str, kbpk: str, block: str, key: str, kcv: str
) -> None:
    header, clear = unwrap(bytes.fromhex(kbpk), block)
    assert clear.hex().upper() == key
    assert key_check_value(clear, header.algorithm).hex().upper() == kcv


def test_ksn_optional_block_is_read() -> None:
    _, kbpk, block, _, _ = PUBLISHED[1]
    header, _ = unwrap(bytes.fromhex(kbpk), block)
    assert header.key_usage == "B0" and header.block("KS") == "00604B120F9292800000"


def test_wrap_reproduces_the_version_d_example() -> None:
    # TR-31:2018 A.7.4 gives the padding: 1C2965473CE206BB855B01533782.
    _, kbpk, block, key, _ = PUBLISHED[2]
    header = KeyBlockHeader("D", "P0", "A", "E", "00", "E")
    padding = bytes.fromhex("1C2965473CE206BB855B01533782")
    assert wrap(bytes.fromhex(kbpk), header, bytes.fromhex(key), padding=padding) == block


kbpk_b = st.sampled_from([16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
kbpk_d = st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n))


@given(st.data())
def test_wrap_then_unwrap_round_trips(data: st.DataObject) -> None:
    version = data.draw(st.sampled_from(["B", "D"]))
    kbpk = data.draw(kbpk_b if version == "B" else kbpk_d)
    sizes = [8, 16, 24] if version == "B" else [16, 24, 32]
    key = data.draw(st.sampled_from(sizes).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
    blocks = data.draw(
        st.sampled_from([(), (("KS", "FFFF9876543210E00000"),), (("IK", "12" * 8),)])
    )
    header = KeyBlockHeader(
        version, "P0", "T" if version == "B" else "A", "E", optional_blocks=blocks
    )
    got_header, got_key = unwrap(kbpk, wrap(kbpk, header, key))
    assert (got_header, got_key) == (header, key)


@given(st.integers(min_value=16, max_value=111), st.sampled_from("0123456789ABCDEF"))
def test_any_altered_character_is_refused(position: int, replacement: str) -> None:
    _, kbpk, block, _, _ = PUBLISHED[2]
    if block[position] == replacement:
        return
    altered = block[:position] + replacement + block[position + 1 :]
    with pytest.raises(KeyBlockError):
        unwrap(bytes.fromhex(kbpk), altered)


def test_wrong_kbpk_header_change_or_length_is_refused() -> None:
    _, kbpk, block, _, _ = PUBLISHED[2]
    with pytest.raises(KeyBlockError):
        unwrap(bytes(32), block)
    with pytest.raises(KeyBlockError):
        unwrap(bytes.fromhex(kbpk), block.replace("P0AE", "D0AE", 1))  # usage altered: MAC fails
    with pytest.raises(KeyBlockError):
        unwrap(bytes.fromhex(kbpk), block[:-2])
    with pytest.raises(KeyBlockError):
        unwrap(bytes.fromhex(kbpk), "A" + block[1:])


def test_headers_with_extended_length_and_padding_blocks() -> None:
    header, size = KeyBlockHeader.parse("D0000P0AE00N0200KS00011600604B120F9292PB0A000000xxxx")
    assert size == 48 and header.optional_blocks == (("KS", "00604B120F9292"),)
    with pytest.raises(KeyBlockError):
        KeyBlockHeader.parse("D0000P0AE00N0100KS1Z00604B")


@pytest.mark.parametrize(
    ("usage", "mode", "operation", "allowed"),
    [
        ("P0", "E", Operation.ENCRYPT_PIN, True),
        ("P0", "E", Operation.DECRYPT_PIN, False),
        ("P0", "B", Operation.DECRYPT_PIN, True),
        ("D0", "B", Operation.ENCRYPT_PIN, False),  # a data key refuses to encrypt a PIN
        ("M3", "G", Operation.GENERATE_MAC, True),
        ("M3", "G", Operation.VERIFY_MAC, False),
        ("B0", "X", Operation.DERIVE_KEYS, True),
        ("B0", "X", Operation.ENCRYPT_DATA, False),
        ("E0", "X", Operation.APPLICATION_CRYPTOGRAM, True),
        ("E0", "X", Operation.DERIVE_KEYS, False),
    ],
)
def test_key_usage_and_mode_of_use(
    usage: str, mode: str, operation: Operation, allowed: bool
) -> None:
    header = KeyBlockHeader("D", usage, "A", mode)
    if allowed:
        require_use(header, operation)
    else:
        with pytest.raises(KeyUsageError):
            require_use(header, operation)


def test_key_check_values() -> None:
    # TDES legacy KCV of the X9.24-1 test BDK; AES-CMAC KCV of key 00112233...EEFF
    # (ANSI X9.24-1-2017: CMAC of a zero block).
    assert key_check_value(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), "T").hex() == "08d7b4"
    aes = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    assert key_check_value(aes, "A").hex().upper() == "53E107"
