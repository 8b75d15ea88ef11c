"""The terminal's side of the host link: a pty it creates, a TCP listener, or any pyserial
URL or device. None of them blocks on a host that does not read: what the line does not take
is dropped and counted (the link sends again what matters).

Ports: ``pty`` (a pseudo-terminal pair; the driver opens the other end, whose path is
announced), ``listen://HOST:PORT`` (a TCP listener; the driver uses ``socket://HOST:PORT``),
or any pyserial URL or device (``/dev/ttyUSB0``, ``socket://...``, ``rfc2217://...``).
"""

from __future__ import annotations

import os
import select
import socket
import time
import tty
from typing import Protocol

import serial

__all__ = ["Port", "PtyPort", "ListenPort", "SerialPort", "open_port"]


class Port(Protocol):
    name: str
    bytes_dropped: int  # written bytes the line would not take

    def read(self, timeout: float) -> bytes: ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class PtyPort:
    """A pseudo-terminal pair: the runner keeps the master, the driver opens ``name``."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass as they are
        os.set_blocking(self._master, False)  # a host that never reads must not stop us
        self.name = os.ttyname(self._slave)
        self.bytes_dropped = 0

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self._master, 4096)
        except OSError:  # no one has the other end open right now
            time.sleep(timeout)
            return b""

    def write(self, data: bytes) -> None:
        """Write what the line takes now; the rest is dropped and counted (the link resends
        what matters, and a host that does not read would otherwise block the terminal)."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except (BlockingIOError, OSError):
                self.bytes_dropped += len(view)
                return
            view = view[written:]

    def close(self) -> None:
        os.close(self._master)
        os.close(self._slave)


class ListenPort:
    """A TCP listener serving one host at a time. A host that connects while another is
    connected waits up to ``GRACE`` seconds (the other may be closing: its last bytes are
    still being read); if the other is still there then, the newcomer is refused (its
    connection closed, counted): it learns at once that the terminal is taken, and the first
    host's transaction goes on. Keepalive probes find a host that vanished without closing (a
    pulled cable) within about half a minute."""

    GRACE = 1.0
    KEEPALIVE = ((socket.TCP_KEEPIDLE, 10), (socket.TCP_KEEPINTVL, 5), (socket.TCP_KEEPCNT, 3))

    def __init__(self, host: str, port: int) -> None:
        self._server = socket.create_server((host, port))
        self._client: socket.socket | None = None
        self._waiting: tuple[socket.socket, float] | None = None
        bound_host, bound_port = self._server.getsockname()[:2]
        self.name = f"socket://{bound_host}:{bound_port}"
        self.refused = 0
        self.bytes_dropped = 0

    def read(self, timeout: float) -> bytes:
        watched = [self._server] + ([self._client] if self._client else [])
        ready, _, _ = select.select(watched, [], [], timeout)
        data = b""
        if self._client is not None and self._client in ready:
            try:
                data = self._client.recv(4096)
            except OSError:  # reset by the peer, or keepalive gave up on it
                data = b""
            if not data:
                self._client.close()
                self._client = None
        if self._server in ready:
            connection, _ = self._server.accept()
            if self._waiting is not None:
                self._refuse(connection)
            else:
                self._waiting = (connection, time.monotonic())
        if self._waiting is not None:
            connection, since = self._waiting
            if self._client is None:
                self._waiting = None
                self._take(connection)
            elif time.monotonic() - since > self.GRACE:
                self._waiting = None
                self._refuse(connection)
        return data

    def _refuse(self, connection: socket.socket) -> None:
        self.refused += 1
        connection.close()

    def _take(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in self.KEEPALIVE:
            connection.setsockopt(socket.IPPROTO_TCP, option, value)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setblocking(False)
        self._client = connection

    def write(self, data: bytes) -> None:
        """Send what the socket takes now; the rest is dropped and counted."""
        if self._client is None:
            return
        try:
            sent = self._client.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._client.close()
            self._client = None
            return
        self.bytes_dropped += len(data) - sent

    def close(self) -> None:
        for connection in (self._client, self._waiting[0] if self._waiting else None):
            if connection is not None:
                connection.close()
        self._server.close()


class SerialPort:
    """Any pyserial URL or device."""

    def __init__(self, url: str, baud: int) -> None:
        # write_timeout 0: never block on a line that does not drain
        self._serial = serial.serial_for_url(url, baudrate=baud, timeout=0, write_timeout=0)
        self.name = url
        self.bytes_dropped = 0

    def read(self, timeout: float) -> bytes:
        self._serial.timeout = timeout
        first: bytes = self._serial.read(1)
        if not first:
            return b""
        rest: bytes = self._serial.read(self._serial.in_waiting) if self._serial.in_waiting else b""
        return first + rest

    def write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
        except serial.SerialTimeoutException:
            self.bytes_dropped += len(data)  # at most: some may have gone out

    def close(self) -> None:
        self._serial.close()


def open_port(spec: str, baud: int = 115200) -> Port:
    if spec == "pty":
        return PtyPort()
    if spec.startswith("listen://"):
        host, _, number = spec[len("listen://") :].rpartition(":")
        return ListenPort(host or "127.0.0.1", int(number))
    return SerialPort(spec, baud)
