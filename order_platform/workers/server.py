"""The fork server: one process per main process that imports the pipeline once and forks the workers.

Why our own and not multiprocessing's fork server (or a pool library on top of it): multiprocessing
makes each worker re-run the main script (the `dagster` or `order-platform` command: a second of
imports per worker), and its fork server outlives a killed main process while any worker holds its
"client alive" pipe; avoiding both took patching its private internals. Here, on public APIs only:

- The server is a plain `python -c` subprocess (nothing of the main script), that imports the
  pipeline (`PRELOAD`) and builds its caches (`warmup.warm_up`), then waits on its control socket (a
  Unix SOCK_SEQPACKET pair: one message per send, file descriptors passed with `socket.send_fds`).
- "fork" hands it one end of a worker's channel; it forks (it has a single thread), the child runs
  `process.worker_main`, and the server answers with the pid. It reaps its children (SIGCHLD) and
  reports each exit ("exit", pid, code: negative for a signal), and kills one on request ("kill",
  pid): the parent that reaps is the one that kills, so a pid is never reused under our feet.
- "read_ahead" (the CLI's refresh, see read_ahead.py) gives it workbooks to read into cell text while
  it waits: one at a time, a look at the control socket (select, timeout 0) before each, and none after
  the next "fork" (the workers have the cores from then on); the workers inherit what it read. It says
  what it read ("read_ahead", stats) when it stops. `None` stops it and forgets what it read.
- It ignores SIGINT (Ctrl-C reaches the whole process group: the main process decides what stops).
- When the main process ends, however it ends (kill -9 included), the control socket reaches end of
  file: the server SIGKILLs its workers and exits; a worker also dies with the server
  (PR_SET_PDEATHSIG, see process.py), even one that is stopped or stuck in C.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

PRELOAD = [
    "order_platform.workers.process",
    "order_platform.load.factory",
    "order_platform.load.report",
]
_MESSAGE = 1 << 16


# -- the server process ---------------------------------------------------------------------------------
def serve(control_fd: int) -> None:
    """The fork server's main loop (in its own process); returns never."""
    import importlib

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the workers
    from order_platform.workers.collector import quiet_start_up, settle_start_up

    quiet_start_up()  # imports and warm-up make nothing that is garbage
    for module in PRELOAD:
        importlib.import_module(module)
    from order_platform.workers.warmup import warm_up

    warm_up()
    settle_start_up()  # the workers inherit the frozen imports: their collections skip them too
    from order_platform.ingest import read_ahead as sheets
    from order_platform.workers.process import worker_main
    from order_platform.workers.read_ahead import ReadAhead

    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    children: set[int] = set()
    reading: ReadAhead | None = None  # the read-ahead under way, between control messages

    def tell(message: tuple) -> None:
        with contextlib.suppress(OSError):
            control.send(pickle.dumps(message))

    def stop_reading() -> None:
        nonlocal reading
        if reading is not None:
            tell(("read_ahead", reading.stop()))
            reading = None

    while True:
        waiting = 0 if reading is not None else None  # reading ahead: only look whether a message waits
        ready, _, _ = select.select([control.fileno(), wake_r], [], [], waiting)
        if not ready and reading is not None:
            reading.step()
            if not reading.pending:
                stop_reading()
            continue
        if wake_r in ready:
            with contextlib.suppress(OSError):
                os.read(wake_r, 4096)
            for pid, code in _reap():
                children.discard(pid)
                tell(("exit", pid, code))
        if control.fileno() not in ready:
            continue
        try:
            data, fds, _flags, _address = socket.recv_fds(control, _MESSAGE, 1)
        except OSError:
            data, fds = b"", []
        if not data:  # the main process is gone: so are its workers
            for pid in children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            os._exit(0)
        kind, argument = pickle.loads(data)
        if kind == "read_ahead":  # a new one replaces the last; None: stop and forget
            stop_reading()
            sheets.clear()
            if argument is not None:
                reading = ReadAhead(argument)
        elif kind == "fork":
            stop_reading()  # for good: the run's workers take over
            server_pid = os.getpid()
            try:
                pid = os.fork()
            except OSError as exc:  # no memory or process left: this worker fails, the server stays
                os.close(fds[0])
                tell(("forked", -1, exc.errno or 0))
                continue
            if pid == 0:  # the worker
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in (wake_r, wake_w):
                    os.close(fd)
                control.close()
                worker_main(argument, socket.socket(fileno=fds[0]), server_pid)  # ends with os._exit
                os._exit(1)
            os.close(fds[0])
            children.add(pid)
            tell(("forked", pid, 0))
        elif kind == "kill" and argument in children:
            with contextlib.suppress(OSError):
                os.kill(argument, signal.SIGKILL)


