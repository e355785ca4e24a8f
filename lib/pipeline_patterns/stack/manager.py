"""``Stack``: up, down, status and the fault controls (kill, pause, resume)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from dataclasses import asdict

import psutil
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from pipeline_patterns.config import Settings, SettingsError, get_settings
from pipeline_patterns.poll import wait_until
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.kafka_service import KafkaNode
from pipeline_patterns.stack.layout import Context, Layout
from pipeline_patterns.stack.processes import PidFiles, ProcessRecord, ProcessState, group_members, signal_service, tail
from pipeline_patterns.stack.readiness import is_transient
from pipeline_patterns.stack.service import Service
from pipeline_patterns.stack.services import services_for

READY_DEADLINE_S = 180.0


class Stack:
    """The native stack described by the settings and a saved layout."""

    def __init__(self, settings: Settings | None = None, echo: Callable[[str], None] = print) -> None:
        self.settings = settings or get_settings()
        self.var = self.settings.stack_path
        self.pids = PidFiles(self.var / "pids")
        self.echo = echo

    # -- layout -------------------------------------------------------------------
    @property
    def layout_file(self):
        return self.var / "stack.json"

    def saved_layout(self) -> Layout | None:
        if not self.layout_file.exists():
            return None
        return Layout(**json.loads(self.layout_file.read_text()))

    def context(self, layout: Layout | None = None) -> Context:
        return Context(self.settings, layout or self.saved_layout() or Layout())

    def services(self, layout: Layout | None = None) -> list[Service]:
        return services_for(self.context(layout))

    def select(self, name: str) -> list[Service]:
        """Services by name; ``kafka`` means every broker."""
        services = self.services()
        chosen = [s for s in services if s.name == name or (name == "kafka" and isinstance(s, KafkaNode))]
        if not chosen:
            raise StackError(f"No service named {name!r}; expected one of: kafka, "
                             + ", ".join(s.name for s in services) + ".")
        return chosen

    # -- processes of this checkout without a record ----------------------------------
    def strays(self) -> list[tuple[Service, Context, ProcessRecord]]:
        """Live processes of this checkout's stack (its paths on their command line) with no record.

        An ``up`` that failed before writing a record, or a deleted ``var/pids``, leaves
        them; ``status`` reports them and ``down`` stops them. Every layout is searched,
        in start order, since the saved layout may be gone too.
        """
        candidates: list[tuple[Service, Context]] = []
        for layout in (self.saved_layout() or Layout(), Layout(1, True), Layout(3, True)):
            ctx = self.context(layout)
            candidates += [(s, ctx) for s in services_for(ctx)]
        recorded = set()
        for service, _ in candidates:
            record = self.pids.read(service.name)
            if record is not None and record.process() is not None:
                recorded.add(record.pid)
        found: list[tuple[Service, Context, ProcessRecord]] = []
        seen: set[int] = set()
        for proc in psutil.process_iter(["pid", "cmdline", "create_time", "status"]):
            info = proc.info
            if info["pid"] in recorded or info["status"] == psutil.STATUS_ZOMBIE or not info["cmdline"]:
                continue
            for service, ctx in candidates:
                if info["pid"] not in seen and service.owns(ctx, info["cmdline"]):
                    seen.add(info["pid"])
                    found.append((service, ctx, ProcessRecord(pid=info["pid"], create_time=info["create_time"],
                                                              log=str(ctx.log(service.name)))))
        order = {id(s): i for i, (s, _) in enumerate(candidates)}
        return sorted(found, key=lambda item: order[id(item[0])])

    @staticmethod
    def describe_stray(service: Service, ctx: Context, record: ProcessRecord) -> str:
        signature = service.signature(ctx)
        assert signature is not None  # strays are found by their signature
        path = signature[1]
        return f"{service.name} pid {record.pid} runs on this checkout's {path} without a record"

    # -- up -----------------------------------------------------------------------
    def up(self, brokers: int = 1, spark_cluster: bool = False) -> dict[str, float]:
        """Start what is not running and wait until every service answers.

        Returns the seconds each service took to become ready (0 for one already up).
        A failed ``up`` stops every process it started before raising.
        """
        try:
            self.settings.pg_password()
        except SettingsError as exc:
            raise StackError(str(exc)) from None
        strays = self.strays()
        if strays:
            raise StackError(
                "Expected no process of this checkout's stack without a record; found: "
                + "; ".join(self.describe_stray(*s) for s in strays)
                + ". An earlier `up` probably failed half-way. Run `make down` "
                "(`python -m pipeline_patterns stack down`), which stops them, then `make up`."
            )
        wanted = Layout(brokers=brokers, spark_cluster=spark_cluster)
        saved = self.saved_layout()
        if saved and saved.brokers != brokers and self._any_alive(saved):
            raise StackError(
                f"The stack is running with {saved.brokers} Kafka broker(s); you asked for {brokers}. "
                "Run `make down` (or `python -m pipeline_patterns stack down`) first."
            )
        if saved and saved.spark_cluster and not spark_cluster:
            wanted.spark_cluster = True  # keep a running Spark cluster in the layout
        ctx = self.context(wanted)
        ctx.java = preflight.check_java()
        services = services_for(ctx)
        self.var.mkdir(parents=True, exist_ok=True)
        self.layout_file.write_text(json.dumps(asdict(wanted)))

        started: dict[str, float] = {}
        try:
            return self._start(ctx, services, started)
        except BaseException as exc:
            stopped = self._stop_started(ctx, services, started)
            if isinstance(exc, StackError):
                note = (f"`up` stopped what it had started: {', '.join(stopped)}." if stopped
                        else "`up` had started nothing.")
                raise StackError(f"{exc}\n{note} Nothing of this attempt is left running.") from exc
            raise

    def _stop_started(self, ctx: Context, services: list[Service], started: dict[str, float]) -> list[str]:
        """Stop, newest first, the services this ``up`` started, and any stray it left."""
        stopped = []
        for service in reversed(services):
            if service.name not in started:
                continue
            record = self.pids.read(service.name)
            if record is not None:
                if record.process() is not None:
                    service.stop(ctx, record)
                self.pids.remove(service.name)
            stopped.append(service.name)
        for service, stray_ctx, record in reversed(self.strays()):
            service.stop(stray_ctx, record)
        return stopped

    def _start(self, ctx: Context, services: list[Service], started: dict[str, float]) -> dict[str, float]:
        timings: dict[str, float] = {}
        for service in services:
            state = self.pids.state(service.name)
            if state is ProcessState.RUNNING:
                continue
            if state is ProcessState.PAUSED:
                paused = self.pids.read(service.name)
                assert paused is not None  # PAUSED: its pid file names a stopped process
                signal_service(paused, signal.SIGCONT)
                continue
            for port, setting in service.ports:
                preflight.check_port_free(port, service.name, setting)
            started[service.name] = time.monotonic()
            self.pids.write(service.name, service.start(ctx))
            if not isinstance(service, KafkaNode):
                self._wait_ready(service, ctx, started, timings)
            elif service.node == ctx.layout.brokers:  # brokers register once all are up
                for node in (s for s in services if isinstance(s, KafkaNode)):
                    self._wait_ready(node, ctx, started, timings)
        for service in services:
            if service.name not in timings:
                self._wait_ready(service, ctx, {}, timings)
        return timings

    def _wait_ready(self, service: Service, ctx: Context, started: dict[str, float],
                    timings: dict[str, float]) -> None:
        t0 = started.get(service.name, time.monotonic())

        def attempt() -> None:
            if self.pids.state(service.name) is ProcessState.CRASHED:
                record = self.pids.read(service.name)
                assert record is not None  # CRASHED: its pid file names a process that is gone
                raise StackError(f"{service.name} exited while starting. Last lines of {record.log}:\n"
                                 f"{tail(record.log)}")
            service.check_ready(ctx)

        try:
            for attempt_ctx in Retrying(stop=stop_after_delay(READY_DEADLINE_S), wait=wait_fixed(0.5),
                                        retry=retry_if_exception(is_transient), reraise=True):
                with attempt_ctx:
                    attempt()
        except Exception as exc:
            if not is_transient(exc):
                raise
            record = self.pids.read(service.name)
            raise StackError(
                f"{service.name} did not become ready within {READY_DEADLINE_S:.0f}s "
                f"(last error: {exc}). Last lines of {record.log if record else 'its log'}:\n"
                f"{tail(record.log) if record else ''}"
            ) from exc
        timings[service.name] = round(time.monotonic() - t0, 1) if service.name in started else 0.0
        if service.name in started:
            self.echo(f"{service.name:<13} ready in {timings[service.name]:>5.1f}s")

    # -- down / status -------------------------------------------------------------
    def _any_alive(self, layout: Layout) -> bool:
        alive = (ProcessState.RUNNING, ProcessState.PAUSED)
        return any(self.pids.state(s.name) in alive for s in self.services(layout))

    def down(self) -> list[str]:
        """Stop every process the kit started, newest first. Returns the names stopped.

        Processes of this checkout's stack whose record is missing are stopped too, and
        named through ``echo``.
        """
        ctx = self.context()
        stopped = []
        for service in reversed(services_for(ctx)):
            record = self.pids.read(service.name)
            if record is None:
                continue
            if record.process() is not None:
                service.stop(ctx, record)
                stopped.append(service.name)
            self.pids.remove(service.name)
        for service, stray_ctx, record in reversed(self.strays()):
            self.echo(f"{self.describe_stray(service, stray_ctx, record)}: stopping it")
            service.stop(stray_ctx, record)
            if service.name not in stopped:
                stopped.append(service.name)
        order = [s.name for s in reversed(services_for(ctx))]
        stopped.sort(key=lambda name: order.index(name) if name in order else len(order))
        busy = [f"{port} ({preflight.port_owner(port)})" for s in services_for(ctx) for port, _ in s.ports
                if not preflight.port_is_free(port) and s.name in stopped]
        if busy:
            raise StackError("Stopped the stack, but these ports still have listeners: " + ", ".join(busy))
        self.layout_file.unlink(missing_ok=True)
        return stopped

    def status(self) -> list[dict]:
        """One row per service: name, state, pid, ports, whether each port listens, log, note.

        A process of this checkout's stack without a record is ``unrecorded``, with a note
        saying so; ``down`` stops it.
        """
        rows = []
        strays = self.strays()
        for service in self.services():
            record = self.pids.read(service.name)
            state = self.pids.state(service.name)
            note = None
            if state in (ProcessState.STOPPED, ProcessState.CRASHED):
                stray = next((s for s in strays if s[0].name == service.name), None)
                if stray is not None:
                    state, record = ProcessState.UNRECORDED, stray[2]
                    note = f"{self.describe_stray(*stray)}; `make down` stops it"
            rows.append({
                "service": service.name,
                "state": state.value,
                "pid": record.pid if record else None,
                "ports": [port for port, _ in service.ports],
                "listening": [not preflight.port_is_free(port) for port, _ in service.ports],
                "rss_mb": self._rss_mb(record) if state in (ProcessState.RUNNING, ProcessState.PAUSED,
                                                            ProcessState.UNRECORDED) else None,
                "log": record.log if record else None,
                "note": note,
            })
        return rows

    @staticmethod
    def _rss_mb(record) -> float:
        total = 0
        for proc in group_members(record):
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return round(total / 2**20, 1)

    # -- fault controls ---------------------------------------------------------------
    def _signal(self, name: str, sig: signal.Signals) -> list[str]:
        done = []
        for service in self.select(name):
            record = self.pids.read(service.name)
            if record is None or record.process() is None:
                raise StackError(f"{service.name} is not running (state: {self.pids.state(service.name).value}).")
            signal_service(record, sig)
            done.append(service.name)
        return done

    def kill(self, name: str) -> list[str]:
        """kill -9 the service; ``status`` then reports it as crashed."""
        killed = self._signal(name, signal.SIGKILL)
        for service_name in killed:
            record = self.pids.read(service_name)
            if record is None:  # no pid file: nothing left to wait for
                continue

            def exited(record: ProcessRecord = record) -> bool:  # this iteration's record
                return record.process() is None

            wait_until(exited, 30, f"{service_name} to exit after SIGKILL", 0.1)
        return killed

    def pause(self, name: str) -> list[str]:
        """SIGSTOP: the process keeps its sockets but answers nothing."""
        return self._signal(name, signal.SIGSTOP)

    def resume(self, name: str) -> list[str]:
        return self._signal(name, signal.SIGCONT)
