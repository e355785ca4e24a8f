"""Lesson 09's exercises: the offsets a transaction commits, and a transactional id that fences zombies.

No broker here: each check runs a small pure model of the rule lesson 09 states and shows on Kafka. The
read-process-write model is ``kafka_transactions.run``'s loop (output and offsets commit together, a killed
transaction is aborted, a restart reads from the committed offsets); the fencing model is the coordinator's
rule (``init_transactions`` bumps the id's epoch, aborts its open transaction, and refuses an older epoch's
commit). What a ``read_committed`` reader sees is audited by ``exactly_once.audit.audit_ids``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from pipeline_patterns import datagen
from pipeline_patterns.exactly_once.audit import audit_ids
from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.streaming.partition_keys import partition_for

PARTITIONS = 3
POLLED = (5, 40)               # a transaction takes 5 to 40 records from each partition, as polls come (seeded)
KILLED_IN_BATCH = (3, 2, 5)    # start 1 dies in its 3rd transaction, start 2 in its 2nd, ...: before the commit


class Record(NamedTuple):
    partition: int
    offset: int
    event_id: str


def input_log(n: int = 900, seed: int = 9) -> dict[int, list[Record]]:
    """Seeded user events keyed by user, each partition numbered from offset 0 as Kafka would."""
    log: dict[int, list[Record]] = {p: [] for p in range(PARTITIONS)}
    for event in datagen.user_events(n, seed=seed):
        p = partition_for(event["user_id"], PARTITIONS)
        log[p].append(Record(p, len(log[p]), event["event_id"]))
    return log


def committed_output(log: dict[int, list[Record]], offsets_to_commit: Callable[[list[Record]], Mapping]) -> list[str]:
    """What a ``read_committed`` reader sees after the processor was killed mid-transaction and restarted
    (``KILLED_IN_BATCH``), ran to the end, and was started once more on the same, finished input."""
    rng = random.Random(0)
    committed: dict[int, int] = {}   # the group's committed offsets: where a new start begins reading
    output: list[str] = []           # committed transactions' records only
    for killed_in in (*KILLED_IN_BATCH, None, None):
        position = {p: committed.get(p, 0) for p in log}
        batch_no = 0
        while any(position[p] < len(log[p]) for p in log):
            batch_no += 1
            batch = [r for p in log for r in log[p][position[p]:position[p] + rng.randint(*POLLED)]]
            if batch_no == killed_in:
                break  # kill -9 before the commit: the next start's init_transactions aborts the open transaction
            offsets = offsets_to_commit(batch)
            if not isinstance(offsets, Mapping) or not all(
                    isinstance(p, int) and isinstance(o, int) and not isinstance(o, bool) for p, o in offsets.items()):
                raise TypeError(f"expected a dict {{partition: offset}} of ints, found {offsets!r:.80}")
            output += [r.event_id for r in batch]   # the output records and the offsets commit together
            committed.update(offsets)
            for r in batch:
                position[r.partition] = r.offset + 1  # the consumer reads on from where it is, not from the commit
    return output


@exercise("09.offsets_to_commit", "the offsets a transaction commits so a restart neither repeats nor skips")
def offsets_to_commit(your_offsets: Callable[[list[Record]], Mapping]) -> Verdict:
    log = input_log()
    expected = [r.event_id for records in log.values() for r in records]
    seen = audit_ids(expected, committed_output(log, your_offsets))
    restarts = len(KILLED_IN_BATCH) + 1
    if seen.missing:
        return wrong(f"{seen.missing} of {seen.expected} events never reached a read_committed reader: after a "
                     "restart the processor began reading past records it had not processed yet. Commit, for each "
                     "partition of the batch, an offset in that same partition")
    if seen.duplicates:
        return wrong(f"a read_committed reader saw {seen.duplicates} events twice after {restarts} restarts: each "
                     "restart begins reading at the committed offset, and yours point at records whose output is "
                     "already committed. A committed offset means 'where the next reader starts', per partition")
    return right(f"{seen.expected} events, each seen once by a read_committed reader through {len(KILLED_IN_BATCH)} "
                 "kills and a rerun on the finished input")


# -- fencing ---------------------------------------------------------------------------------------

class Processor(NamedTuple):
    group_id: str
    input_topic: str
    instance: str  # host and pid: different for every start

    def __str__(self) -> str:
        return f"{self.group_id}/{self.input_topic} on {self.instance}"


@dataclass
class Coordinator:
    """Kafka's transaction coordinator, reduced to the fencing rule: one live epoch per transactional id."""

    epochs: dict[str, int] = field(default_factory=dict)
    open: dict[str, list[str]] = field(default_factory=dict)
    committed: list[str] = field(default_factory=list)

    def init_transactions(self, transactional_id: str) -> tuple[str, int]:
        self.epochs[transactional_id] = self.epochs.get(transactional_id, -1) + 1
        self.open.pop(transactional_id, None)  # the previous epoch's open transaction is aborted
        return transactional_id, self.epochs[transactional_id]

    def write(self, producer: tuple[str, int], value: str) -> None:
        if producer[1] == self.epochs[producer[0]]:
            self.open.setdefault(producer[0], []).append(value)

    def commit(self, producer: tuple[str, int]) -> bool:
        """False: ProducerFencedError, a newer epoch of this id exists."""
        if producer[1] != self.epochs[producer[0]]:
            return False
        self.committed += self.open.pop(producer[0], [])
        return True