def _reap() -> list[tuple[int, int]]:
    ended = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        ended.append((pid, os.waitstatus_to_exitcode(status)))
    return ended


# -- the main process's handle ----------------------------------------------------------------------------
class ServerGone(Exception):
    """The fork server ended (it was killed, or could not import the pipeline)."""


class ForkServer:
    """The main process's end of its fork server: fork workers, kill them, learn how they ended."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        code = (
            "import json, sys; sys.path[:] = json.loads(sys.argv[2]); "
            "from order_platform.workers.server import serve; serve(int(sys.argv[1]))"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno()), json.dumps(sys.path)],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.control = mine
        self.owner = os.getpid()  # a forked copy of this process must start its own server
        self.gone = False
        self.exits: dict[int, int] = {}
        self._forked: list[int] = []
        self.read_ahead_stats: Any = None  # what it said of its last read-ahead (read_ahead.ReadAheadStats)
        self._lock = threading.RLock()

    @property
    def pid(self) -> int:
        return self.process.pid

    def fileno(self) -> int:
        return self.control.fileno()

    def alive(self) -> bool:
        return not self.gone and self.owner == os.getpid() and self.process.poll() is None

    def fork(self, setup: Any, channel_end: socket.socket) -> int:
        """Fork a worker running `worker_main(setup, <channel_end>)`; its pid. Waits while the server is
        still importing the pipeline (it answers once ready)."""
        with self._lock:
            self._send(("fork", setup), [channel_end.fileno()])
            while not self._forked:
                self._receive(block=True)
            pid = self._forked.pop(0)
            if pid <= 0:
                raise OSError(-pid, f"the fork server could not start a worker: {os.strerror(-pid)}")
            return pid

    def read_ahead(self, request: Any) -> None:
        """Have it read workbooks ahead until the next fork (read_ahead.ReadAheadRequest); None: stop, forget."""
        with self._lock:
            self._send(("read_ahead", request))

    def wait_message(self, timeout: float) -> None:
        """Wait up to `timeout` for anything from the server, and read it."""
        with self._lock:
            if not self.gone:
                ready, _, _ = select.select([self.control], [], [], timeout)
                if ready:
                    self._receive(block=False)

    def kill(self, pid: int) -> None:
        with self._lock:
            if pid not in self.exits:
                with contextlib.suppress(ServerGone):
                    self._send(("kill", pid))

    def exitcode(self, pid: int) -> int | None:
        """How the worker ended (negative: the signal), None while it runs; reads what the server said."""
        with self._lock:
            self.poll()
            return self.exits.get(pid)

    def wait_exit(self, pid: int, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while pid not in self.exits and not self.gone and time.monotonic() < deadline:
                ready, _, _ = select.select([self.control], [], [], max(0.0, deadline - time.monotonic()))
                if ready:
                    self._receive(block=False)
            return self.exits.get(pid)

    def forget(self, pid: int) -> None:
        with self._lock:
            self.exits.pop(pid, None)

    def poll(self) -> None:
        """Read every message waiting from the server, never blocking."""
        with self._lock:
            while not self.gone and self._receive(block=False):
                pass

    def _send(self, message: tuple, fds: list[int] | None = None) -> None:
        if self.gone:
            raise ServerGone("the worker fork server has ended")
        try:
            socket.send_fds(self.control, [pickle.dumps(message)], fds or [])
        except OSError as exc:
            self.gone = True
            raise ServerGone(f"the worker fork server has ended ({exc})") from exc

    def _receive(self, block: bool) -> bool:
        try:
            data = self.control.recv(_MESSAGE, 0 if block else socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:
            self.gone = True
            if block:
                raise ServerGone(f"the worker fork server ended (exit code {self.process.poll()})")
            return False
        message = pickle.loads(data)
        if message[0] == "read_ahead":
            self.read_ahead_stats = message[1]
            return True
        kind, pid, code = message
        if kind == "forked":
            self._forked.append(pid if pid > 0 else -code)
        else:
            self.exits[pid] = code
        return True

    def close(self) -> None:
        """End the server (its workers die with it) and reap it."""
        with self._lock:
            self.gone = True
            with contextlib.suppress(OSError):
                self.control.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_server: ForkServer | None = None
_server_lock = threading.Lock()


def fork_server() -> ForkServer:
    """This process's fork server, started when there is none (or the last one ended)."""
    global _server
    with _server_lock:
        if _server is None or not _server.alive():
            if _server is not None and _server.owner == os.getpid():
                _server.close()
            _server = ForkServer()
        return _server


def start_worker_server() -> None:
    """Start the fork server now (it imports the pipeline once, about a second), so a run that follows
    finds it ready: the CLI's refresh calls this before its own imports, the headless refresh before Dagster
    plans the run, so that the two overlap."""
    fork_server()
