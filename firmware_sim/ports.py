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
import ssl
import time
import tty
from typing import Protocol

import serial

__all__ = ["Port", "PtyPort", "ListenPort", "SerialPort", "PacedPort", "open_port"]


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

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        self._server = socket.create_server((host, port))
        self._client: socket.socket | None = None
        self._waiting: tuple[socket.socket, float] | None = None
        self._tls = tls
        self._handshaking = False
        bound_host, bound_port = self._server.getsockname()[:2]
        self.name = f"socket://{bound_host}:{bound_port}"
        self.refused = 0
        self.bytes_dropped = 0
        self.tls_failures = 0  # connections that did not complete a TLS handshake

    def read(self, timeout: float) -> bytes:
        watched = [self._server] + ([self._client] if self._client else [])
        ready, _, _ = select.select(watched, [], [], timeout)
        data = b""
        pending = isinstance(self._client, ssl.SSLSocket) and self._client.pending()
        if self._client is not None and (self._client in ready or pending):
            data = self._receive(self._client)
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

    def _receive(self, client: socket.socket) -> bytes:
        """What the host sent; b"" with the connection closed when it is gone. Over TLS the
        handshake is driven here, a step at each readiness, so a host that never completes
        it holds nothing up; one that fails it is counted and closed."""
        try:
            if self._handshaking:
                assert isinstance(client, ssl.SSLSocket)
                client.do_handshake()
                self._handshaking = False
            data = client.recv(4096)
            while isinstance(client, ssl.SSLSocket) and client.pending():
                data += client.recv(client.pending())
            if data:
                return data
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return b""  # not a whole record (or handshake message) yet
        except ssl.SSLError:
            self.tls_failures += 1
        except OSError:  # reset by the peer, or keepalive gave up on it
            pass
        client.close()
        self._client = None
        return b""

    def _refuse(self, connection: socket.socket) -> None:
        self.refused += 1
        connection.close()

    def _take(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in self.KEEPALIVE:
            connection.setsockopt(socket.IPPROTO_TCP, option, value)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setblocking(False)
        if self._tls is not None:
            connection = self._tls.wrap_socket(
                connection, server_side=True, do_handshake_on_connect=False
            )
            self._handshaking = True
        self._client = connection

    def write(self, data: bytes) -> None:
        """Send what the socket takes now; the rest is dropped and counted."""
        if self._client is None or self._handshaking:
            return
        try:
            sent = self._client.send(data)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
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


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    """The terminal's TLS: TLS 1.2 or later, the certificate chain and its key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class PacedPort:
    """Another port's writes at the pace of a real line: 10 bits a byte (8N1) at ``baud``,
    each 16-byte piece written when its last bit would arrive (``possim terminal --pace``).
    The times run from when the line fell idle, not from each sleep's end: a sleep that
    wakes late does not slow the line (the next pieces catch up), as a UART's FIFO keeps
    the line busy."""

    PIECE = 16

    def __init__(self, inner: Port, baud: int) -> None:
        self._inner = inner
        self._byte_time = 10 / baud
        self._line_free = 0.0  # when the line has sent what was written (monotonic)
        self.name = inner.name

    @property
    def bytes_dropped(self) -> int:
        return self._inner.bytes_dropped

    @bytes_dropped.setter
    def bytes_dropped(self, value: int) -> None:
        self._inner.bytes_dropped = value

    def __getattr__(self, name: str) -> object:  # the inner port's counters (refused, ...)
        return getattr(self._inner, name)

    def read(self, timeout: float) -> bytes:
        return self._inner.read(timeout)

    def write(self, data: bytes) -> None:
        self._line_free = max(self._line_free, time.monotonic())
        for start in range(0, len(data), self.PIECE):
            piece = data[start : start + self.PIECE]
            self._line_free += len(piece) * self._byte_time
            delay = self._line_free - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._inner.write(piece)

    def close(self) -> None:
        self._inner.close()


def open_port(
    spec: str, baud: int = 115200, cert: str | None = None, key: str | None = None
) -> Port:
    """``pty``, ``listen://HOST:PORT``, ``listen+tls://HOST:PORT`` (with ``cert`` and
    ``key``), or any pyserial URL or device."""
    if spec == "pty":
        return PtyPort()
    for scheme in ("listen://", "listen+tls://"):
        if spec.startswith(scheme):
            host, _, number = spec[len(scheme) :].rpartition(":")
            tls = None
            if scheme == "listen+tls://":
                if not (cert and key):
                    raise ValueError("listen+tls:// needs --cert and --key")
                tls = server_tls(cert, key)
            port = ListenPort(host or "127.0.0.1", int(number), tls)
            if tls is not None:  # the driver's URL; a self-signed certificate is its own CA
                port.name = port.name.replace("socket://", "tls://", 1) + f"?ca={cert}"
            return port
    return SerialPort(spec, baud)