PROCESSORS = (Processor("billing", "orders", "host-a:4121"), Processor("billing", "refunds", "host-b:977"),
              Processor("audit", "orders", "host-c:3310"))
REPLACEMENT = Processor("billing", "orders", "host-d:58")   # started when host-a was presumed dead


@exercise("09.fence_the_zombie", "a transactional id that fences a zombie and no healthy processor")
def fence_the_zombie(your_transactional_id: Callable[[str, str, str], str]) -> Verdict:
    ids = {run: your_transactional_id(*run) for run in (*PROCESSORS, REPLACEMENT)}
    if not all(isinstance(i, str) and i for i in ids.values()):
        return wrong(f"expected a non-empty text id for every processor, found {list(ids.values())!r:.120}")
    coordinator = Coordinator()
    # Three different processors run side by side, each committing one transaction.
    producers = {run: coordinator.init_transactions(ids[run]) for run in PROCESSORS}
    for run, producer in producers.items():
        coordinator.write(producer, f"written by {run}")
    refused = [run for run, producer in producers.items() if not coordinator.commit(producer)]
    if refused:
        other = next(run for run in PROCESSORS if run != refused[0] and ids[run] == ids[refused[0]])
        return wrong(f"{refused[0]} and {other} are different processors, yet both got the id "
                     f"{ids[other]!r}: starting the second fenced the first, a healthy processor whose commit was "
                     "then refused. Two processors that consume different inputs or groups need different ids")
    # host-a stalls mid-transaction; its replacement starts; host-a wakes up and commits.
    zombie = producers[PROCESSORS[0]]
    coordinator.write(zombie, "written by the zombie")
    successor = coordinator.init_transactions(ids[REPLACEMENT])
    zombie_committed = coordinator.commit(zombie)
    coordinator.write(successor, "written by the successor")
    coordinator.commit(successor)
    if zombie_committed or "written by the zombie" in coordinator.committed:
        return wrong(f"the zombie ({PROCESSORS[0]}) committed after its replacement ({REPLACEMENT}) had started, "
                     f"because they got different ids ({ids[PROCESSORS[0]]!r}, {ids[REPLACEMENT]!r}): the "
                     "coordinator saw two unrelated producers. A restarted instance of the same processor must "
                     "present the id its predecessor had")
    return right(f"the zombie's commit was refused (ProducerFencedError) and its write aborted; the three "
                 f"processors and the successor committed, each under its own id (e.g. {ids[REPLACEMENT]!r})")
