"""Dynamic DAG generation from a YAML file of pipelines, where one bad entry costs only itself (lesson 16).

The guide's factory indexes each raw dict (``config['source']``) while the file is imported, so one
missing key raises at import and every DAG of the file disappears behind one import error; a typo'd
schedule is an import error too, a wrong type or unknown transformation passes unseen, and two
entries with the same source and destination leave one DAG without a word
(:mod:`~pipeline_patterns.orchestration.pitfalls`). Here each entry is a :class:`PipelineSpec` first
(pydantic, strict, extra keys forbidden), then a DAG.

Guarantee: :func:`load_specs` never raises for a bad file or entry. It returns the valid specs and
one :class:`SpecProblem` per fault, naming the entry (its position and DAG id, or its source and
destination), the field and what was wrong; a file that is missing, does not parse or has no
top-level ``pipelines`` list is one problem and no specs; a repeated DAG id is refused at its second
position. :func:`build_dags` builds a DAG (``extract >> transform >> load``, see
:mod:`~pipeline_patterns.orchestration.table_copy`) for each valid spec only, so a DAG file that
registers ``build_dags(path).dags`` and logs the problems always imports.
Assumes: the YAML is trusted to be read (``yaml.safe_load``), not trusted to be right. Airflow (and
its croniter) are imported only where a schedule is checked or a DAG built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml  # type: ignore[import-untyped]
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from airflow.sdk import DAG  # type: ignore[import-not-found, unused-ignore]

START_DATE = datetime(2024, 1, 1, tzinfo=UTC)
TAGS = ("kit", "dynamic")
MAX_NAME = 40  # etl_<source>_<destination> stays a valid DAG id; <destination>_stage stays under 63 bytes
IDENTIFIER = re.compile(rf"[a-z][a-z0-9_]{{0,{MAX_NAME - 1}}}")


@dataclass(frozen=True)
class Transformation:
    """A transformation the YAML may name: a SQL expression replacing ``column``, or a filter on it.

    ``template`` is fixed SQL with one ``{}`` where the column's identifier goes (composed by
    ``table_copy`` with ``psycopg.sql``, never with string formatting).
    """

    column: str
    kind: str  # "expression" or "filter"
    template: str


TRANSFORMATIONS: dict[str, Transformation] = {
    "trim_names": Transformation("name", "expression", "btrim({})"),
    "lowercase_email": Transformation("email", "expression", "lower({})"),
    "drop_test_rows": Transformation("is_test", "filter", "{} IS NOT TRUE"),
}


def _identifier(value: str) -> str:
    if not IDENTIFIER.fullmatch(value):
        raise ValueError(f"expected a lowercase SQL identifier (a letter, then letters, digits or _, at most "
                         f"{MAX_NAME} characters), found {value!r}")
    return value


def _transformation(value: str) -> str:
    if value not in TRANSFORMATIONS:
        raise ValueError(f"unknown transformation {value!r}; allowed: {', '.join(TRANSFORMATIONS)}")
    return value


def _schedule(value: str) -> str:
    from airflow.utils.dates import cron_presets  # type: ignore[import-not-found, unused-ignore]
    from croniter import CroniterError, croniter  # type: ignore[import-untyped]

    expression = cron_presets.get(value, value)
    try:  # parses (what Airflow's validation checks) and fires at least once (0 0 31 2 * never does)
        fields_ok = len(expression.split()) == 5 and croniter(expression, START_DATE).get_next(datetime) is not None
    except CroniterError:
        fields_ok = False
    if not fields_ok:
        raise ValueError(f"expected a cron preset ({', '.join(cron_presets)}) or a 5-field cron expression "
                         f"(minute hour day month weekday) that fires, found {value!r}")
    return value


class PipelineSpec(BaseModel):
    """One pipeline of the YAML: copy ``source`` into ``destination`` with ``transformations`` applied."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    source: Annotated[str, AfterValidator(_identifier)]
    destination: Annotated[str, AfterValidator(_identifier)]
    transformations: list[Annotated[str, AfterValidator(_transformation)]]
    schedule: Annotated[str, AfterValidator(_schedule)] = "@daily"
    retries: int = Field(1, ge=0, le=5)

    @property
    def dag_id(self) -> str:
        return f"etl_{self.source}_{self.destination}"


@dataclass(frozen=True)
class SpecProblem:
    """Why one entry (``index`` in ``pipelines``), or the whole file (``index`` None), gives no DAG."""

    index: int | None
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        where = self.entry if self.index is None else f"pipelines[{self.index}] ({self.entry})"
        return f"{where}, field {self.field!r}: {self.message}"


@dataclass(frozen=True)
class SpecsRead:
    """The valid specs of a file, in file order, and a problem per fault."""

    specs: list[PipelineSpec]
    problems: list[SpecProblem]


