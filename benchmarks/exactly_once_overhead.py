"""At-least-once vs transactional throughput of the same read-process-write, in two clients.

    .venv/bin/python benchmarks/exactly_once_overhead.py [--records 30000] [--rounds 2]

Both clients run the same loop on the same input topic: read with ``read_committed``, apply
``kafka_transactions.transform``, write, and commit the input offsets — in one transaction
(``transactional``) or by flush-then-commit (``at-least-once``) — every ``commit interval``.

* kafka-python: ``pipeline_patterns.exactly_once.kafka_transactions.run`` (the lessons' processor).
  It checks and computes CRC32C in pure Python unless the optional ``crc32c`` package is
  installed (``pip install crc32c``; kafka-python imports ``from crc32c import crc32c``).
  With the package installed, ``kafka-python/py-crc`` is the same processor with kafka-python's
  pure-Python CRC32C swapped back in, interleaved in the same run: the accelerator's effect.
* confluent-kafka (librdkafka): :func:`confluent_run` below, the same loop with
  ``init_transactions``/``begin_transaction``/``send_offsets_to_transaction`` (with the consumer's
  group metadata)/``commit_transaction``. Guarantee, as for the kafka-python processor: a
  ``read_committed`` reader of the output sees each input record's result once when the run
  completes (this benchmark does not crash it; lesson 09 and the reliability tests do that to the
  kafka-python one).

Prints records/s per (client, mode, commit interval) as the median of interleaved rounds, the
same-run ratio transactional / at-least-once per client, and fails if any run committed other
than exactly ``--records`` records. Needs the stack (``make up``).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline_patterns.exactly_once.throughput import Measurement

CLIENTS = ("kafka-python", "kafka-python/py-crc", "confluent-kafka")
MODES = ("at-least-once", "transactional")


def confluent_run(input_topic: str, output_topic: str, group_id: str, mode: str, commit_interval_ms: int,
                  bootstrap: str) -> tuple[int, int, float]:
    """The read-process-write loop with confluent-kafka, up to the end offsets seen at start.

    Returns (records committed, commits, seconds). Offsets are committed under ``group_id``
    (inside the transaction when ``mode == "transactional"``), starting from the group's
    committed offsets, like the kafka-python processor.
    """
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    from pipeline_patterns.exactly_once.kafka_transactions import transform
    from pipeline_patterns.kafka_client import SOURCE_HEADER, source_position

    transactional = mode == "transactional"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False,
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    producer_conf = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5}
    if transactional:
        producer_conf["transactional.id"] = f"{group_id}-{input_topic}"
    producer = Producer(producer_conf)
    started = time.perf_counter()
    committed = commits = 0
    try:
        if transactional:
            producer.init_transactions(30)
        partitions = sorted(consumer.list_topics(input_topic, timeout=10).topics[input_topic].partitions)
        tps = [TopicPartition(input_topic, p) for p in partitions]
        low_high = {p: consumer.get_watermark_offsets(TopicPartition(input_topic, p), timeout=10) for p in partitions}
        position = {tp.partition: (tp.offset if tp.offset >= 0 else low_high[tp.partition][0])
                    for tp in consumer.committed(tps, timeout=10)}
        end = {p: high for p, (_, high) in low_high.items()}
        consumer.assign([TopicPartition(input_topic, p, position[p]) for p in partitions])
        while any(position[p] < end[p] for p in partitions):
            if transactional:
                producer.begin_transaction()
            written, deadline = 0, time.perf_counter() + commit_interval_ms / 1000
            touched: set[int] = set()
            while time.perf_counter() < deadline and any(position[p] < end[p] for p in partitions):
                for msg in consumer.consume(num_messages=500, timeout=0.1):
                    if msg.error():
                        raise KafkaException(msg.error())
                    p, offset = msg.partition(), msg.offset()
                    if offset >= end[p]:
                        continue
                    value = transform(msg.value())
                    headers = [(SOURCE_HEADER, source_position(input_topic, p, offset))]
                    while True:
                        try:
                            producer.produce(output_topic, key=msg.key(), value=value, headers=headers)
                            break
                        except BufferError:  # local queue full: serve delivery reports, then retry
                            producer.poll(0.05)
                    position[p] = offset + 1  # the *next* offset to read
                    touched.add(p)
                    written += 1
                producer.poll(0)
            if not touched:
                if transactional:
                    producer.abort_transaction()
                continue
            offsets = [TopicPartition(input_topic, p, position[p]) for p in sorted(touched)]
            if transactional:
                producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
                producer.commit_transaction(30)
            else:
                if producer.flush(30) != 0:
                    raise RuntimeError("records still unacknowledged after 30 s; offsets not committed")
                consumer.commit(offsets=offsets, asynchronous=False)
            commits += 1
            committed += written
        return committed, commits, time.perf_counter() - started
    finally:
        producer.flush(10)
        consumer.close()


@contextmanager
def crc32c_implementation(native: bool):
    """kafka-python's record batches with the crc32c package (when installed) or its pure-Python CRC32C."""
    from kafka.record import _crc32c, default_records, util

    chosen = util.calc_crc32c if native else (lambda memview: _crc32c.crc(memview))
    saved, default_records.calc_crc32c = default_records.calc_crc32c, chosen  # the name the batches call
    try:
        yield
    finally:
        default_records.calc_crc32c = saved


