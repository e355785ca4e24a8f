"""python -m pipeline_patterns: the native stack, the notebook runner and setup."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline_patterns.config import SettingsError
from pipeline_patterns.stack.errors import StackError

KitError = (StackError, SettingsError)

console = Console()
errors = Console(stderr=True)


def _fail(exc: Exception) -> None:
    errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise SystemExit(1)


@click.group(help=__doc__)
def app() -> None:
    pass


@app.group()
def stack() -> None:
    """The native stack: Kafka, Connect/Debezium, PostgreSQL, Spark, Airflow."""


@stack.command()
@click.option("--brokers", type=click.Choice(["1", "3"]), default="1", show_default=True,
              help="1, or 3 for a three-node KRaft cluster on this host.")
@click.option("--spark-cluster", is_flag=True,
              help="Also start a Spark master + worker (127.0.0.1:SPARK_MASTER_PORT, 7077).")
@click.option("--airflow", is_flag=True,
              help="Also start Airflow: API server/UI (127.0.0.1:AIRFLOW_API_PORT, 8090), scheduler, "
                   "DAG processor, triggerer.")
def up(brokers: str, spark_cluster: bool, airflow: bool) -> None:
    """Start the stack (a no-op for what already runs) and wait until it answers."""
    from pipeline_patterns.stack import Stack

    t0 = time.monotonic()
    try:
        timings = Stack(echo=console.print).up(brokers=int(brokers), spark_cluster=spark_cluster, airflow=airflow)
    except KitError as exc:
        _fail(exc)
    if all(v == 0.0 for v in timings.values()):
        console.print("stack: already running (nothing to do)")
    console.print(f"stack: up in {time.monotonic() - t0:.1f}s")
    if "airflow-api-server" in timings:
        from pipeline_patterns.config import get_settings

        s = get_settings()
        console.print(f"airflow: UI and REST API at {s.airflow_url} (user {s.airflow_admin_user}, password "
                      "AIRFLOW_ADMIN_PASSWORD in .env)", highlight=False)


@stack.command()
def down() -> None:
    """Stop every process the kit started; leave no listener behind."""
    from pipeline_patterns.stack import Stack

    try:
        stopped = Stack(echo=console.print).down()
    except KitError as exc:
        _fail(exc)
    console.print(f"stack: stopped {', '.join(stopped) if stopped else 'nothing (it was not running)'}")


@stack.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Each service's state (running, paused, crashed, stopped), pid, ports and log.

    Exits 1 when a service has crashed or runs without a record (``down`` stops it).
    """
    from pipeline_patterns.stack import Stack

    rows = Stack().status()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        table = Table("service", "state", "pid", "ports", "RSS MiB", "log")
        colours = {"running": "green", "paused": "yellow", "crashed": "red", "stopped": "dim", "unrecorded": "red"}
        for row in rows:
            ports = " ".join(f"{p}{'' if up else ' (closed)'}"
                             for p, up in zip(row["ports"], row["listening"], strict=True))
            table.add_row(row["service"], f"[{colours[row['state']]}]{row['state']}[/]", str(row["pid"] or ""),
                          ports, f"{row['rss_mb']:.0f}" if row["rss_mb"] is not None else "", row["log"] or "")
        console.print(table)
        total = sum(row["rss_mb"] or 0 for row in rows)
        console.print(f"total RSS of the stack's processes: {total:.0f} MiB")
        for row in rows:
            if row["note"]:
                console.print(row["note"], highlight=False, soft_wrap=True)
    if any(row["state"] in ("crashed", "unrecorded") for row in rows):
        raise SystemExit(1)


def _fault(action: str, service: str) -> None:
    from pipeline_patterns.stack import Stack

    try:
        done = getattr(Stack(), action)(service)
    except KitError as exc:
        _fail(exc)
    console.print(f"stack: {action} {', '.join(done)}")


@stack.command()
@click.argument("service")
def kill(service: str) -> None:
    """kill -9 SERVICE (kafka means every broker, airflow every Airflow process); status then says crashed."""
    _fault("kill", service)


@stack.command()
@click.argument("service")
def pause(service: str) -> None:
    """SIGSTOP SERVICE: it keeps its ports but answers nothing."""
    _fault("pause", service)


@stack.command()
@click.argument("service")
def resume(service: str) -> None:
    """SIGCONT a paused SERVICE."""
    _fault("resume", service)