@dataclass(frozen=True)
class BuiltDags:
    """The DAGs of the valid specs by DAG id, and the problems that kept the others out."""

    dags: dict[str, DAG]
    problems: list[SpecProblem]


def _entry_name(raw: Any) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("source"), str) and isinstance(raw.get("destination"), str):
        return f"etl_{raw['source']}_{raw['destination']}"
    if isinstance(raw, dict):
        return f"source={raw.get('source', '?')!r}, destination={raw.get('destination', '?')!r}"
    return f"not a mapping: {raw!r}"[:80]


def _problems_of(index: int, name: str, error: ValidationError) -> list[SpecProblem]:
    found = []
    for e in error.errors():
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in e["loc"]).lstrip(".")
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = f"unknown key; allowed keys: {', '.join(PipelineSpec.model_fields)}"
        elif e["type"] == "missing":
            message = "required key missing"
        elif not e["type"].startswith("value_error"):
            message = f"{message}, found {e['input']!r}"
        found.append(SpecProblem(index, name, field, message))
    return found


def load_specs(path: str | Path) -> SpecsRead:
    """The valid :class:`PipelineSpec` of the YAML at ``path`` and a :class:`SpecProblem` for each fault."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return SpecsRead([], [SpecProblem(None, str(path), "file", "no such file; create it or fix the path")])
    except yaml.YAMLError as exc:
        parse_error = " ".join(str(exc).split())
        return SpecsRead([], [SpecProblem(None, str(path), "yaml", f"the file does not parse: {parse_error}")])
    pipelines = document.get("pipelines") if isinstance(document, dict) else None
    if not isinstance(pipelines, list):
        found = type(pipelines).__name__ if isinstance(document, dict) else f"a top level of {type(document).__name__}"
        return SpecsRead([], [SpecProblem(None, str(path), "pipelines", "expected a top-level `pipelines:` list of "
                                          f"entries, found {found}; see dags/configs/pipelines.yaml")])
    specs: list[PipelineSpec] = []
    problems: list[SpecProblem] = []
    first_at: dict[str, int] = {}
    for index, raw in enumerate(pipelines):
        name = _entry_name(raw)
        if not isinstance(raw, dict):
            problems.append(SpecProblem(index, name, "entry", "expected a mapping of source, destination, ..."))
            continue
        try:
            spec = PipelineSpec.model_validate(raw)
        except ValidationError as exc:
            problems += _problems_of(index, name, exc)
            continue
        if spec.dag_id in first_at:
            problems.append(SpecProblem(index, name, "source, destination", (
                f"duplicate DAG id {spec.dag_id!r}, already defined by pipelines[{first_at[spec.dag_id]}]: "
                "the guide's globals() loop would keep only the last one; give each pipeline its own pair")))
            continue
        first_at[spec.dag_id] = index
        specs.append(spec)
    return SpecsRead(specs, problems)


def create_dag(spec: PipelineSpec) -> DAG:
    """The DAG of one spec: ``extract >> transform >> load`` of ``source`` into ``destination``.

    Each run copies within the PostgreSQL schema of its conf (``{"schema": ...}``), a full refresh
    published in one transaction, so a rerun leaves the same rows. The tasks import the SQL code
    when they run, not when the file is parsed.
    """
    from airflow.sdk import DAG, task  # type: ignore[import-not-found, unused-ignore]

    source, destination, steps = spec.source, spec.destination, list(spec.transformations)
    with DAG(dag_id=spec.dag_id, schedule=spec.schedule, start_date=START_DATE, catchup=False, max_active_runs=1,
             tags=list(TAGS), description=f"copy {source} to {destination}: {', '.join(steps) or 'as is'}",
             default_args={"retries": spec.retries, "retry_delay": timedelta(seconds=10)}) as dag:

        @task(task_id="extract")
        def extract(dag_run=None) -> dict:
            from pipeline_patterns.orchestration import table_copy

            return table_copy.extract(table_copy.schema_from_conf(dag_run.conf), source)

        @task(task_id="transform")
        def transform(extracted) -> dict:  # an XComArg when the DAG is built, a dict when run
            from pipeline_patterns.orchestration import table_copy

            return table_copy.transform(extracted["schema"], source, destination, steps)

        @task(task_id="load")
        def load(staged) -> dict:
            from pipeline_patterns.orchestration import table_copy

            return table_copy.load(staged["schema"], destination)

        load(transform(extract()))
    return dag


def build_dags(path: str | Path) -> BuiltDags:
    """A DAG per valid entry of the YAML at ``path``, and the problems of the others (never raises for them)."""
    read = load_specs(path)
    return BuiltDags({spec.dag_id: create_dag(spec) for spec in read.specs}, read.problems)
