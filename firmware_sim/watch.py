"""What a trace file and the step display see of a running terminal: whole frames, APDUs
and ZVT APDUs, card data masked (the redaction is :mod:`protocols.trace`'s). The runner
hands them here; nobody watching costs it one test per write.
"""

from __future__ import annotations

import time

from protocols.codes import MessageType
from protocols.frame import Frame
from protocols.trace import TraceRecord, WireRecorder, apdu_fields, frame_fields, record_line
from protocols.zvt.describe import redact_zvt_apdu

from .states import TerminalState

__all__ = ["Watch"]


class Watch:
    """The trace file (JSON lines, appended) if ``trace`` names one, and what the step
    display shows: the last frame either way and the last APDU."""

    def __init__(self, trace: str | None, *, step: bool, zvt: bool) -> None:
        self._trace = open(trace, "a", encoding="utf-8") if trace else None  # noqa: SIM115
        self._step, self._zvt = step, zvt
        self._frames_in = WireRecorder()
        self._frames_out = WireRecorder()
        self.last_frame: tuple[str, Frame] | None = None
        self.last_apdu: tuple[bytes, bytes] | None = None

    @property
    def tracing(self) -> bool:
        return self._trace is not None

    @property
    def watched(self) -> bool:
        """Whether anyone looks (a trace, the step display)."""
        return self._step or self._trace is not None

    def close(self) -> None:
        if self._trace is not None:
            self._trace.close()

    def record(
        self, kind: str, direction: str, data: str, response: str = "", note: str = ""
    ) -> None:
        if self._trace is not None:
            record = TraceRecord(
                round(time.time(), 6), "terminal", kind, direction, data, response, note
            )
            self._trace.write(record_line(record) + "\n")
            self._trace.flush()

    def zvt(self, direction: str, apdu: bytes) -> None:
        """A ZVT APDU, card data masked and the password zeroed."""
        self.record("zvt", direction, redact_zvt_apdu(apdu).hex())

    def apdu(self, command: bytes, response: bytes) -> None:
        self.last_apdu = (command, response)
        self.record("apdu", "out", command.hex(), response.hex())

    def saw_bytes(self, direction: str, data: bytes) -> None:
        if not self.watched or self._zvt:
            return  # nobody looks, or the ZVT personality records whole APDUs (zvt)
        recorder = self._frames_in if direction == "in" else self._frames_out
        for frame, wire, note in recorder.feed(data, time.monotonic()):
            # whole frames, card data masked: what a trace and the step display may show
            self.record("bytes", direction, wire.hex(), note=note)
            if frame is not None and frame.type not in (MessageType.ACK, MessageType.NAK):
                self.last_frame = (direction, frame)

    def step_lines(
        self, trigger: str, source: TerminalState, dest: TerminalState, allowed: list[str]
    ) -> list[str]:
        """The step display of one transition: the event, the last frame and APDU."""
        lines = [
            "",
            f"── step: {source.name} ({source.value})",
            f"   event {trigger} -> {dest.name}",
            f"   allowed now: {', '.join(allowed)}",
        ]
        if self.last_frame is not None:
            direction, frame = self.last_frame
            arrow = "host -> terminal" if direction == "in" else "terminal -> host"
            lines.append(f"   last frame, {arrow}:")
            lines += [f"      {f:<22}{h:<26}{m}" for f, h, m in frame_fields(frame)]
        if self.last_apdu is not None:
            lines.append("   last APDU:")
            lines += [f"      {line}" for line in apdu_fields(*self.last_apdu)]
        return lines
