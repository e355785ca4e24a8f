"""The capstone pipeline as its own OS process, so that it can be ``kill -9``-ed and started again.

``python -m pipeline_patterns.capstone.process --lake ... --stop-file ...`` runs the query with a one-second
trigger until the stop file appears (or ``--max-seconds`` pass: then it fails), then processes what is
available and exits with a JSON summary. A restart after a kill resumes from the query's checkpoint: Spark
replays the unfinished batch with its id and offsets (:mod:`.pipeline` says why every step is idempotent).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from pipeline_patterns.capstone.pipeline import DRIVER_CONF, MAX_RECORDS, Capstone
from pipeline_patterns.exactly_once.spark_postgres import RESTART_SAFE_CONF
from pipeline_patterns.spark import SMALL_TABLES_CONF, get_spark, run_until

CONF = {**RESTART_SAFE_CONF, **SMALL_TABLES_CONF, **DRIVER_CONF}


@click.command()
@click.option("--lake", required=True, type=click.Path(path_type=Path))
@click.option("--schema", required=True)
@click.option("--cdc-topic", "cdc_topics", multiple=True, required=True)
@click.option("--payments-topic", required=True)
@click.option("--dlq-topic", required=True)
@click.option("--serving-table", required=True)
@click.option("--grace-ms", type=int, default=3000, show_default=True)
@click.option("--max-records", type=int, default=MAX_RECORDS, show_default=True,
              help="records per micro-batch at most (maxOffsetsPerTrigger)")
@click.option("--stop-file", required=True, type=click.Path(path_type=Path))
@click.option("--max-seconds", type=float, default=3600, show_default=True)
def main(lake: Path, schema: str, cdc_topics: tuple[str, ...], payments_topic: str, dlq_topic: str,
         serving_table: str, grace_ms: int, max_records: int, stop_file: Path, max_seconds: float) -> None:
    """Run the capstone pipeline until STOP_FILE exists, then catch up and exit."""
    started = time.monotonic()
    pipeline = Capstone(get_spark("capstone", conf=CONF), lake, schema, list(cdc_topics), payments_topic,
                        dlq_topic, serving_table, grace_ms=grace_ms)
    query = pipeline.start(trigger_seconds=1, max_records=max_records)
    run_until(query, stop_file.exists, "the capstone pipeline", max_seconds)
    click.echo(json.dumps({"batches": len(pipeline.batches), "records": sum(b["records"] for b in pipeline.batches),
                           "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
