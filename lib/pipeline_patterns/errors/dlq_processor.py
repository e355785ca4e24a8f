"""``python -m pipeline_patterns.errors.dlq_processor``: the DLQ processor as an OS process.

It reads INPUT from the group's committed offsets up to the end offsets seen at start,
writes each record to OUTPUT or to the DLQ, commits after the writes are acknowledged,
prints its counts as JSON and exits — so tests can ``kill -9`` it and start it again.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import click

from pipeline_patterns.errors.dlq import DlqProcessorConfig, run
from pipeline_patterns.errors.dlq_audit import committed_total
from pipeline_patterns.errors.dlq_retry import RetryPolicy
from pipeline_patterns.errors.fakes.risk_service import RiskService
from pipeline_patterns.faults import ProcessorRun, module_command

MODULE = "pipeline_patterns.errors.dlq_processor"


def command(input_topic: str, output_topic: str, dlq_topic: str, group_id: str, **options: object) -> list[str]:
    """The processor's command line; ``options`` are the CLI's (``down_share=0.02``, ``commit_before_ack=True``)."""
    args = ["--input", input_topic, "--output", output_topic, "--dlq", dlq_topic, "--group", group_id]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value not in (False, None):
            args += [flag, str(value)]
    return module_command(MODULE, *args)


def kill_points(total: int, kills: int, seed: int) -> list[int]:
    """One seeded progress threshold in each of ``kills`` equal slices of the middle 80% of ``total``."""
    rng = random.Random(seed)
    width = 0.8 * total / kills if kills else 0
    return [int(0.1 * total + width * (i + rng.uniform(0.2, 0.8))) for i in range(kills)]


def run_with_kills(cmd: list[str], group_id: str, kill_at: list[int], log: Path,
                   timeout_s: float = 300) -> tuple[ProcessorRun, list[int]]:
    """Start, ``kill -9`` once committed progress passes each threshold, restart; run to the end.

    Returns the run and the committed progress right after each kill that hit a running
    process. Progress is the group's committed offsets, read independently of the processor.
    """
    run, landed = ProcessorRun(cmd, log=log), []
    for threshold in kill_at:
        run.start()
        if run.kill_when(lambda: committed_total(group_id), threshold, timeout_s=timeout_s):
            landed.append(committed_total(group_id))
    run.start()
    run.wait(timeout_s=timeout_s)
    return run, landed


@click.command()
@click.option("--input", "input_topic", required=True, help="Topic with the raw order events.")
@click.option("--output", "output_topic", required=True, help="Topic for processed orders.")
@click.option("--dlq", "dlq_topic", required=True, help="Dead letter topic.")
@click.option("--group", "group_id", required=True, help="Consumer group whose offsets mark progress.")
@click.option("--max-poll-records", type=int, default=100, show_default=True)
@click.option("--max-retries", type=int, default=3, show_default=True)
@click.option("--backoff-ms", type=float, default=10.0, show_default=True, help="First retry backoff (doubles).")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the risk service's timeouts.")
@click.option("--down-share", type=float, default=0.0, show_default=True,
              help="Share of orders the risk service never answers.")
@click.option("--flaky-share", type=float, default=0.0, show_default=True,
              help="Share of orders it answers after one or two timeouts.")
@click.option("--commit-before-ack", is_flag=True, help="The guide's bug: commit before the writes are acknowledged.")
@click.option("--linger-ms", type=int, default=5, show_default=True, help="Producer linger.ms.")
def main(input_topic: str, output_topic: str, dlq_topic: str, group_id: str, max_poll_records: int,
         max_retries: int, backoff_ms: float, seed: int, down_share: float, flaky_share: float,
         commit_before_ack: bool, linger_ms: int) -> None:
    """Process INPUT into OUTPUT or the DLQ until caught up, then exit."""
    policy = RetryPolicy(max_retries=max_retries, backoff_s=backoff_ms / 1000,
                         max_backoff_s=max(backoff_ms, 200) / 1000)
    cfg = DlqProcessorConfig(input_topic, output_topic, dlq_topic, group_id, max_poll_records=max_poll_records,
                             policy=policy, commit_before_ack=commit_before_ack, linger_ms=linger_ms)
    stats = run(cfg, RiskService(seed=seed, down_share=down_share, flaky_share=flaky_share))
    click.echo(json.dumps(stats.as_dict()))


if __name__ == "__main__":
    main()
