"""Starting a layout's services in order, each one ready before the next one starts.

Running services are left alone and paused ones resumed; a taken port stops the start
with a message naming the setting that moves it. The services of a group (Kafka's nodes,
Airflow's processes) are waited for together, once the last one has started: a broker is
ready when every broker has registered, and Airflow's processes start faster side by side.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import PidFiles, ProcessState, signal_service
from pipeline_patterns.stack.readiness import wait_ready
from pipeline_patterns.stack.service import Service


def start_in_order(ctx: Context, services: list[Service], pids: PidFiles, started: dict[str, float],
                   echo: Callable[[str], None]) -> dict[str, float]:
    """Start what is not running, in order; return the seconds each service took to be ready.

    ``started`` gets the start time of each service started here (``up`` stops those if
    anything fails); a service that was already up counts 0 s.
    """
    timings: dict[str, float] = {}
    for index, service in enumerate(services):
        state = pids.state(service.name)
        if state is ProcessState.RUNNING:
            continue
        if state is ProcessState.PAUSED:
            paused = pids.read(service.name)
            assert paused is not None  # PAUSED: its pid file names a stopped process
            signal_service(paused, signal.SIGCONT)
            continue
        for port, setting in service.ports:
            preflight.check_port_free(port, service.name, setting)
        started[service.name] = time.monotonic()
        pids.write(service.name, service.start(ctx))
        following = services[index + 1] if index + 1 < len(services) else None
        if service.group is None:
            _wait_ready(service, ctx, pids, started, timings, echo)
        elif following is None or following.group != service.group:  # the group's last one has started
            for member in (s for s in services if s.group == service.group):
                _wait_ready(member, ctx, pids, started, timings, echo)
    for service in services:
        if service.name not in timings:
            _wait_ready(service, ctx, pids, started, timings, echo)
    return timings


def _wait_ready(service: Service, ctx: Context, pids: PidFiles, started: dict[str, float],
                timings: dict[str, float], echo: Callable[[str], None]) -> None:
    """Wait until ``service`` is ready and note how long it took since it started."""
    t0 = started.get(service.name, time.monotonic())
    wait_ready(service, ctx, pids)
    timings[service.name] = round(time.monotonic() - t0, 1) if service.name in started else 0.0
    if service.name in started:
        echo(f"{service.name:<13} ready in {timings[service.name]:>5.1f}s")
