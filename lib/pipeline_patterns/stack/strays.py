"""Processes of this checkout's stack that run without a pid record: finding and naming them.

An ``up`` that failed before writing a record, or a deleted ``var/pids``, leaves them;
``status`` reports them and ``down`` stops them. A process counts as ours only when it names
both the service's program and this checkout's path (on its command line, or for Airflow in its
``AIRFLOW_HOME``); the children of a recorded process are never strays.
"""

from __future__ import annotations

from collections.abc import Sequence

import psutil

from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import PidFiles, ProcessRecord, group_members
from pipeline_patterns.stack.service import Service
from pipeline_patterns.stack.services import services_for

Stray = tuple[Service, Context, ProcessRecord]


def find_strays(pids: PidFiles, contexts: Sequence[Context]) -> list[Stray]:
    """Live processes of the services of ``contexts`` with no record in ``pids``, in start order.

    Every context's services are searched, in the order given, since the saved layout
    may be gone too; each process is reported once, for the first service that owns it.
    """
    candidates: list[tuple[Service, Context]] = []
    for ctx in contexts:
        candidates += [(s, ctx) for s in services_for(ctx)]
    recorded: set[int] = set()
    for service, _ in candidates:
        record = pids.read(service.name)
        if record is not None:  # the process and its children (a triggerer's runner, a worker's executor)
            recorded.update(member.pid for member in group_members(record))
    found: list[Stray] = []
    seen: set[int] = set()
    for proc in psutil.process_iter(["pid", "cmdline", "create_time", "status"]):
        info = proc.info
        if info["pid"] in recorded or info["status"] == psutil.STATUS_ZOMBIE or not info["cmdline"]:
            continue
        for service, ctx in candidates:
            if info["pid"] not in seen and service.owns_process(ctx, proc, info["cmdline"]):
                seen.add(info["pid"])
                found.append((service, ctx, ProcessRecord(pid=info["pid"], create_time=info["create_time"],
                                                          log=str(ctx.log(service.name)))))
    order = {id(s): i for i, (s, _) in enumerate(candidates)}
    return sorted(found, key=lambda item: order[id(item[0])])


def describe_stray(service: Service, ctx: Context, record: ProcessRecord) -> str:
    """``<service> pid <pid> runs on this checkout's <path> without a record``."""
    signature = service.signature(ctx)
    assert signature is not None  # strays are found by their signature
    path = signature[1]
    return f"{service.name} pid {record.pid} runs on this checkout's {path} without a record"
