"""``Stack``: up, down, status and the fault controls (kill, pause, resume).

Guarantees: a failed ``up`` stops every process it started before raising; ``down``
stops every process the kit started (recorded or stray) and leaves no listener.

Size: one class with the stack's verbs (up, down, status, stop_spark_cluster, stop_airflow, kill,
pause, resume); they share the pid records and the saved layout, which splitting would scatter.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from dataclasses import asdict

import psutil

from pipeline_patterns.config import Settings, SettingsError, get_settings
from pipeline_patterns.poll import wait_until
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.airflow_service import check_installed
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.kafka_service import KafkaNode
from pipeline_patterns.stack.layout import Context, Layout
from pipeline_patterns.stack.processes import PidFiles, ProcessRecord, ProcessState, group_members, signal_service
from pipeline_patterns.stack.service import Service
from pipeline_patterns.stack.services import services_for
from pipeline_patterns.stack.startup import start_in_order
from pipeline_patterns.stack.strays import Stray, describe_stray, find_strays


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
        """Services by name; ``kafka`` means every broker, ``airflow`` every Airflow process."""
        services = self.services()
        chosen = [s for s in services if s.name == name or (name == "kafka" and isinstance(s, KafkaNode))
                  or (name == "airflow" and s.group == "airflow")]
        if not chosen:
            raise StackError(f"No service named {name!r}; expected one of: kafka, "
                             + ("airflow, " if any(s.group == "airflow" for s in services) else "")
                             + ", ".join(s.name for s in services) + ".")
        return chosen

    # -- processes of this checkout without a record ----------------------------------
    def strays(self) -> list[Stray]:
        """Live processes of this checkout's stack (its paths on their command line) with no record.

        An ``up`` that failed before writing a record, or a deleted ``var/pids``, leaves
        them; ``status`` reports them and ``down`` stops them. Every layout is searched,
        in start order, since the saved layout may be gone too.
        """
        layouts = (self.saved_layout() or Layout(), Layout(1, True, True), Layout(3, True, True))
        return find_strays(self.pids, [self.context(layout) for layout in layouts])

    # -- up -----------------------------------------------------------------------
    def up(self, brokers: int = 1, spark_cluster: bool = False, airflow: bool = False) -> dict[str, float]:
        """Start what is not running and wait until every service answers.

        Returns the seconds each service took to become ready (0 for one already up).
        A failed ``up`` stops every process it started before raising. A running Spark
        cluster or Airflow stays in the layout (and running) when not asked for.
        """
        saved = self.saved_layout()
        airflow = airflow or bool(saved and saved.airflow)
        try:
            self.settings.pg_password()
            self.settings.cdc_pg_password()
            for name in ("AIRFLOW_DB_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_SECRET_KEY") if airflow else ():
                self.settings.airflow_secret(name)
        except SettingsError as exc:
            raise StackError(str(exc)) from None
        if airflow:
            check_installed()  # before anything starts
        strays = self.strays()
        if strays:
            raise StackError(
                "Expected no process of this checkout's stack without a record; found: "
                + "; ".join(describe_stray(*s) for s in strays)
                + ". An earlier `up` probably failed half-way. Run `make down` "
                "(`python -m pipeline_patterns stack down`), which stops them, then `make up`."
            )
        wanted = Layout(brokers=brokers, spark_cluster=spark_cluster, airflow=airflow)
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
            return start_in_order(ctx, services, self.pids, started, self.echo)
        except BaseException as exc:
            stopped = self._stop_started(ctx, services, started)
            if saved is not None:  # the layout that runs is the one before this attempt
                self.layout_file.write_text(json.dumps(asdict(saved)))
            else:
                self.layout_file.unlink(missing_ok=True)
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
            self.echo(f"{describe_stray(service, stray_ctx, record)}: stopping it")
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

    def stop_spark_cluster(self) -> list[str]:
        """Stop the standalone Spark cluster (worker, then master), keep the rest; returns the names stopped."""
        return self._stop_optional("spark_cluster", lambda service: service.name.startswith("spark-"))

    def stop_airflow(self) -> list[str]:
        """Stop Airflow's processes (newest first), keep the rest; returns the names stopped."""
        return self._stop_optional("airflow", lambda service: service.group == "airflow")

    def _stop_optional(self, part: str, belongs: Callable[[Service], bool]) -> list[str]:
        """Stop the services of an optional ``part`` of the saved layout and take it out of the layout."""
        saved = self.saved_layout()
        if saved is None or not getattr(saved, part):
            return []
        ctx, stopped = self.context(saved), []
        for service in [s for s in reversed(services_for(ctx)) if belongs(s)]:
            record = self.pids.read(service.name)
            if record is not None and record.process() is not None:
                service.stop(ctx, record)
                stopped.append(service.name)
            self.pids.remove(service.name)
        setattr(saved, part, False)
        self.layout_file.write_text(json.dumps(asdict(saved)))
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
                    note = f"{describe_stray(*stray)}; `make down` stops it"
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
