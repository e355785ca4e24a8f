"""Every figure a lesson draws, in one place: pattern modules never import matplotlib.

Each function takes the figures a lesson already computed and returns the matplotlib
``Figure`` (the notebook shows it). matplotlib is imported inside the functions: it is
in the ``notebooks`` extra, not needed by the library's patterns or its unit tests.
Functions follow the lessons' order (00 to 17).

Size: one short function per lesson figure; the house rule wants them in one module, and
each reads on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def stack_tour_measurements(per_partition: Any, timings: Mapping[str, float], topic: str) -> Any:
    """Lesson 00: messages per partition of the tour's topic, beside the seconds each step took.

    ``per_partition`` is a pandas Series (partition -> messages); ``timings`` maps a step to seconds.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    per_partition.plot.bar(ax=left, color="#4C72B0")
    left.set(title=f"{topic}: messages per partition", xlabel="partition", ylabel="messages")
    pd.Series(timings).plot.barh(ax=right, color="#55A868")
    right.set(title="seconds per step (this run)", xlabel="seconds")
    fig.tight_layout()
    return fig


def partition_spread(counts: Mapping[str, Sequence[int]], skews: Mapping[str, float], n_events: int,
                     partitions: int) -> Any:
    """Lesson 01: messages per partition for each keyed stream, against the even share.

    ``counts`` maps a stream to its messages per partition (partition 0 first), ``skews`` the
    stream to its skew ratio (largest partition over the mean); a stream named for user ids
    is drawn in blue, the others in red.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
    for ax, (name, per) in zip(axes, counts.items(), strict=False):
        ax.bar(range(partitions), per, color="#4C72B0" if "user" in name else "#C44E52")
        ax.axhline(n_events / partitions, color="grey", linestyle="--", linewidth=1, label="even share")
        ax.set(title=f"{name}: skew {skews[name]:.2f}", xlabel="partition", ylabel="messages")
        ax.legend()
    fig.tight_layout()
    return fig


def producer_throughput(bench: Any) -> Any:
    """Lesson 01: producer records/s with the default and the tuned configuration.

    ``bench`` is a DataFrame indexed by configuration (``"default"``, ``"tuned"``) with a
    ``"records/s"`` column (the median of the runs).
    """
    ratio = bench.loc["tuned", "records/s"] / bench.loc["default", "records/s"]
    ax = bench["records/s"].plot.bar(color=["#4C72B0", "#55A868"], figsize=(5, 3), rot=0,
                                     title=f"producer throughput, tuned = {ratio:.2f}x default")
    ax.set_ylabel("records/s (median of 2)")
    return ax.figure


WATERMARK_VERDICT_COLORS = {"counted": "#55A868", "partly counted": "#DD8452", "dropped": "#C44E52"}
"""Lesson 04's verdicts on an event, by name."""


