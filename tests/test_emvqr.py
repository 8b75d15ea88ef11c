"""EMVCo merchant-presented QR payloads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.emvqr import build_mpm, parse_mpm
from protocols.errors import RemoteProtocolError

# EMV QR Code Specification for Payment Systems, Merchant-Presented Mode (EMVCo, v1.0),
# the example payload of its appendix (Chinese merchant data in template 64), CRC A13A.
SPEC_EXAMPLE = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN"
    "5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412"
    "340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"
)


def test_the_specification_example_parses_with_its_crc() -> None:
    objects = parse_mpm(SPEC_EXAMPLE)
    assert (objects["54"], objects["53"], objects["59"]) == ("23.72", "156", "BEST TRANSPORT")
    assert objects["64"] == {"00": "ZH", "01": "最佳运输", "02": "北京"}  # type: ignore[comparison-overlap]


def test_a_damaged_payload_is_refused() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_mpm(SPEC_EXAMPLE.replace("23.72", "23.73"))
    with pytest.raises(RemoteProtocolError):
        parse_mpm(SPEC_EXAMPLE[:-8])


@given(
    st.integers(1, 10**9),
    st.sampled_from([978, 392, 414]),
    st.text("ABCDEFGH0123456789-", min_size=1, max_size=25),
)
def test_build_then_parse(minor: int, currency: int, reference: str) -> None:
    amount = f"{minor / 100:.2f}"
    objects = parse_mpm(build_mpm(amount=amount, currency_numeric=currency, reference=reference))
    assert (objects["54"], objects["53"], objects["62"]) == (
        amount,
        f"{currency:03d}",
        {"05": reference},
    )
