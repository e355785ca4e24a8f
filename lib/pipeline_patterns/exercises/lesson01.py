"""Lesson 01's exercises: a partition key for a stream with one hot key."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.streaming import partition_keys as pk

PARTITIONS = 6
MAX_SKEW = 1.3   # the fullest partition may carry at most 1.3x the mean


def hot_stream(n: int = 6000, seed: int = 42) -> list[dict]:
    """Seeded events where ``user_hot`` sends half the traffic; each carries its per-user sequence number."""
    sequence: Counter = Counter()
    events = []
    for user in pk.skewed_keys(n, seed=seed):
        events.append({"user_id": user, "seq": sequence[user]})
        sequence[user] += 1
    return events


@exercise("01.spread_the_hot_key", "a key that spreads the hot user and keeps every other user's order")
def spread_the_hot_key(your_key: Callable[[dict], str]) -> Verdict:
    events = hot_stream()
    partitions_of: dict[str, set[int]] = defaultdict(set)
    load: Counter = Counter()
    for event in events:
        partition = pk.partition_for(str(your_key(event)), PARTITIONS)
        partitions_of[event["user_id"]].add(partition)
        load[partition] += 1
    skew = pk.skew_ratio(pk.per_partition(load, PARTITIONS))
    split = sorted(user for user, parts in partitions_of.items() if user != "user_hot" and len(parts) > 1)
    if split:
        return wrong(f"{len(split)} ordinary users (e.g. {split[0]}) now land on more than one partition, so their "
                     "events can be read out of order: only the hot user may be spread")
    if skew > MAX_SKEW:
        return wrong(f"the fullest of {PARTITIONS} partitions carries {skew:.2f}x the mean (at most {MAX_SKEW} "
                     "wanted): one key always lands on one partition, so the hot user needs more than one key")
    return right(f"fullest partition {skew:.2f}x the mean, every other user on exactly one partition")