@app.command("run")
@click.argument("notebooks", nargs=-1)
@click.option("-p", "--parameter", "parameters", nargs=2, multiple=True, metavar="NAME VALUE",
              help="A papermill parameter for every notebook (repeatable).")
def run_command(notebooks: tuple[str, ...], parameters: tuple[tuple[str, str], ...]) -> None:
    """Execute NOTEBOOKS (names, prefixes like 00, or paths; default all) into runs/<UTC timestamp>/."""
    from pipeline_patterns import runner

    try:
        chosen = runner.find_notebooks(list(notebooks))
    except FileNotFoundError as exc:
        _fail(exc)
    params = {name: runner.parse_value(value) for name, value in parameters}
    out_dir, results = runner.run(chosen, params)
    table = Table("notebook", "status", "seconds", "error", title=f"run {out_dir.name}")
    for r in results:
        table.add_row(r.notebook, "[green]ok[/]" if r.status == "ok" else "[red]failed[/]", f"{r.seconds:.1f}",
                      (r.error or "")[:160])
    console.print(table)
    console.print(f"report: {out_dir}/index.html (summary.json and each lesson's HTML beside it; runs/latest "
                  "points here)")
    if any(r.status != "ok" for r in results):
        raise SystemExit(1)


@app.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
def report_command(runs: tuple[Path, ...]) -> None:
    """Write RUN's index.html again; with two runs (A B), print their seconds and key figures side by side."""
    from pipeline_patterns import report

    try:
        if len(runs) == 1:
            console.print(f"report: {report.write_index(runs[0])}")
            return
        if len(runs) != 2:
            raise ValueError(f"expected one run folder (rewrite its report) or two (compare them), found {len(runs)}")
        table = Table("lesson", "figure", runs[0].name, runs[1].name, title="two runs side by side")
        for row in report.compare(*runs):
            changed = f"[bold]{row['b']}[/]" if row["a"] != row["b"] else str(row["b"])
            table.add_row(row["lesson"], row["figure"], str(row["a"]), changed)
        console.print(table)
    except (FileNotFoundError, ValueError) as exc:
        _fail(exc)


@app.command("bundle")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), show_default=True,
              default=Path("dist/pipeline-patterns-bundle.tar"), help="Where to write the archive.")
def bundle_command(out: Path) -> None:
    """Write everything a laptop would download (wheels, jars, Debezium, data) into one archive for offline setup."""
    from pipeline_patterns import bundle

    try:
        bundle.build(out.resolve(), echo=console.print)
    except KitError as exc:
        _fail(exc)
    console.print(f"offline setup elsewhere: make setup BUNDLE={out}")


@app.command()
@click.option("--jars-only", is_flag=True, help="Only resolve the jars (used by the JupyterLab image).")
def setup(jars_only: bool) -> None:
    """Resolve jars, check Java, install PostgreSQL when missing, create .env, register the kernel."""
    from pipeline_patterns import bootstrap

    try:
        if jars_only:
            bootstrap.resolve_jars(echo=console.print)
        else:
            bootstrap.setup(echo=console.print)
    except KitError as exc:
        _fail(exc)


@app.command()
@click.option("--memory-mb", type=float, default=None, help="Check as if this much memory were free (MB).")
@click.option("--disk-mb", type=float, default=None, help="Check as if this much disk were free (MB).")
@click.option("--quiet", is_flag=True, help="Show only the failed rows (what `make up` and `make run` print first).")
def doctor(memory_mb: float | None, disk_mb: float | None, quiet: bool) -> None:
    """Can this machine run the lessons? One row per check, a fix for each failed one; exits 1 if not."""
    from pipeline_patterns import doctor as checkup

    rows = checkup.run_checks(memory_mb=memory_mb, disk_mb=disk_mb)
    if quiet and checkup.can_run(rows):
        return
    table = Table("check", "", "found", "fix")
    for row in (r for r in rows if not (quiet and r.ok)):
        mark = "[green]ok[/]" if row.ok else ("[red]FAIL[/]" if row.required else "[yellow]warn[/]")
        table.add_row(escape(row.check), mark, escape(row.found), escape(row.fix))
    console.print(table)
    if not checkup.can_run(rows):
        errors.print("[bold red]doctor:[/] this machine cannot run the lessons yet: fix the FAIL rows above.",
                     highlight=False)
        raise SystemExit(1)
    console.print("doctor: ready for the lessons.")
