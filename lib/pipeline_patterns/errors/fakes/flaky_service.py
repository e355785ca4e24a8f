"""A fake but real, breakable dependency for the circuit breaker: a price service in its own OS process.

``python -m pipeline_patterns.errors.fakes.flaky_service --port 0 --port-file PATH`` serves on
127.0.0.1 (port 0: the OS picks a free one and the server writes it to ``PATH``):

* ``GET /price/<id>`` — ``200 {"id": 7, "price": 12.34}`` for ids 1..1000; any other id
  is ``404`` — a *business* error: the service is fine, the question was wrong;
* ``GET /stats`` — ``{"price_requests": n, "found": f, "not_found": m, "pid": ...}``,
  counted by the service itself: the ground truth of the load it received;
* ``GET /health`` — readiness.

:class:`FlakyService` starts it and breaks it for real: :meth:`~FlakyService.pause`
(``SIGSTOP``: the kernel still accepts connections, nobody answers, clients time out —
and the requests wait in the socket queue and are served after :meth:`~FlakyService.resume`)
and :meth:`~FlakyService.kill` / :meth:`~FlakyService.restart` (connections refused, then a
new process on the same port with fresh counters).

:func:`get_price` is the client: ``requests`` with a short timeout, a 404 mapped to
:class:`PriceNotFound` (a ``LookupError``, not an ``OSError`` like ``requests.HTTPError``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import requests

from pipeline_patterns.poll import wait_until
from pipeline_patterns.stack.processes import start_process

MODULE = "pipeline_patterns.errors.fakes.flaky_service"
CATALOGUE = range(1, 1001)


def price_of(product_id: int) -> float:
    return round(5 + (product_id * 7919 % 9000) / 100, 2)


class PriceNotFound(LookupError):
    """The service answered 404: a business error, not a sign of ill health."""


def get_price(base_url: str, product: int | str, timeout_s: float = 0.5) -> dict:
    """One price. Raises PriceNotFound on 404; requests' errors (OSErrors) on timeouts, refusals, 5xx."""
    response = requests.get(f"{base_url}/price/{product}", timeout=timeout_s)
    if response.status_code == 404:
        raise PriceNotFound(f"no product {product!r} (HTTP 404 from {base_url})")
    response.raise_for_status()
    return response.json()


# -- the server (runs in the child process) ---------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    counts: ClassVar[dict[str, int]] = {"price_requests": 0, "found": 0, "not_found": 0}  # one server per process
    lock = threading.Lock()

    def do_GET(self) -> None:  # http.server's name for it
        parts = self.path.strip("/").split("/")
        if parts == ["health"]:
            self._reply(200, {"ok": True})
        elif parts == ["stats"]:
            with self.lock:
                self._reply(200, {**self.counts, "pid": os.getpid()})
        elif len(parts) == 2 and parts[0] == "price":
            found = parts[1].isdigit() and int(parts[1]) in CATALOGUE
            with self.lock:
                self.counts["price_requests"] += 1
                self.counts["found" if found else "not_found"] += 1
            if found:
                self._reply(200, {"id": int(parts[1]), "price": price_of(int(parts[1]))})
            else:
                self._reply(404, {"error": f"no product {parts[1]!r}"})
        else:
            self._reply(404, {"error": f"no route {self.path!r}"})

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # The client may have timed out while we were paused and left; the request still counted.
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # the base class names the argument `format`
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # requests that arrive while paused wait here, not in SYN retries

    def handle_error(self, request, client_address) -> None:
        pass  # a client that left early is expected here


def serve(port: int, port_file: Path | None) -> None:
    server = _Server(("127.0.0.1", port), _Handler)
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(server.server_address[1]))
        tmp.replace(port_file)  # atomic: the parent never reads half a number
    server.serve_forever()


# -- the parent's handle on the process --------------------------------------------------
class FlakyService:
    """The service as a separate OS process; ``with FlakyService.start() as svc:`` stops it at the end."""

    def __init__(self, port: int = 0, startup_timeout_s: float = 15.0) -> None:
        self.port, self.startup_timeout_s = port, startup_timeout_s
        self.paused = False
        self.starts = 0
        self._proc: subprocess.Popen | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="flaky_service_")
        self._finalizer: weakref.finalize | None = None

    @classmethod
    def start(cls, port: int = 0, startup_timeout_s: float = 15.0) -> FlakyService:
        service = cls(port, startup_timeout_s)
        service._spawn()
        return service

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _spawn(self) -> None:
        if self.alive:
            raise RuntimeError(f"the flaky service is still running (pid {self.pid}); kill or stop it first")
        port_file = Path(self._dir.name) / f"port.{self.starts}"
        log = Path(self._dir.name) / "service.log"
        self._proc = proc = start_process([sys.executable, "-m", MODULE, "--port", str(self.port),
                                           "--port-file", str(port_file)], log)
        self.starts += 1
        self.paused = False
        # If the notebook or test forgets stop(), the process still goes when this object does.
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _terminate, proc)

        def port_written() -> str | None:
            if proc.poll() is not None:
                raise RuntimeError(f"the flaky service exited with {proc.returncode} on start "
                                   f"(port {self.port} in use?): {log.read_text(errors='replace')[-2000:]}")
            return port_file.read_text() if port_file.exists() else None

        self.port = int(wait_until(port_written, self.startup_timeout_s, "the flaky service's port", interval_s=0.05))
        wait_until(self._answers, self.startup_timeout_s, f"the flaky service on {self.url}", interval_s=0.05)

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/health", timeout=1.0).ok
        except requests.ConnectionError:
            return False

    def stats(self, timeout_s: float = 2.0) -> dict:
        """The service's own counters (this process's: a restart starts from zero)."""
        response = requests.get(f"{self.url}/stats", timeout=timeout_s)
        response.raise_for_status()
        return response.json()

    def wait_for_requests(self, at_least: int, timeout_s: float = 10.0) -> dict:
        """Stats once the service has counted ``at_least`` price requests (a resumed one drains its queue)."""
        def counted() -> dict | None:
            stats = self.stats()
            return stats if stats["price_requests"] >= at_least else None

        return wait_until(counted, timeout_s, f"{at_least} price requests counted by {self.url}", interval_s=0.05)

    def _process(self) -> subprocess.Popen:
        if self._proc is None:
            raise RuntimeError("the flaky service was never started: use FlakyService.start()")
        return self._proc

    def pause(self) -> None:
        """SIGSTOP: the process stops answering; connections still open, calls time out."""
        os.kill(self._process().pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self._process().pid, signal.SIGCONT)
        self.paused = False

    def kill(self) -> None:
        """SIGKILL: connections are refused until :meth:`restart`."""
        _terminate(self._process(), signal.SIGKILL)
        self.paused = False

    def restart(self) -> None:
        """A new process on the same port (fresh counters)."""
        self._spawn()

    def stop(self) -> None:
        if self._proc is not None:
            _terminate(self._proc)
        self.paused = False
        if self._finalizer is not None:
            self._finalizer.detach()
        self._dir.cleanup()

    def __enter__(self) -> FlakyService:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _terminate(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, sig)
        os.kill(proc.pid, signal.SIGCONT)  # a stopped process acts on SIGTERM only once continued
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: let the OS pick a free port")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    args = parser.parse_args(argv)
    serve(args.port, args.port_file)


if __name__ == "__main__":
    main()
