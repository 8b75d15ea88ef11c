"""The fast codec is construct's own reading of the same schemas: same bytes out, same values
in, and the same inputs refused."""

from __future__ import annotations

from typing import Any

import construct as c
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import any_message

from protocols.codec import compile_struct
from protocols.messages import MESSAGE_CLASSES, Message


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@given(any_message)
def test_same_bytes_as_construct_builds(message: Message) -> None:
    values = message._wire_values()
    assert message._CODEC.encode(values) == message.SCHEMA.build(values)


@given(st.sampled_from(sorted(MESSAGE_CLASSES)), st.binary(max_size=120))
def test_same_values_and_same_refusals_as_construct_parses(message_type: int, data: bytes) -> None:
    cls = MESSAGE_CLASSES[message_type]  # type: ignore[index]
    try:
        expected = plain(cls.SCHEMA.parse(data))
    except Exception as e:  # noqa: BLE001 - any refusal by construct
        with pytest.raises(Exception) as ours:
            cls._CODEC.decode(data)
        assert ours.type is type(e) or isinstance(ours.value, (c.ConstructError, ValueError))
        return
    assert plain(cls._CODEC.decode(data)) == expected


@given(any_message, st.data())
def test_every_truncation_is_refused(message: Message, data: st.DataObject) -> None:
    payload = message._CODEC.encode(message._wire_values())
    if payload:
        cut = data.draw(st.integers(0, len(payload) - 1))
        with pytest.raises((c.ConstructError, ValueError, UnicodeError)):
            message._CODEC.decode(payload[:cut])


def test_unsupported_constructs_are_refused_at_compile_time() -> None:
    with pytest.raises(TypeError):
        compile_struct(c.Struct("x" / c.Float32b))