def shuffle_tasks_and_time(rows: Sequence[Mapping[str, Any]]) -> Any:
    """Lesson 02: tasks and executor time of one aggregation under each shuffle setting (Spark's metrics)."""
    import matplotlib.pyplot as plt

    labels = [r["label"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    left.bar(labels, [r["tasks"] for r in rows], color="#4C72B0")
    left.set_ylabel("tasks")
    left.set_yscale("log")
    right.bar(labels, [r["executor_run_ms"] for r in rows], color="#DD8452")
    right.set_ylabel("executor run time (ms)")
    for ax in (left, right):
        ax.tick_params(axis="x", labelrotation=15, labelsize=8)
    fig.suptitle("One groupBy: 200 shuffle partitions cost a task each until AQE coalesces them")
    fig.tight_layout()
    return fig


def partition_rows(layouts: Mapping[str, Sequence[int]]) -> Any:
    """Lesson 02: rows in each partition after a read, repartition(n), repartition(n, key) and coalesce(1)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(layouts), figsize=(3 * len(layouts), 2.8), sharey=True)
    for ax, (label, rows) in zip(axes, layouts.items(), strict=True):
        ax.bar(range(len(rows)), rows, color="#4C72B0")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("partition")
    axes[0].set_ylabel("rows")
    fig.suptitle("Partition sizes: round-robin is even, by key follows the key, coalesce(1) is one")
    fig.tight_layout()
    return fig


def cache_reuse(uncached_ms: Sequence[int], cached_ms: Sequence[int]) -> Any:
    """Lesson 02: executor time of each query on a DataFrame without and with a cache (the first fills it)."""
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(uncached_ms))
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(x - 0.2, uncached_ms, 0.4, label="no cache: every query recomputes", color="#4C72B0")
    ax.bar(x + 0.2, cached_ms, 0.4, label="cache(): the first query fills it", color="#DD8452")
    ax.set_xticks(x, [f"query {i + 1}" for i in x])
    ax.set_ylabel("executor run time (ms)")
    ax.legend(fontsize=8)
    ax.set_title("A cache costs once and pays on every reuse")
    return fig


def watermark_verdicts(fates: Any, reference: Any, per_step: int) -> Any:
    """Lesson 04: each event's time by arrival step, coloured by its verdict, and each step's watermark.

    A verdict is what the watermark did to the event: counted, partly counted or dropped.

    ``fates`` is a DataFrame of the reference's fates (``step``, ``event_time``, ``verdict``; one
    row per event, index 0..n-1 in arrival order); ``reference`` a
    :class:`~pipeline_patterns.streaming.watermarks.Simulation` (``watermark_before_step``,
    ``None`` before the first step); ``per_step`` events per step (spreads a step's points).
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    for verdict, rows in fates.groupby("verdict"):
        ax.scatter(rows["step"] + (rows.index % per_step) / (per_step * 1.6), rows["event_time"], s=22,
                   color=WATERMARK_VERDICT_COLORS[verdict], label=verdict)
    for k, w in enumerate(reference.watermark_before_step):
        if w is not None:  # the first step has no watermark yet
            ax.hlines(w, k - 0.1, k + 0.7, color="black", linewidth=2,
                      label="watermark the step used" if k == 1 else None)
    ax.yaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set(xlabel="arrival step", ylabel="event time (UTC)",
           title="Event time vs watermark: what counted and what was lost")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def watermark_delay_tradeoff(kept: Any, day: Sequence[Sequence[Any]]) -> Any:
    """Lesson 04: share of a day's departures fully counted and dropped, per watermark delay (log scale).

    ``kept`` is a DataFrame indexed by ``"delay (min)"`` with one column per share (in %);
    ``day`` the day's flights, step by step (only their number is shown).
    """
    ax = kept.plot(marker="o", logx=True, figsize=(7, 3.2), title=f"{sum(map(len, day))} departures, 1 Jan 2013")
    ax.set_ylabel("% of flights")
    return ax.figure


def sessions_and_state(expected: Sequence[Any], gap: Any, progress: Mapping[str, Sequence[Any]]) -> Any:
    """Lesson 05: each reference session's length and clicks, beside each query's state rows after each step.

    ``expected`` are :class:`~pipeline_patterns.streaming.sessions.Session` (``start``, ``end`` =
    last click + ``gap``, ``events``); ``progress`` maps a query (``"state"``, ``"session_window"``,
    ``"guide"``) to its :class:`~pipeline_patterns.streaming.bounded.StepProgress` per step.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    lengths = pd.DataFrame([{"minutes": (s.end - s.start - gap).total_seconds() / 60, "clicks": s.events}
                            for s in expected])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
    lengths.plot.scatter(x="minutes", y="clicks", ax=left, s=40, color="#4C72B0",
                         title=f"{len(expected)} sessions: length (first to last click) and clicks")
    left.set_xlabel("minutes")
    for name, colour in (("state", "#55A868"), ("session_window", "#4C72B0"), ("guide", "#C44E52")):
        right.plot([p.state_rows if p.batches else None for p in progress[name]], marker="o", color=colour,
                   label=name, alpha=0.8)  # None: no batch ran in that step (no new click, nothing to time out)
    right.set(title="state rows after each step (Spark progress)", xlabel="step", ylabel="rows in the state store")
    right.legend()
    fig.tight_layout()
    return fig


def lambda_staleness(steps: Any, batch_after_hours: float) -> Any:
    """Lesson 06: how stale the batch view and the speed view are at each step of the simulated day.

    ``steps`` is a DataFrame with ``hours``, ``batch_staleness_h`` and ``speed_staleness_s`` per
    step; a dotted line marks the nightly batch at ``batch_after_hours``.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.step(steps["hours"], steps["batch_staleness_h"] * 3600, where="post", label="batch view (now - cutoff)",
            color="#4C72B0")
    ax.plot(steps["hours"], steps["speed_staleness_s"], "o-",
            label="speed view (newest arrival - newest in view + run time)", color="#DD8452")
    ax.axvline(batch_after_hours, color="grey", ls=":", label="nightly batch for 2024-01-15")
    ax.set_yscale("log")
    ax.set_ylabel("staleness (s, log)")
    ax.set_xlabel("hours after 2024-01-15 00:00 UTC")
    ax.set_title("Staleness of each layer over the simulated day")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def kappa_catch_up(replay: Any) -> Any:
    """Lesson 07: events still behind the end offsets after each poll batch of version 2's replay.

    ``replay`` is a :class:`~pipeline_patterns.architectures.kappa.reprocessing.ReplayResult`
    (``per_batch_lag``, ``events``, ``seconds``).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(range(1, len(replay.per_batch_lag) + 1), replay.per_batch_lag, "o-", color="#55A868")
    ax.set_xlabel("poll batch")
    ax.set_ylabel("events behind the end offsets")
    ax.set_title(f"v2 catching up: {replay.events} events in {replay.seconds:.2f} s")
    fig.tight_layout()
    return fig


def medallion_accounting(accounts: Mapping[str, Any], gold_rows: Mapping[str, int],
                         rejects: Mapping[str, Mapping[str, int]]) -> Any:
    """Rows per layer (bronze = silver + quarantine + duplicates removed, and gold) per dataset,
    beside the quarantined rows per reason. ``accounts`` maps a dataset to its
    :class:`~pipeline_patterns.architectures.medallion.checks.MedallionAccounting`."""
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.3]})
    names = list(accounts)
    x = range(len(names))
    left.bar([i - 0.27 for i in x], [accounts[n].bronze for n in names], 0.26, label="bronze", color="#8C6D31")
    bottom = [0] * len(names)
    for part, colour in (("silver", "#7F7F7F"), ("quarantine", "#C44E52"), ("duplicates_removed", "#DD8452")):
        values = [getattr(accounts[n], part) for n in names]
        left.bar(x, values, 0.26, bottom=bottom, label=part.replace("_", " "), color=colour)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    left.bar([i + 0.27 for i in x], [gold_rows[n] for n in names], 0.26, label="gold", color="#E1B000")
    left.set(xticks=list(x), xticklabels=names, ylabel="rows",
             ylim=(0, 1.35 * max(accounts[n].bronze for n in names)),
             title="Rows per layer: bronze = silver + quarantine + duplicates")
    left.legend(fontsize=8, ncols=3, loc="upper center")
    reasons = pd.DataFrame([{"reason": f"{n}: {reason}", "rows": count, "dataset": n}
                            for n in names for reason, count in rejects[n].items()]).sort_values(["dataset", "rows"])
    palette = dict(zip(names, ("#4C72B0", "#55A868", "#8172B2", "#937860"), strict=False))
    right.barh(reasons["reason"], reasons["rows"], color=reasons["dataset"].map(palette))
    right.set(xlabel="rows in quarantine", title="Rejected rows per reason (first broken rule)")
    fig.tight_layout()
    return fig


def exactly_once_costs(costs: Any, kill_audit: Any) -> Any:
    """Lesson 09: records/s at-least-once vs transactional per commit interval, and duplicates after kill -9.

    ``costs`` is a DataFrame indexed by ``commit_interval_ms`` with ``at_least_once_per_s`` and
    ``transactional_per_s``; ``kill_audit`` a DataFrame with a ``duplicates`` column, one row per
    audited output (three rows, drawn green, red, red).
    """
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
    costs[["at_least_once_per_s", "transactional_per_s"]].plot.bar(ax=left, rot=0, color=["#4C72B0", "#55A868"])
    left.set_ylabel("records/s")
    left.set_xlabel("commit interval (ms)")
    left.legend(["at-least-once", "transactional"])
    left.set_title("Throughput of the same processor")
    duplicates = kill_audit["duplicates"]
    right.barh(range(len(duplicates)), duplicates.values, color=["#55A868", "#C44E52", "#C44E52"])
    right.set_yticks(range(len(duplicates)), [label.replace(" (", "\n(") for label in duplicates.index], fontsize=8)
    right.set_xlabel("duplicate event ids seen")
    right.set_title("After kill -9")
    fig.tight_layout()
    return fig


def sink_batches(ledger: Sequence[tuple[int, int]], second_start: Sequence[Mapping[str, Any]]) -> Any:
    """Lesson 10: rows each micro-batch applied, the batch replayed (and skipped) after the kill highlighted.

    ``ledger`` is ``(batch_id, rows)`` per applied batch; ``second_start`` the second start's
    batches as its log reports them (``batch_id``, ``applied``).
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    batches = pd.DataFrame(ledger, columns=["batch_id", "rows"])
    replayed = [b["batch_id"] for b in second_start if not b["applied"]]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(batches["batch_id"], batches["rows"], color="#4C72B0")
    ax.bar(replayed, batches.set_index("batch_id").loc[replayed, "rows"], color="#DD8452",
           label="replayed after the kill: skipped")
    ax.set_xlabel("micro-batch id")
    ax.set_ylabel("rows applied")
    ax.legend(loc="lower left")
    ax.set_title("Every batch applied once, the replayed one included")
    return fig


def dlq_accounting(acc: Any, retried_reason: str, max_retries: int) -> Any:
    """Lesson 11: consumed = processed + dead-lettered, beside the dead-lettered records per reason.

    ``acc`` is a :class:`~pipeline_patterns.errors.dlq_audit.DlqAccounting` (``consumed``,
    ``processed``, ``dead``, ``duplicates``, ``dead_lettered``: reason -> records); the bar of
    ``retried_reason`` (retried ``max_retries`` times first) is orange.
    """
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
    left.bar(["consumed"], [acc.consumed], color="#4C72B0")
    left.bar(["processed +\ndead-lettered"], [acc.processed], color="#55A868", label="processed")
    left.bar(["processed +\ndead-lettered"], [acc.dead], bottom=[acc.processed], color="#C44E52",
             label="dead-lettered")
    left.text(0, acc.consumed, f"{acc.consumed}", ha="center", va="bottom")
    left.text(1, acc.consumed, f"{acc.processed} + {acc.dead}", ha="center", va="bottom")
    left.set(title=f"every record accounted for ({acc.duplicates} duplicates removed)",
             ylabel="distinct input positions", ylim=(0, acc.consumed * 1.12))
    left.legend(loc="lower center")
    reasons = sorted(acc.dead_lettered.items(), key=lambda item: item[1])
    right.barh([r for r, _ in reasons], [n for _, n in reasons],
               color=["#DD8452" if r == retried_reason else "#C44E52" for r, _ in reasons])
    for y, (_, n) in enumerate(reasons):
        right.text(n, y, f" {n}", va="center")
    right.set(title=f"dead-lettered per reason (orange: retried {max_retries}x first)", xlabel="records")
    fig.tight_layout()
    return fig


def redrive_runs(first: Any, second: Any) -> Any:
    """Lesson 11: DLQ positions each re-drive sent, found already re-driven, or could not fix.

    ``first`` and ``second`` are :class:`~pipeline_patterns.errors.redrive.RedriveReport`
    (``sent``, ``already_redriven``, ``unfixable``).
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots(figsize=(8, 2.8))
    runs = pd.DataFrame({"first re-drive": vars(first), "second re-drive": vars(second)}).loc[
        ["sent", "already_redriven", "unfixable"]].T
    runs.plot.barh(stacked=True, ax=ax, color=["#55A868", "#8172B3", "#C44E52"])
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set(title="re-drive twice: the second run sends nothing", xlabel="distinct DLQ positions")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


BREAKER_COLORS = {"ok": "#55A868", "business": "#8172B2", "system": "#C44E52", "rejected": "#999999",
                  "closed": "#FFFFFF", "open": "#F6D5D5", "half_open": "#FBE3B5"}
"""Call results (lanes, in this order) and circuit states (background), by name."""


def breaker_timeline(outcomes: Sequence[Any], events: Sequence[Any], t0: float,
                     marks: Mapping[str, float] | None = None, title: str | None = None) -> Any:
    """Lesson 12's timeline. Top: calls offered vs calls that reached the service, cumulative.
    Bottom: each call on its worker's lane, start to end, coloured by outcome. Background: the
    breaker's state.

    ``outcomes`` are :class:`~pipeline_patterns.errors.fakes.load.CallOutcome` (``start``,
    ``end``, ``worker``, ``result``); ``events`` the breaker's transitions (``at``,
    ``to_state``: a state whose value is ``"closed"``, ``"open"`` or ``"half_open"``); times
    are clock readings, shown as seconds since ``t0``; ``marks`` label moments with a dashed line;
    ``title`` goes above both panels.
    """
    import matplotlib.pyplot as plt

    results = ("ok", "business", "system", "rejected")
    fig, (top, lanes) = plt.subplots(2, 1, figsize=(11, 5), sharex=True, height_ratios=[3, 2])
    t_end = max([o.end for o in outcomes] + [e.at for e in events]) - t0
    starts = [o.start - t0 for o in outcomes]
    top.step(starts, range(1, len(starts) + 1), where="post", color="black", label="calls offered")
    reached = [o.start - t0 for o in outcomes if o.result != "rejected"]
    top.step(reached, range(1, len(reached) + 1), where="post", color="#4C72B0", label="reached the service")
    top.set(ylabel="calls (cumulative)")
    workers = sorted({o.worker for o in outcomes})
    for result in results:
        for w in workers:  # one bar per call, at least 15 ms wide so that a fast call shows
            bars = [(o.start - t0, max(o.end - o.start, 0.015))
                    for o in outcomes if (o.worker, o.result) == (w, result)]
            lanes.broken_barh(bars, (w - 0.35, 0.7), color=BREAKER_COLORS[result],
                              label=result if w == workers[0] else None)
    lanes.set(xlabel="seconds", ylabel="worker (one bar per call)", xlim=(0, t_end), yticks=workers)
    lanes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    state, since = "closed", 0.0
    for at, to_state in [*((e.at, str(e.to_state.value)) for e in events), (t_end + t0, "closed")]:
        for ax in (top, lanes):
            ax.axvspan(since, at - t0, color=BREAKER_COLORS[state], zorder=0, linewidth=0)
        if state != "closed":
            top.text(since + 0.005 * t_end, 0.98, state.upper().replace("_", "-"), rotation=90,
                     transform=top.get_xaxis_transform(), ha="left", va="top", fontsize=7)
        state, since = to_state, at - t0
    for label, at in (marks or {}).items():
        for ax in (top, lanes):
            ax.axvline(at - t0, color="black", linestyle="--", linewidth=1)
        top.text(at - t0, 1.01, label, transform=top.get_xaxis_transform(), ha="center", fontsize=8)
    top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    if title is not None:
        fig.suptitle(title, y=1.02)
    return fig


def join_strategies(rows: Sequence[Mapping[str, Any]]) -> Any:
    """Lesson 03: bytes shuffled into the joins and executor time, one bar per forced strategy (Spark's metrics).

    ``rows`` carry ``label``, ``join_shuffle_bytes`` and ``executor_run_ms`` (``JoinRun.row()``).
    """
    import matplotlib.pyplot as plt

    labels = [r["label"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    left.bar(labels, [r["join_shuffle_bytes"] / 2**20 for r in rows], color="#4C72B0")
    left.set(ylabel="MiB shuffled into the joins", title="shuffle write (SQL metrics)")
    right.bar(labels, [r["executor_run_ms"] / 1000 for r in rows], color="#DD8452")
    right.set(ylabel="executor run time (s)", title="summed over tasks (stage metrics)")
    for ax in (left, right):
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("Flights x airlines, planes, airports, weather: same rows, three strategies")
    fig.tight_layout()
    return fig


def skew_tasks(tasks: Mapping[str, Sequence[tuple[int, int]]]) -> Any:
    """Lesson 03: the join stage's tasks for each way of running a skewed join, as Spark measured them.

    ``tasks`` maps a mode (``off``, ``aqe``, ``salted``) to ``(duration_ms, records read)`` per task;
    top: records each task read, bottom: its time, tasks in the same order (largest first).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(tasks), figsize=(3.4 * len(tasks), 4.6), sharey="row", squeeze=False)
    for col, (mode, figures) in enumerate(tasks.items()):
        ordered = sorted(figures, key=lambda t: (t[1], t[0]), reverse=True)
        xs = range(len(ordered))
        axes[0][col].bar(xs, [records / 1000 for _, records in ordered], color="#4C72B0")
        axes[0][col].set(title=f"skew handling: {mode}", xticks=[])
        axes[1][col].bar(xs, [ms for ms, _ in ordered], color="#C44E52")
        axes[1][col].set(xlabel=f"{len(ordered)} join tasks, largest first", xticks=[])
    axes[0][0].set_ylabel("thousand records read")
    axes[1][0].set_ylabel("task time (ms)")
    fig.suptitle("One hot key: the task that reads it is the stage's straggler")
    fig.tight_layout()
    return fig


def cdc_lag(batches: Sequence[Any], wal: Mapping[str, int]) -> Any:
    """Lesson 13: per replica batch, the time from a change's commit at the source to its MERGE
    (median and max of the batch's changes), beside the WAL the slot kept at moments of the lesson
    (``wal`` maps a moment to bytes retained)."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.6))
    with_lag = [b for b in batches if b.lag_ms]
    xs = range(1, len(with_lag) + 1)
    left.plot(xs, [sorted(b.lag_ms)[len(b.lag_ms) // 2] / 1000 for b in with_lag], "o-", label="median")
    left.plot(xs, [max(b.lag_ms) / 1000 for b in with_lag], "s--", label="max")
    left.set(title="Commit at the source -> applied to the replica", xlabel="replica batch", ylabel="seconds",
             xticks=list(xs))
    left.legend(fontsize=8)
    right.barh(list(wal), [v / 1_048_576 for v in wal.values()], color="#C44E52")
    right.set(title="WAL the replication slot keeps on disk", xlabel="MiB")
    right.invert_yaxis()
    fig.tight_layout()
    return fig


def bulk_load_rates(rates: Sequence[Mapping[str, Any]], reference: str) -> Any:
    """Lesson 14: rows/s of every loader on the same rows, one panel per dataset, log scale.

    ``rates`` are :func:`~pipeline_patterns.ingestion.bulk.rates.rate_rows` dicts (``dataset``, ``loader``,
    ``rows_per_s``, ``<reference>_x``, ``extrapolated``); each bar says how many times faster the
    reference ``COPY`` is. A loader measured on fewer rows than the others is hatched.
    """
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in rates))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.2 * len(datasets), 0.45 * len(rates) / len(datasets) + 1.6),
                             squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        rows = sorted((r for r in rates if r["dataset"] == dataset), key=lambda r: r["rows_per_s"])
        colours = ["#55A868" if r["loader"].startswith("copy") else "#DD8452" if "spark" in r["loader"]
                   else "#4C72B0" for r in rows]
        bars = ax.barh([r["loader"] for r in rows], [r["rows_per_s"] for r in rows], color=colours)
        for bar, r in zip(bars, rows, strict=True):
            bar.set_hatch("//" if r["extrapolated"] else "")
            label = "reference" if r["loader"] == reference else f"COPY is {r[f'{reference}_x']:g}x"
            ax.text(bar.get_width() * 1.1, bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlim(right=max(r["rows_per_s"] for r in rows) * 12)
        ax.set(xlabel="rows/s (log)", title=f"{dataset}: {max(r['rows'] for r in rows):,} rows")
    fig.suptitle(f"The same rows into PostgreSQL, every way (hatched: measured on fewer rows); reference {reference}")
    fig.tight_layout()
    return fig


def bulk_overwrite_reader(atomic: Sequence[int], guide: Sequence[int], full_rows: int) -> Any:
    """Lesson 14: the rows a concurrent reader counted in each query, during the kit's overwrites and the guide's.

    ``atomic`` and ``guide`` are the reader's row counts in query order; ``full_rows`` the rows of a whole version.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3), sharey=True)
    for ax, counts, title, colour in ((axes[0], atomic, "one transaction (DELETE + INSERT, one commit)", "#55A868"),
                                      (axes[1], guide, "the guide's TRUNCATE, then COPY per file", "#C44E52")):
        ax.plot(range(len(counts)), counts, ".", markersize=2, color=colour)
        ax.axhline(full_rows, color="grey", linestyle="--", linewidth=1, label="a whole version")
        ax.set(title=title, xlabel=f"reader's query ({len(counts):,} queries)")
        ax.legend(loc="lower left", fontsize=8)
    axes[0].set_ylabel("rows the reader counted")
    axes[0].set_ylim(-0.05 * full_rows, 1.15 * full_rows)
    fig.tight_layout()
    return fig


def bulk_load_practices(groups: Mapping[str, Sequence[Any]], wal_bytes: Mapping[str, int]) -> Any:
    """Lesson 14: seconds per variant for each practice (indexes, staging table, commits), WAL bytes annotated.

    ``groups`` maps a practice to its :class:`~pipeline_patterns.ingestion.bulk.rates.LoadRun` variants;
    ``wal_bytes`` maps the staging variants (``logged``, ``unlogged``) to the WAL bytes written.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.2))
    for ax, (practice, runs) in zip(axes, groups.items(), strict=True):
        bars = ax.bar([r.loader.replace(" ", "\n", 1) for r in runs], [r.seconds for r in runs],
                      color=["#C44E52", "#4C72B0", "#55A868"][-len(runs):])
        for bar, run in zip(bars, runs, strict=True):
            note = f"{run.rows_per_s:,.0f} rows/s"
            if run.loader in wal_bytes:
                note += f"\n{wal_bytes[run.loader] / 2**20:.1f} MiB WAL"
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), note, ha="center", va="bottom", fontsize=7)
        ax.set(title=f"{practice} ({runs[0].rows:,} rows)", ylabel="seconds")
        ax.set_ylim(0, 1.3 * max(r.seconds for r in runs))
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def backfill_gantt(tasks: Sequence[tuple[Any, Any]], max_active_runs: int, title: str) -> Any:
    """Lesson 15: every task instance of a backfill as a bar from its start to its end, a row per run (day),
    beside how many runs were running at each instant (``tasks`` holds (DagRun, TaskRun) pairs)."""
    import matplotlib.pyplot as plt

    t0 = min(t.start_date for _, t in tasks)
    days = sorted({r.data_interval_start for r, _ in tasks})
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    colors: dict[str, str] = {}
    for run, ti in tasks:
        color = colors.setdefault(ti.task_id, f"C{len(colors)}")
        left.barh(days.index(run.data_interval_start), (ti.end_date - ti.start_date).total_seconds(),
                  left=(ti.start_date - t0).total_seconds(), color=color, height=0.7)
    left.set(title=title, xlabel="seconds since the first task started", ylabel="day of the month",
             yticks=range(0, len(days), 5), yticklabels=[d.strftime("%d") for d in days[::5]])
    left.invert_yaxis()
    for task_id, color in colors.items():
        left.barh(0, 0, color=color, label=task_id)
    left.legend(fontsize=8, loc="lower right")
    runs = {r.run_id: r for r, _ in tasks}
    edges = sorted([((r.start_date - t0).total_seconds(), 1) for r in runs.values()]
                   + [((r.end_date - t0).total_seconds(), -1) for r in runs.values()])
    xs, ys, now = [0.0], [0], 0
    for x, step in edges:
        now += step
        xs.append(x)
        ys.append(now)
    right.step(xs, ys, where="post")
    right.axhline(max_active_runs, color="#C44E52", linestyle="--", label=f"max_active_runs = {max_active_runs}")
    right.set(title="runs running at once", xlabel="seconds", ylabel="runs")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sensor_slots(timelines: Mapping[str, Sequence[tuple[str, Any, Any]]], t0: Any) -> Any:
    """Lesson 16: per experiment, when each task held a worker slot (start to end of each try), on one time axis.

    ``timelines`` maps an experiment's name to (task label, start, end) bars."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(timelines), 1, figsize=(10, 1.2 + 1.1 * sum(len({b[0] for b in bars})
                                                                         for bars in timelines.values()) / 2),
                             squeeze=False)
    for ax, (name, bars) in zip(axes[:, 0], timelines.items(), strict=True):
        labels = list(dict.fromkeys(label for label, _, _ in bars))
        for label, start, end in bars:
            ax.barh(labels.index(label), (end - start).total_seconds(), left=(start - t0).total_seconds(),
                    color=f"C{labels.index(label)}", height=0.6)
        ax.set(title=name, yticks=range(len(labels)), yticklabels=labels)
        ax.invert_yaxis()
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    return fig


