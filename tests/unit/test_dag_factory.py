"""Lesson 16's dynamic DAGs: the kit's factory loses only a bad entry, the guide's loses the whole file.

No stack and no PostgreSQL. The spec tests need croniter and the DagBag tests Airflow (the
orchestration extra, ``make test``); the DagBag runs once, in a child process with a throw-away
``AIRFLOW_HOME``, over every folder below. The SQL of ``table_copy`` is composed and read without a
database (``as_string(None)``), so those tests run in ``make test-unit`` too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline_patterns.config import PROJECT_DIR
from pipeline_patterns.orchestration import table_copy
from pipeline_patterns.orchestration.dag_factory import SpecProblem, load_specs

orchestration = pytest.mark.orchestration
SHIPPED = PROJECT_DIR / "dags" / "configs" / "pipelines.yaml"
SHIPPED_IDS = ["etl_customers_customers_clean", "etl_orders_orders_clean", "etl_payments_payments_clean"]
ALLOWED = "trim_names, lowercase_email, drop_test_rows"

# One fault per entry, two good entries (0 and 8) around them.
FAULTS = """\
pipelines:
  - {source: customers, destination: customers_clean, transformations: [trim_names, lowercase_email]}
  - {source: orders, transformations: [drop_test_rows]}
  - {source: payments, destination: payments_clean, transformations: [], retries: "3"}
  - {source: refunds, destination: refunds_clean, transformations: [trim_names, uppercase_all]}
  - {source: invoices, destination: invoices_clean, transformations: [], schedule: "0 25 * * *"}
  - {source: shipments, destination: shipments_clean, transformations: [], schedule_interval: "@daily"}
  - {source: products, destination: products_clean, transformations: trim_names}
  - {source: "users; drop table x", destination: users_clean, transformations: []}
  - {source: suppliers, destination: suppliers_clean, transformations: [], schedule: "@hourly", retries: 3}
"""
FAULT_PROBLEMS = [
    (1, "source='orders', destination='?'", "destination", "required key missing"),
    (2, "etl_payments_payments_clean", "retries", "Input should be a valid integer, found '3'"),
    (3, "etl_refunds_refunds_clean", "transformations[1]",
        f"unknown transformation 'uppercase_all'; allowed: {ALLOWED}"),
    (4, "etl_invoices_invoices_clean", "schedule", "expected a cron preset (@hourly, @daily, @weekly, @monthly, "
        "@quarterly, @yearly) or a 5-field cron expression (minute hour day month weekday) that fires, found "
        "'0 25 * * *'"),
    (5, "etl_shipments_shipments_clean", "schedule_interval",
        "unknown key; allowed keys: source, destination, transformations, schedule, retries"),
    (6, "etl_products_products_clean", "transformations", "Input should be a valid list, found 'trim_names'"),
    (7, "etl_users; drop table x_users_clean", "source", "expected a lowercase SQL identifier (a letter, then "
        "letters, digits or _, at most 40 characters), found 'users; drop table x'"),
]
GOOD = """\
pipelines:
  - {source: customers, destination: customers_clean, transformations: [trim_names]}
  - {source: orders, destination: orders_clean, transformations: []}
"""
ONE_MISSING_KEY = GOOD + "  - {source: payments, transformations: []}\n"
ONE_BAD_CRON = GOOD + ("  - {source: payments, destination: payments_clean, transformations: [], "
                       "schedule: '0 25 * * *'}\n")
DUPLICATE = GOOD + "  - {source: orders, destination: orders_clean, transformations: [], schedule: '@hourly'}\n"
CHAIN = {"extract": ["transform"], "transform": ["load"], "load": []}


def write(folder: Path, text: str) -> Path:
    path = folder / "pipelines.yaml"
    path.write_text(text)
    return path


# -- the specs ------------------------------------------------------------------------------------
@orchestration
def test_the_shipped_config_gives_three_specs_and_no_problem():
    read = load_specs(SHIPPED)
    assert [s.dag_id for s in read.specs] == SHIPPED_IDS and read.problems == []
    assert [(s.schedule, s.retries, s.transformations) for s in read.specs] == [
        ("@daily", 2, ["trim_names", "lowercase_email", "drop_test_rows"]), ("30 2 * * *", 1, ["drop_test_rows"]),
        ("@hourly", 0, [])]


@orchestration
def test_each_bad_entry_is_one_problem_naming_it_and_its_field_and_the_others_stay(tmp_path):
    read = load_specs(write(tmp_path, FAULTS))
    assert [s.dag_id for s in read.specs] == ["etl_customers_customers_clean", "etl_suppliers_suppliers_clean"]
    assert [(p.index, p.entry, p.field, p.message) for p in read.problems] == FAULT_PROBLEMS
    assert str(read.problems[2]) == (f"pipelines[3] (etl_refunds_refunds_clean), field 'transformations[1]': "
                                     f"unknown transformation 'uppercase_all'; allowed: {ALLOWED}")


@orchestration
def test_a_repeated_dag_id_is_refused_at_its_second_position_naming_the_first(tmp_path):
    read = load_specs(write(tmp_path, DUPLICATE))
    assert [s.dag_id for s in read.specs] == ["etl_customers_customers_clean", "etl_orders_orders_clean"]
    assert read.specs[1].schedule == "@daily"  # the first one is kept
    assert read.problems == [SpecProblem(2, "etl_orders_orders_clean", "source, destination", (
        "duplicate DAG id 'etl_orders_orders_clean', already defined by pipelines[1]: the guide's globals() loop "
        "would keep only the last one; give each pipeline its own pair"))]


@orchestration
@pytest.mark.parametrize(("text", "field", "start"), [
    ("pipelines: [source: customers\n", "yaml", "the file does not parse: while parsing a flow sequence"),
    ("pipeline:\n  - {source: a, destination: b, transformations: []}\n", "pipelines",
     "expected a top-level `pipelines:` list of entries, found NoneType"),
    ("- {source: a, destination: b, transformations: []}\n", "pipelines",
     "expected a top-level `pipelines:` list of entries, found a top level of list"),
    ("pipelines: {source: a}\n", "pipelines", "expected a top-level `pipelines:` list of entries, found dict"),
])
def test_a_file_that_does_not_parse_or_has_no_pipelines_list_is_one_problem(tmp_path, text, field, start):
    path = write(tmp_path, text)
    read = load_specs(path)
    assert read.specs == [] and len(read.problems) == 1
    assert (read.problems[0].index, read.problems[0].entry, read.problems[0].field) == (None, str(path), field)
    assert read.problems[0].message.startswith(start), read.problems[0].message


@orchestration
def test_a_missing_file_is_one_problem(tmp_path):
    assert load_specs(tmp_path / "absent.yaml").problems == [
        SpecProblem(None, str(tmp_path / "absent.yaml"), "file", "no such file; create it or fix the path")]


@orchestration
@pytest.mark.parametrize(("entry", "field"), [
    ("{source: a, destination: b, transformations: [], retries: 6}", "retries"),
    ("{source: a, destination: b, transformations: [], retries: true}", "retries"),
    ("{source: a, destination: B, transformations: []}", "destination"),
    (f"{{source: {'a' * 41}, destination: b, transformations: []}}", "source"),
    ("{source: a, destination: b, transformations: [], schedule: '* * * * * *'}", "schedule"),
    ("{source: a, destination: b, transformations: [], schedule: '@once'}", "schedule"),
    ("{source: a, destination: b, transformations: [], schedule: '0 0 31 2 *'}", "schedule"),
    ("a plain string", "entry"),
])
def test_out_of_bounds_values_are_refused(tmp_path, entry, field):
    read = load_specs(write(tmp_path, f"pipelines:\n  - {entry}\n"))
    assert read.specs == [] and [p.field for p in read.problems] == [field]


# -- what Airflow's DagBag makes of it -------------------------------------------------------------
@pytest.fixture(scope="module")
def bags(tmp_path_factory) -> dict:
    """One DagBag child for: the shipped dags/, the kit's DAG file on FAULTS, the guide's on four configs."""
    from pipeline_patterns.orchestration.dagbag_report import load_dag_folders
    from pipeline_patterns.orchestration.pitfalls import write_guide_factory

    root = tmp_path_factory.mktemp("dagbags")
    (root / "kit" / "configs").mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "dags" / "dynamic_pipelines.py", root / "kit")
    write(root / "kit" / "configs", FAULTS)
    folders = {"shipped": PROJECT_DIR / "dags", "kit": root / "kit"}
    for name, text in [("guide_bad", ONE_MISSING_KEY), ("guide_good", GOOD), ("guide_cron", ONE_BAD_CRON),
                       ("guide_duplicate", DUPLICATE)]:
        write_guide_factory(root / name, text)
        folders[name] = root / name
    return dict(zip(folders, load_dag_folders(list(folders.values())), strict=True))


@orchestration
def test_the_shipped_dags_load_with_the_generated_dags_and_the_fan_out(bags):
    shipped = bags["shipped"]
    assert shipped.import_errors == {} and shipped.problems == []
    by_file = {d: shape.file for d, shape in shipped.dags.items()}
    assert sorted(d for d, f in by_file.items() if f == "dynamic_pipelines.py") == SHIPPED_IDS
    specs = {s.dag_id: s for s in load_specs(SHIPPED).specs}
    for dag_id in SHIPPED_IDS:
        shape = shipped.dags[dag_id]
        assert (shape.tasks, shape.mapped, shape.tags) == (CHAIN, [], ["dynamic", "kit"])
        assert shape.schedule == specs[dag_id].schedule
    fan_out = shipped.dags["fan_out_tables"]
    assert (fan_out.file, fan_out.schedule, fan_out.mapped) == ("fan_out_tables.py", None, ["copy_table"])
    assert fan_out.tasks == {"list_tables": ["copy_table"], "copy_table": ["summarize"], "summarize": []}


@orchestration
def test_the_kit_factory_keeps_the_good_dags_and_logs_each_bad_entry(bags, tmp_path):
    kit = bags["kit"]
    assert kit.dag_ids == ["etl_customers_customers_clean", "etl_suppliers_suppliers_clean"]
    assert kit.import_errors == {}
    assert kit.problems == [f"pipelines.yaml: {p}" for p in load_specs(write(tmp_path, FAULTS)).problems]
    assert len(kit.problems) == len(FAULT_PROBLEMS)
    assert kit.dags["etl_suppliers_suppliers_clean"].schedule == "@hourly"


@orchestration
def test_the_guide_factory_loses_every_dag_of_its_file_to_one_missing_key(bags):
    assert bags["guide_bad"].dag_ids == []
    assert bags["guide_bad"].import_errors == {"guide_etl_factory.py": "KeyError: 'destination'"}


@orchestration
def test_the_guide_factory_with_good_entries_loads_them_all(bags):
    good = bags["guide_good"]
    assert good.dag_ids == ["etl_customers_customers_clean", "etl_orders_orders_clean"]
    assert good.import_errors == {} and all(shape.tasks == CHAIN for shape in good.dags.values())


@orchestration
def test_the_guide_factory_bad_cron_is_an_import_error_the_dagbag_finds_later(bags):
    cron = bags["guide_cron"]
    assert cron.dag_ids == ["etl_customers_customers_clean", "etl_orders_orders_clean"]
    assert cron.import_errors == {
        "guide_etl_factory.py": "AirflowTimetableInvalid: [0 25 * * *] is not acceptable, out of range"}


@orchestration
def test_the_guide_factory_duplicate_silently_leaves_one_of_the_two(bags):
    duplicate = bags["guide_duplicate"]
    assert duplicate.dag_ids == ["etl_customers_customers_clean", "etl_orders_orders_clean"]
    assert duplicate.import_errors == {} and duplicate.problems == []
    # Not even surely the last: Airflow 3 gathers a file's DAGs (globals and auto-registered) in a set.
    assert duplicate.dags["etl_orders_orders_clean"].schedule in ("@daily", "@hourly")


# -- table_copy's SQL, composed without a database --------------------------------------------------
def text(composed) -> str:
    return composed.as_string(None)


def test_transformations_become_expressions_and_filters_on_quoted_identifiers():
    query = table_copy.select_transformed("lesson 16", "customers", ["id", "name", "email", "is_test"],
                                          ["trim_names", "lowercase_email", "drop_test_rows"])
    assert text(query) == ('SELECT "id", btrim("name") AS "name", lower("email") AS "email", "is_test" '
                           'FROM "lesson 16"."customers" WHERE "is_test" IS NOT TRUE')
    plain = table_copy.select_transformed("s", "payments", ["id", "amount"], [])
    assert text(plain) == 'SELECT "id", "amount" FROM "s"."payments"'


def test_stage_and_load_statements_replace_the_rows_from_the_stage():
    stage = table_copy.stage_statements("s", "orders", "orders_clean", ["id", "is_test"], ["drop_test_rows"])
    assert [text(q) for q in stage] == [
        'DROP TABLE IF EXISTS "s"."orders_clean_stage"',
        'CREATE TABLE "s"."orders_clean_stage" (LIKE "s"."orders")',
        'INSERT INTO "s"."orders_clean_stage" ("id", "is_test") SELECT "id", "is_test" FROM "s"."orders" '
        'WHERE "is_test" IS NOT TRUE']
    assert [text(q) for q in table_copy.load_statements("s", "orders_clean", ["id", "is_test"])] == [
        'CREATE TABLE IF NOT EXISTS "s"."orders_clean" (LIKE "s"."orders_clean_stage")',
        'DELETE FROM "s"."orders_clean"',
        'INSERT INTO "s"."orders_clean" ("id", "is_test") SELECT "id", "is_test" FROM "s"."orders_clean_stage"']


def test_a_hostile_schema_name_stays_one_quoted_identifier():
    query = table_copy.select_transformed('x"; DROP TABLE t; --', "orders", ["id"], [])
    assert text(query) == 'SELECT "id" FROM "x""; DROP TABLE t; --"."orders"'


def test_a_transformation_whose_column_is_missing_is_refused_naming_the_columns():
    with pytest.raises(ValueError, match=r"need the columns \['email'\] in s.orders, which has \['id', 'name'\]"):
        table_copy.select_transformed("s", "orders", ["id", "name"], ["lowercase_email"])


@pytest.mark.parametrize("conf", [None, {}, {"schema": ""}, {"schema": 3}])
def test_a_run_without_a_schema_in_its_conf_is_refused_with_the_fix(conf):
    with pytest.raises(ValueError, match='trigger the DAG with that conf'):
        table_copy.schema_from_conf(conf)
    assert table_copy.schema_from_conf({"schema": "lesson16"}) == "lesson16"
