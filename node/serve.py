"""`hearth serve`: the pod in this process, or `server.workers` processes of it.

With several, this process binds the listening sockets and supervises: the first process (the
primary, see node/workers.py) starts alone, so that it migrates the database and recovers what a
stop interrupted before anyone else opens it; then the others start, each accepting on a socket
of its own on the same port (see `bind`). A process other than the primary that dies is started
again; if the primary dies, the others are stopped and `serve` fails, so that the service
manager restarts the pod, recovery included. SIGTERM or SIGINT stops every process cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import errno
import logging
import multiprocessing
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from node.api.spread import ConnectionCounts
from node.api.traffic import CLASSES, Traffic
from node.collector import settle
from node.config import NodeConfig
from node.eventloop import chosen, new_loop
from node.logs import tag_process
from node.store.turn import TurnBoard
from node.workers import Wakes, WorkerRole

log = logging.getLogger("hearth")

_STOPS = {signal.SIGTERM, signal.SIGINT}
_SIGNALS = {signal.SIGCHLD, *_STOPS}
# How long, after a starting process died of a stop signal, `serve` waits for its own.
_STOP_GRACE = 1.0
# A process dying sooner than this after its start waits this long before the next start.
_RESTART_PAUSE = 1.0
# How long the processes have to stop cleanly before they are killed.
_STOP_SECONDS = 70.0


class ServeError(Exception):
    """The pod cannot start or stopped on its own: one line for the operator."""


def bind(config: NodeConfig, count: int = 1) -> list[socket.socket]:
    """The listening sockets: one, or for several processes on Linux one each, on the same port
    (SO_REUSEPORT), so that the kernel spreads the connections among them. On one shared socket
    the process that wakes first would accept every connection waiting, and a few long-lived
    ones (a reverse proxy's) could all end up in one process."""
    return _listen(config.server.host, config.server.port, count)


def check_host(host: str) -> None:
    """ServeError unless `serve` can listen on `host` (on a port of the system's choice, the
    configured one may be taken until then): what `hearth init` checks before writing it."""
    for sock in _listen(host, 0, 1):
        sock.close()


def _listen(host: str, port: int, count: int) -> list[socket.socket]:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError:
        raise ServeError(f"server.host: cannot listen on {host}") from None
    spread = count > 1 and sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")
    socks: list[socket.socket] = []
    try:
        for _ in range(count if spread else 1):
            sock = socket.socket(family, kind, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if spread:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            address = sock.getsockname()  # port 0: the others take the port the first got
            sock.listen(1024)
            sock.setblocking(False)
    except OSError as exc:
        for sock in socks:
            sock.close()
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ServeError(f"server.host: cannot listen on {host}") from None
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise ServeError(f"server.port: cannot listen on {host}:{port} ({exc})") from None
        raise ServeError(f"cannot start: {exc}") from None
    return socks


def serve(config: NodeConfig) -> None:
    socks = bind(config, config.server.workers)
    try:
        if config.server.workers == 1:
            _run(config, socks[0], None, None)
        else:
            _Supervisor(config, socks).run()
    finally:
        for sock in socks:
            sock.close()


def _run(
    config: NodeConfig,
    sock: socket.socket,
    role: WorkerRole | None,
    traffic: Traffic | None,
    ready: Callable[[], None] | None = None,
) -> None:
    from node.app import create_app  # here: a bad config is reported before the app loads

    app = create_app(config, role=role, traffic=traffic)

    async def started(app: web.Application) -> None:
        # After every cleanup context has started (they come first in on_startup).
        settle()
        if ready is not None:
            ready()
        if role is None:  # several: the supervisor says so once all are serving
            _listening(config, sock)

    app.on_startup.append(started)
    if role is not None:
        # Before every other startup step (the cleanup contexts come first otherwise).
        app.on_startup.insert(0, _stop_once)
    # A process of several stops on the first signal only (see `_stop_once`).
    web.run_app(
        app,
        sock=sock,
        print=None,
        access_log=None,
        handle_signals=role is None,
        loop=new_loop(config.server.event_loop),
    )


def _listening(config: NodeConfig, sock: socket.socket) -> None:
    workers = config.server.workers
    log.info(
        "listening on http://%s:%s%s (public URL %s; event loop %s)",
        config.server.host, sock.getsockname()[1],
        f" with {workers} processes" if workers > 1 else "", config.server.public_url,
        chosen(config.server.event_loop),
    )  # fmt: skip


async def _stop_once(app: web.Application) -> None:
    """SIGTERM or SIGINT starts a clean stop, and later ones are ignored: a service manager
    stopping the pod signals every process of it, and `serve` then sends each its own SIGTERM,
    which must not cut short the stop (requests under way, deliveries to record) begun."""
    loop = asyncio.get_running_loop()
    stopping = False

    def stop() -> None:
        # A flag rather than removing the handler: two signals read in one turn of the loop
        # are both queued to run it, the second once the stop has begun, and raising there
        # would end the process in the middle of its clean stop.
        nonlocal stopping
        if not stopping:
            stopping = True
            raise web.GracefulExit

    for signo in _STOPS:
        loop.add_signal_handler(signo, stop)


@dataclass
class _Process:
    index: int
    pid: int
    started: float


class _Supervisor:
    def __init__(self, config: NodeConfig, socks: list[socket.socket]) -> None:
        self._config = config
        self._socks = socks  # one per process, or one for all
        self._count = config.server.workers
        # Made before the processes, which inherit them: what each one's role shares.
        self._wakes = Wakes()
        self._shared = WorkerRole(
            0,
            self._count,
            self._wakes,
            turns=TurnBoard(self._count),
            connections=ConnectionCounts(self._count),
        )
        self._counts = multiprocessing.RawArray("q", self._count * len(CLASSES))
        self._started = time.monotonic()
        self._running: dict[int, _Process] = {}  # pid -> process
        self._pid = os.getpid()

    def run(self) -> None:
        # Signals are taken one at a time by sigtimedwait, never by a handler.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            for index in range(self._count):
                if not self._start(index):
                    return  # asked to stop while starting
            _listening(self._config, self._socks[0])
            self._supervise()
        finally:
            self._stop_all()
            self._wakes.close()
            if self._shared.turns is not None:
                self._shared.turns.close()
            while signal.sigtimedwait(_SIGNALS, 0) is not None:
                pass  # a second Ctrl-C while stopping: handled already
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)

    # --- starting ---

    def _start(self, index: int) -> bool:
        """Start process `index` and wait until it serves; False if asked to stop meanwhile."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the new process: never returns
            os.close(read_end)
            self._child(index, write_end)
        os.close(write_end)
        self._running[pid] = _Process(index, pid, time.monotonic())
        try:
            return self._await_ready(pid, read_end)
        finally:
            os.close(read_end)

    def _child(self, index: int, ready_fd: int) -> None:
        code = 1
        try:
            # Its own process group: a terminal's Ctrl-C reaches the supervisor only, which
            # then asks each process to stop exactly once.
            os.setpgid(0, 0)
            _stop_with_parent(self._pid)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
            tag_process(index)
            role = dataclasses.replace(self._shared, index=index)
            traffic = Traffic(self._counts, index, self._started)

            def ready() -> None:
                os.write(ready_fd, b"r")
                os.close(ready_fd)

            _run(self._config, self._socks[index % len(self._socks)], role, traffic, ready)
            code = 0
        except BaseException:
            log.exception("process %d of the pod failed", index)
        finally:
            logging.shutdown()
            os._exit(code)

    def _await_ready(self, pid: int, ready_fd: int) -> bool:
        while True:
            readable, _, _ = select.select([ready_fd], [], [], 0.05)
            if readable:
                if os.read(ready_fd, 1) == b"r":
                    return True
                # Closed without a word: it failed to start.
                _, status = os.waitpid(pid, 0)
                process = self._running.pop(pid)
                if _stopped_with(status) and signal.sigtimedwait(_STOPS, _STOP_GRACE):
                    # A service manager stopping the pod signals every process of it: one
                    # still starting dies of it, and the stop meant for all comes just after.
                    return False
                raise ServeError(
                    f"process {process.index} of the pod did not start ({_describe(status)});"
                    " see the log above"
                )
            info = signal.sigtimedwait(_SIGNALS, 0)
            if info is not None and info.si_signo != signal.SIGCHLD:
                return False

    # --- running ---

    def _supervise(self) -> None:
        while True:
            # Before waiting: a SIGCHLD may have been taken while a process was starting.
            ended = _reaped()
            if not ended:
                info = signal.sigwaitinfo(_SIGNALS)
                if info.si_signo != signal.SIGCHLD:
                    log.info("stopping (%s)", signal.Signals(info.si_signo).name)
                    return
            for pid, status in ended:
                process = self._running.pop(pid, None)
                if process is None:
                    continue
                if process.index == 0:
                    raise ServeError(
                        f"the pod's first process stopped ({_describe(status)}); stopping the"
                        " others"
                    )
                log.warning(
                    "process %d of the pod stopped (%s); starting it again",
                    process.index, _describe(status),
                )  # fmt: skip
                if time.monotonic() - process.started < _RESTART_PAUSE:
                    time.sleep(_RESTART_PAUSE)
                if not self._start(process.index):
                    return

    def _stop_all(self) -> None:
        for pid in self._running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_SECONDS
        while self._running and time.monotonic() < deadline:
            for pid, _ in _reaped():
                self._running.pop(pid, None)
            if self._running:
                signal.sigtimedwait({signal.SIGCHLD}, 0.1)
        for pid in self._running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        self._running.clear()


def _stop_with_parent(supervisor: int) -> None:
    """Have SIGTERM sent to this process when the supervisor ends, however it ends (SIGKILL,
    a terminal's hangup): in a process group of its own, nothing else would stop it, and it
    would go on serving the port unsupervised. Linux only."""
    if sys.platform != "linux":
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != supervisor:  # it ended before that took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _reaped() -> list[tuple[int, int]]:
    """The processes that have ended since the last look: (pid, wait status)."""
    ended = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        ended.append((pid, status))
    return ended


def _stopped_with(status: int) -> bool:
    """Whether a process died of a stop signal (before it could take it as one)."""
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) in _STOPS


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