def one_run(client: str, input_topic: str, mode: str, interval_ms: int, partitions: int = 3) -> Measurement:
    from pipeline_patterns import kafka_client
    from pipeline_patterns.config import get_settings
    from pipeline_patterns.exactly_once.audit import audit_ids, topic_event_ids
    from pipeline_patterns.exactly_once.throughput import Measurement, measure

    if client.startswith("kafka-python"):
        with crc32c_implementation(native=client == "kafka-python"):
            m = measure(input_topic, mode, interval_ms, partitions)
        return replace(m, client=client)
    suffix = uuid.uuid4().hex[:8]
    output = f"eos_bench_ck_out_{suffix}"
    kafka_client.create_topic(output, partitions=partitions)
    committed, commits, seconds = confluent_run(input_topic, output, f"eos_bench_ck_{suffix}", mode, interval_ms,
                                                get_settings().kafka_bootstrap_servers)
    # Not timed: an independent read_committed reader sees every input event exactly once.
    audit = audit_ids(topic_event_ids(input_topic), topic_event_ids(output))
    if not audit.exactly_once:
        raise SystemExit(f"confluent-kafka {mode} output is not exactly once: {audit}")
    return Measurement(mode, interval_ms, committed, seconds, commits, client=client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--intervals", default="10,100,1000", help="commit intervals in ms")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset of " + ",".join(CLIENTS))
    args = parser.parse_args()
    from kafka.record import util as record_util

    from pipeline_patterns.exactly_once.throughput import prepare_input

    clients = tuple(c for c in CLIENTS if c in args.clients.split(","))
    if record_util.crc32c_c is None:
        print("kafka-python CRC32C: pure Python — the optional accelerator is MISSING: pip install crc32c")
        clients = tuple(c for c in clients if c != "kafka-python/py-crc")  # the same thing twice
    else:
        print("kafka-python CRC32C: the crc32c package (native); kafka-python/py-crc swaps the pure-Python one back in")
    if "confluent-kafka" in clients:
        try:
            import confluent_kafka
            print(f"confluent-kafka {confluent_kafka.__version__}, librdkafka {confluent_kafka.libversion()[0]}")
        except ImportError:
            clients = tuple(c for c in clients if c != "confluent-kafka")
            print("confluent-kafka is MISSING (pip install confluent-kafka): measuring kafka-python only")

    intervals = tuple(int(i) for i in args.intervals.split(","))
    topic = prepare_input(args.records)
    runs: list[Measurement] = []
    for interval in intervals:
        for _ in range(args.rounds):  # interleaved: drift on a shared machine hits every cell
            for client in clients:
                for mode in MODES:
                    runs.append(one_run(client, topic, mode, interval))

    print(f"\n{args.records} events, 3 partitions, read -> transform -> write, median of {args.rounds} rounds per cell")
    header = f"{'interval':>9}"
    for client in clients:
        header += f" | {client + ' ALO/s':>25} {'txn/s':>7} {'ratio':>5} {'txns':>4}"
    print(header)
    for interval in intervals:
        line = f"{interval:>7}ms"
        for client in clients:
            cell = {mode: [r for r in runs if (r.client, r.mode, r.commit_interval_ms) == (client, mode, interval)]
                    for mode in MODES}
            alo = statistics.median(r.records_per_s for r in cell["at-least-once"])
            txn = statistics.median(r.records_per_s for r in cell["transactional"])
            line += f" | {alo:>25,.0f} {txn:>7,.0f} {txn / alo:>5.2f} {cell['transactional'][0].commits:>4}"
        print(line)
    short = [r for r in runs if r.records != args.records]
    if short:
        raise SystemExit(f"{len(short)} run(s) did not commit exactly {args.records} records: {short}")
    print(f"\nevery run ({len(runs)}) committed exactly {args.records} records")


if __name__ == "__main__":
    main()