def reader_during_killed_loads(loads: Sequence[Any]) -> Any:
    """Lesson 15: the rows a reader counted in each query while a day was re-loaded, its first try killed between
    DELETE and INSERT and retried by Airflow (one panel per load: the guide's two statements, one transaction)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(loads), figsize=(11, 3), sharey=True, squeeze=False)
    for ax, load in zip(axes[0], loads, strict=True):
        wrong = load.wrong_reads
        ax.plot(range(len(load.counts)), load.counts, ".", markersize=2,
                color="#C44E52" if wrong else "#55A868")
        ax.axhline(load.expected[0], color="grey", linestyle="--", linewidth=1, label="the whole month")
        ax.set(title=f"{load.load}: {wrong:,} of {load.reads:,} reads wrong", xlabel="reader's query")
        ax.legend(loc="lower left", fontsize=8)
    axes[0, 0].set_ylabel("rows the reader counted")
    fig.tight_layout()
    return fig


def capstone_timeline(latencies: Sequence[tuple[float, int]], faults: Sequence[Any], began_ms: int) -> Any:
    """Lesson 17: end-to-end latency of every source change (source commit to serving commit) and the changes
    served per 5 s over the run, each injected fault marked where it began and shaded until its component was
    back; beside it, each fault's recovery time.

    ``latencies`` holds (serving commit as epoch ms, latency ms); ``faults`` has ``kind``, ``at_s``, ``recovered_s``.
    """
    import matplotlib.pyplot as plt

    fig, (ax, bars) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [3, 1]})
    xs = [(at - began_ms) / 1000 for at, _ in latencies]
    ax.scatter(xs, [lat / 1000 for _, lat in latencies], s=6, color="#4C72B0", label="a source change served")
    if xs:
        served = ax.twinx()
        edges = [5.0 * i for i in range(int(max(xs) // 5) + 2)]
        served.hist(xs, bins=edges, histtype="step", color="#55A868", label="changes served per 5 s")
        served.set_ylabel("changes per 5 s", color="#55A868")
        served.legend(loc="upper right", fontsize=8)
    colors = {"kill connect": "#C44E52", "kill pipeline": "#DD8452", "pause postgres": "#8172B3",
              "kill airflow task": "#937860"}
    for fault in faults:
        color = colors.get(fault.kind, "#64B5CD")
        ax.axvspan(fault.at_s, fault.at_s + fault.recovered_s, color=color, alpha=0.2)
        ax.axvline(fault.at_s, color=color, lw=1)
        ax.annotate(fault.kind, (fault.at_s, 1), xycoords=("data", "axes fraction"), rotation=90, va="top",
                    ha="right", fontsize=8, color=color)
    ax.set(title="latency from source commit to the serving row, faults shaded until recovered",
           xlabel="seconds since the pipeline started", ylabel="latency (s)")
    ax.legend(loc="upper left", fontsize=8)
    labels = [f"{f.kind}\n@{f.at_s:.0f} s" for f in faults]
    bars.barh(labels, [f.recovered_s for f in faults], color=[colors.get(f.kind, "#64B5CD") for f in faults])
    bars.invert_yaxis()
    bars.set(title="recovery per fault", xlabel="seconds until the component was back")
    bars.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig
