"""The skeleton's files agree with each other: pins, compose images, settings names."""

from __future__ import annotations

import json
import re
import tomllib

import jsonschema
import yaml

from pipeline_patterns.config import PROJECT_DIR, Settings, versions

# A copy kept in the repo (source and licence in stack/schemas/README.md): the tests need nothing outside it.
COMPOSE_SCHEMA = PROJECT_DIR / "stack" / "schemas" / "compose-spec.json"


def pyproject() -> dict:
    return tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for req in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)\s*", req)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_pyproject_pins_equal_versions_toml():
    project = pyproject()["project"]
    pinned = pins(project["dependencies"] + project["optional-dependencies"]["orchestration"])
    assert pinned == versions()["python"]


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((PROJECT_DIR / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in conda and "openjdk=17" in conda and "maven" in conda
    assert pyproject()["project"]["requires-python"] == ">=3.11"
    pip_pins = pins([p for p in pip_section if not p.startswith("-e")])
    pyproject_pins = pins(pyproject()["project"]["dependencies"])
    assert pip_pins == pyproject_pins, "environment.yml pins differ from pyproject.toml"
    assert "-e .[dev]" in pip_section


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_constraints_lock_every_requirement_at_the_pinned_versions():
    lines = (PROJECT_DIR / "constraints.txt").read_text().splitlines()
    locked = {normalised(name): version for name, version in pins([x for x in lines if not x.startswith("#")]).items()}
    project = pyproject()["project"]
    for name, version in pins(project["dependencies"]).items():
        assert locked[normalised(name)] == version, f"constraints.txt has {name}=={locked[normalised(name)]}"
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + [r for extra in ("notebooks", "test", "lint", "orchestration")
                                        for r in extras[extra]]
    names = {normalised(re.match(r"[A-Za-z0-9_.\-]+", r).group()) for r in wanted}
    assert names <= set(locked), f"missing from constraints.txt (run `make lock`): {sorted(names - set(locked))}"
    # Airflow's own constraints file cannot be downloaded here: the lock pins Airflow and what it needs
    assert locked["apache-airflow"] == versions()["python"]["apache-airflow"]
    assert locked["apache-airflow-core"] == versions()["python"]["apache-airflow"]
    assert "orchestration" in re.search(r"pipeline-patterns\[([^\]]*)\]", str(extras["dev"])).group(1)
    assert "-c constraints.txt" in (PROJECT_DIR / "Makefile").read_text()


def test_spark_connector_matches_pyspark():
    v = versions()
    assert v["jvm"]["spark"] == v["python"]["pyspark"]
    assert v["jvm"]["delta"] == v["python"]["delta-spark"]
    spark_minor = ".".join(v["python"]["pyspark"].split(".")[:2])
    assert v["jvm"]["delta-spark-artifact"] == f"delta-spark_{spark_minor}_2.13"


def compose() -> dict:
    return yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_spec():
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(compose())


def test_compose_images_use_the_pinned_versions():
    v = versions()
    services = compose()["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{v['jvm']['kafka']}"
    assert services["postgres"]["image"].startswith(f"postgres:{v['services']['postgresql']}")
    assert services["spark-master"]["image"] == f"apache/spark:{v['python']['pyspark']}-java17-python3"
    assert services["spark-worker"]["image"] == services["spark-master"]["image"]
    connect_args = services["connect"]["build"]["args"]
    assert connect_args["KAFKA_VERSION"] == v["jvm"]["kafka"]
    assert connect_args["DEBEZIUM_VERSION"] == v["jvm"]["debezium"]


def test_compose_binds_every_port_to_loopback_only():
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond 127.0.0.1"


def test_compose_postgres_has_logical_wal_and_no_trust_auth():
    pg = compose()["services"]["postgres"]
    command = " ".join(pg["command"])
    assert "wal_level=logical" in command
    env = pg["environment"]
    assert env.get("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256") != "trust"
    assert env["POSTGRES_PASSWORD"] == "${PGPASSWORD:?set PGPASSWORD in .env}"


def test_env_example_names_every_setting_and_env_is_ignored():
    example = dict(
        line.split("=", 1) for line in (PROJECT_DIR / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    aliases = {f.alias for f in Settings.model_fields.values()} - {"STACK_STATE_DIR"}
    assert set(example) == aliases
    assert ".env" in (PROJECT_DIR / ".gitignore").read_text().splitlines()


def test_readme_shows_the_two_commands():
    readme = (PROJECT_DIR / "README.md").read_text()
    for command in ("make run", "make test", "make lab", "docker compose"):
        assert command in readme


def test_ci_script_calls_make_test():
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text()


def test_ci_lints_first_and_unit_tests_and_lint_skip_setup():
    commands = [line.split("#")[0].strip() for line in (PROJECT_DIR / ".ci" / "run").read_text().splitlines()]
    assert commands.index("make lint") < commands.index("make test")
    rules = {line.split(":", 1)[0]: line.split(":", 1)[1].split("##")[0]
             for line in (PROJECT_DIR / "Makefile").read_text().splitlines() if re.match(r"[a-z-]+:", line)}
    for target in ("test-unit", "lint"):  # no jars, Java or PostgreSQL: `setup` is not a prerequisite
        assert "setup" not in rules[target].split(), rules[target]
    assert "setup" in rules["test"].split()


def test_every_notebook_has_parameters_and_assertions_and_no_sys_path():
    notebooks = sorted((PROJECT_DIR / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        nb = json.loads(path.read_text())
        tags = [t for c in nb["cells"] for t in c["metadata"].get("tags", [])]
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert "parameters" in tags, path.name
        assert "assert " in code, path.name
        assert "sys.path" not in code, path.name
        assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), \
            f"{path.name}: commit notebooks without outputs (runs/ holds executed copies)"


def test_test_file_names_are_unique_across_test_folders():
    """pytest imports test files by basename (rootdir-relative, no packages): a repeated name stops collection."""
    seen: dict[str, list[str]] = {}
    for path in sorted((PROJECT_DIR / "tests").rglob("test_*.py")):
        seen.setdefault(path.name, []).append(str(path.relative_to(PROJECT_DIR)))
    repeated = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert repeated == {}, f"rename one of each: {repeated}"
