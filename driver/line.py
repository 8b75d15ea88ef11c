"""The host's end of the line: the port opened (a device exclusively), bytes written and read
(a POSIX port straight through its descriptor), and each direction recorded into a trace
as whole frames, card data masked. :class:`driver.Terminal` runs its link over one.
"""

from __future__ import annotations

import errno
import os
import select
import time

import serial

from protocols.trace import TraceRecord, WireRecorder, record_line

from .errors import LineLost, PortBusy, PortNotFound

__all__ = ["Line"]


class Line:
    def __init__(
        self,
        port: str | serial.SerialBase,
        *,
        baud: int = 115200,
        trace: str | None = None,
        write_timeout: float = 5.0,
    ) -> None:
        self.url = port if isinstance(port, str) else None
        self._baud = baud
        self._write_timeout = write_timeout
        self._trace = open(trace, "a", encoding="utf-8") if trace else None  # noqa: SIM115
        self._recorders: dict[str, WireRecorder] = {}
        self.serial = self._open() if isinstance(port, str) else port

    def __repr__(self) -> str:
        return repr(self.url or self.serial)

    def reopen(self) -> None:
        """A new connection on the same port (after the line dropped); the trace goes on."""
        self._close_port()
        if self.url is not None:
            self.serial = self._open()

    def close(self) -> None:
        self._close_port()
        if self._trace is not None:
            self._trace.close()
            self._trace = None

    def _close_port(self) -> None:
        try:
            self.serial.close()
        except (serial.SerialException, OSError):
            pass

    def _open(self) -> serial.SerialBase:
        assert self.url is not None
        # a device path is opened exclusively (flock), as a serial port belongs to one program
        options = {} if "://" in self.url else {"exclusive": True}
        try:
            port = serial.serial_for_url(self.url, baudrate=self._baud, timeout=0, **options)
            # what waits in the buffers belongs to whoever had the line before us
            port.reset_input_buffer()
            return port
        except (serial.SerialException, OSError, ValueError) as e:
            number = getattr(e, "errno", None)
            if number in (errno.EAGAIN, errno.EBUSY, errno.EACCES):
                raise PortBusy(
                    f"the port {self.url} is busy or not yours: close the program that has it"
                ) from None
            if number in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EISDIR):
                raise PortNotFound(
                    f"no port {self.url}: give the port `possim terminal` printed"
                ) from None
            raise LineLost(
                f"no terminal at {self.url} ({e}): is `possim terminal` running there?"
            ) from None

    def record(self, direction: str, data: bytes) -> None:
        """Whole frames into the trace, card data masked (see protocols.trace.WireRecorder)."""
        if self._trace is None or not data:
            return
        recorder = self._recorders.setdefault(direction, WireRecorder())
        for _, wire, note in recorder.feed(data, time.monotonic()):
            record = TraceRecord(round(time.time(), 6), "host", "bytes", direction, wire.hex(), note=note)
            self._trace.write(record_line(record) + "\n")
        self._trace.flush()

    def _posix_fd(self) -> int | None:
        """The descriptor of a POSIX port (a tty, a pty), which is read and written directly;
        None for the ports that only pyserial knows how to drive."""
        fd = getattr(self.serial, "fd", None)
        return fd if isinstance(fd, int) and type(self.serial).__name__ == "Serial" else None

    def write(self, data: bytes) -> None:
        """Everything in ``data``; pyserial's write selects for writability before each
        chunk, 13 % of a sale's host time on a pty (docs/benchmarks.md)."""
        fd = self._posix_fd()
        if fd is None:
            self.serial.write(data)
            return
        view = memoryview(data)
        deadline = time.monotonic() + self._write_timeout
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OSError("the line does not take what is written") from None
                select.select([], [fd], [], 0.05)

    def read(self, wait: float) -> bytes:
        """What has arrived, waiting up to ``wait`` seconds for the first byte. A POSIX port
        (a tty, a pty) is read straight from its descriptor: pyserial's timeout setter
        reconfigures the port (tcgetattr, flock, ioctl) on every call, 30 % of a sale's
        host-side time (docs/benchmarks.md). Other ports (socket://, rfc2217://, loop://) go
        through pyserial, with the timeout set only when it changes."""
        fd = self._posix_fd()
        if fd is not None:
            if not select.select([fd], [], [], wait)[0]:
                return b""
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                return b""
            if not data:  # readable and empty: the other end hung up
                raise OSError("the device reports readiness to read but returned no data")
            return data
        if self.serial.timeout != wait:
            self.serial.timeout = wait
        data = bytes(self.serial.read(1))
        if data and self.serial.in_waiting:
            data += self.serial.read(self.serial.in_waiting)
        return data
