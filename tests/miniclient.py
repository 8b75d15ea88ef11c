"""A minimal host built only on protocols/ and pyserial: what the firmware tests drive the
terminal with before the driver library exists, and a check that protocols/ alone suffices."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import serial

from driver.testing import spawn_terminal
from protocols.link import DeliveryFailed, Link, MessageReceived, MessageRejected
from protocols.messages import Error, Message
from tests.pairing import host_guard

ROOT = Path(__file__).resolve().parent.parent


class MiniClient:
    def __init__(self, url: str) -> None:
        self.serial = serial.serial_for_url(url, timeout=0.02)
        self.link = Link(guard=host_guard(url))  # paired when the pairing file says so
        self.received: list[Message] = []

    def close(self) -> None:
        self.serial.close()

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._once()

    def _once(self) -> None:
        out = self.link.data_to_send()
        if out:
            self.serial.write(out)
        data = self.serial.read(4096)
        now = time.monotonic()
        self.link.receive_data(data, now)
        self.link.tick(now)
        for event in self.link.events():
            if isinstance(event, MessageReceived):
                self.received.append(event.message)
            elif isinstance(event, (MessageRejected, DeliveryFailed)):
                raise AssertionError(f"link trouble: {event}")

    def send_raw(self, data: bytes) -> None:
        self.serial.write(data)

    def request(
        self, message: Message, until: type | tuple[type, ...], timeout: float = 15.0
    ) -> list[Message]:
        """Send ``message``; everything received until an ``until`` or an Error arrives."""
        self.received = []
        self.link.send(message, time.monotonic())
        return self.wait_for(until, timeout)

    def wait_for(self, until: type | tuple[type, ...], timeout: float = 15.0) -> list[Message]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self._once()
            if any(isinstance(m, until) or isinstance(m, Error) for m in self.received):
                self.pump(0.05)  # let the last ACK go out
                got, self.received = self.received, []
                return got
        raise TimeoutError(f"no {until} within {timeout} s; got {self.received}")


def possim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``possim ARGS`` in a new process, as a checkout script or a user at a shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "driver.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def start_terminal(*args: str) -> tuple[subprocess.Popen[str], str]:
    """``possim terminal`` as a subprocess (stdin open for a typing cardholder)."""
    return spawn_terminal(*args, stdin=subprocess.PIPE)
