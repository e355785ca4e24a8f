"""Reference solutions for lesson 00 (instructors): graded by `check(..., solutions=True)`."""

from pipeline_patterns.config import get_settings

_s = get_settings()

# The two fixes of section 4's pitfall: pgoutput, the decoder built into PostgreSQL 10+ (Debezium's default,
# decoderbufs, needs a server plugin), and the password as ${env:PGPASSWORD}, resolved by the Connect worker from
# its environment (its EnvVarConfigProvider), so the REST API shows only the placeholder.
a_connector_that_runs_and_keeps_its_secret = {
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "plugin.name": "pgoutput",
    "database.hostname": _s.connect_pghost or _s.pghost,
    "database.port": str(_s.pgport),
    "database.user": _s.pguser,
    "database.password": "${env:PGPASSWORD}",
    "database.dbname": _s.pgdatabase,
    "topic.prefix": "tour_cdc",
    "table.include.list": "public.tour_orders",
    "slot.name": "tour_slot",
}
