"""The ``faulty://`` pyserial URL: any port, with line faults in both directions.

faulty:///dev/pts/3?corrupt=0.01&duplicate=0.01&split=1&seed=7
possim sale --port 'faulty://socket://127.0.0.1:7000?drop=0.02' --amount 1.00
"""

from __future__ import annotations

import time
from typing import Any

import serial
from serial.serialutil import PortNotOpenError, SerialException

from driver.faults import LineFaults, parse_faulty_url
from driver.urlhandler.buffered import BufferedSerial

__all__ = ["Serial"]


class Serial(BufferedSerial):
    """A port that wraps another and damages what crosses it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._inner: Any = None
        self.faults_out = LineFaults()
        self.faults_in = LineFaults()
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self._port is None:
            raise SerialException("a faulty:// URL is needed")
        try:
            inner, faults = parse_faulty_url(self.portstr)
        except ValueError as e:
            raise SerialException(str(e)) from None
        self.faults_out = faults
        options = {k: v for k, v in vars(faults).items() if not k.startswith("_") and k != "counts"}
        if faults.seed is not None:
            options["seed"] = faults.seed + 1
        self.faults_in = LineFaults(**options)
        self._inner = serial.serial_for_url(inner, baudrate=self._baudrate, timeout=0)
        self.is_open = True

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
        self.is_open = False

    def from_url(self, url: str) -> None:  # pragma: no cover - pyserial API
        parse_faulty_url(url)

    def _fill(self, wait: float) -> None:
        self._inner.timeout = wait
        data = self._inner.read(1)
        if data and self._inner.in_waiting:
            data += self._inner.read(self._inner.in_waiting)
        if data:
            self._buffer += self.faults_in.apply(data)

    def write(self, data: bytes) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        pause = self.faults_out.pause()
        if pause:
            time.sleep(pause)
        for piece in self.faults_out.pieces(self.faults_out.apply(bytes(data))):
            self._inner.write(piece)
        return len(data)

    def reset_input_buffer(self) -> None:
        self._buffer.clear()
        self._inner.reset_input_buffer()

    def reset_output_buffer(self) -> None:
        self._inner.reset_output_buffer()
