"""Pickled messages over a Unix stream socket, framed by their length: the pipe between the main
process and one worker.

The worker writes whole messages (blocking, one thread at a time); the main process reads whatever
has arrived without ever blocking (`receive`), so a worker that stops or dies half-way through a
message never stalls the run: the partial frame waits in the buffer, and is dropped with the worker.
"""

from __future__ import annotations

import pickle
import socket
import struct
import threading
from collections import deque
from typing import Any

_HEADER = struct.Struct("!Q")
_CHUNK = 1 << 20


class ChannelClosed(Exception):
    """The other end closed the channel (it ended, or died)."""


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False  # no more bytes will arrive (end of file, or an error)
        self._buffer = bytearray()
        self._messages: deque[Any] = deque()
        self._send_lock = threading.Lock()

    @classmethod
    def pair(cls) -> tuple[Channel, socket.socket]:
        """A channel for this process and the socket for the other one (to hand over, then close here)."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        return cls(mine), theirs

    def fileno(self) -> int:
        return self.sock.fileno()

    # -- sending (both sides) -------------------------------------------------------------------
    def send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            self.sock.sendall(_HEADER.pack(len(data)) + data)

    # -- receiving in the worker: blocking ------------------------------------------------------
    def recv(self) -> Any:
        """The next message; waits for it. ChannelClosed at end of file."""
        while not self._messages:
            chunk = self.sock.recv(_CHUNK)
            if not chunk:
                self.closed = True
                raise ChannelClosed
            self._buffer += chunk
            self._split()
        return self._messages.popleft()

    # -- receiving in the main process: never blocking ------------------------------------------
    def receive(self) -> Any | None:
        """The next complete message that has arrived, or None; reads what is waiting, never blocks."""
        if not self._messages and not self.closed:
            self._read_available()
        return self._messages.popleft() if self._messages else None

    def _read_available(self) -> None:
        while True:
            try:
                chunk = self.sock.recv(_CHUNK, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            self._buffer += chunk
        self._split()

    def _split(self) -> None:
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            end = _HEADER.size + size
            if len(self._buffer) < end:
                return
            self._messages.append(pickle.loads(bytes(self._buffer[_HEADER.size : end])))
            del self._buffer[:end]

    def close(self) -> None:
        self.closed = True
        self.sock.close()
