"""Lesson 00's exercise: a Debezium connector config that runs on the kit's PostgreSQL and keeps its secret."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.ingestion.debezium import debezium_postgres_config

PREFIX, TABLE, SLOT = "tour_cdc", "public.tour_orders", "tour_slot"
DEBEZIUM_DEFAULT_PLUGIN = "decoderbufs"  # what Debezium's PostgreSQL connector uses when plugin.name is not set
PLACEHOLDER = re.compile(r"\$\{(\w+):([^}]*)\}")  # a Kafka config provider's ${provider:key}


@exercise("00.a_connector_that_runs_and_keeps_its_secret", "fix a first-draft Debezium connector config")
def a_connector_that_runs_and_keeps_its_secret(your_config: object) -> Verdict:
    if not isinstance(your_config, Mapping):
        return wrong(f"expected a dict of connector settings, found {type(your_config).__name__}")
    config = {key: str(value) for key, value in your_config.items()}
    reference = debezium_postgres_config(PREFIX, [TABLE], SLOT)  # the config the tour registers
    for key in ("connector.class", "database.user"):
        if config.get(key) != reference[key]:
            return wrong(f"{key} is {config.get(key)!r}: keep the draft's value (the tour's PostgreSQL connector, "
                         "connecting as the kit's own role)")
    plugin = config.get("plugin.name", DEBEZIUM_DEFAULT_PLUGIN)
    if plugin != reference["plugin.name"]:
        where = "not set, so Debezium uses its default" if "plugin.name" not in config else "set to"
        return wrong(f"plugin.name is {where} {plugin!r}: a logical decoding plugin that must be compiled into the "
                     "PostgreSQL server, and the kit's has no such plugin; PostgreSQL 10+ has one built in")
    password = config.get("database.password", "")
    if not password:
        return wrong("database.password is not set: Debezium logs in as database.user and needs its password")
    placeholder = PLACEHOLDER.fullmatch(password)
    if placeholder is None:
        return wrong("database.password holds the password itself, and Kafka Connect's REST API "
                     "(GET /connectors/<name>/config) returns the config to anyone who asks: give the worker a "
                     "placeholder it resolves from its own environment instead")
    if placeholder.group(1) != "env":
        return wrong(f"the kit's Connect worker has one config provider, env (its environment); none named "
                     f"{placeholder.group(1)!r}")
    if password != reference["database.password"]:
        return wrong(f"the worker resolves {password} from its environment, but {placeholder.group(2)} is not where "
                     f"it keeps the password of {config['database.user']} (stack/connect_service.py passes the "
                     "worker its variables)")
    if "topic.prefix" not in config:
        gone = " (database.server.name is gone since Debezium 2.0)" if "database.server.name" in config else ""
        return wrong(f"topic.prefix is not set{gone}: Debezium requires it, and it starts every topic name")
    tables = config.get("table.include.list", "").split(",")
    topics = [f"{config['topic.prefix']}.{table.strip()}" for table in tables]
    wanted = f"{reference['topic.prefix']}.{TABLE}"
    if wanted not in topics:
        return wrong(f"the changes would arrive on {', '.join(topics)}; the tour reads them from {wanted} "
                     "(topic.prefix, then schema and table)")
    return right(f"{plugin} decodes the WAL, the password stays in the worker's environment, and the changes of "
                 f"{TABLE} arrive on {wanted}")
