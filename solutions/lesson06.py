"""Reference solutions for lesson 06 (instructors): graded by `check(..., solutions=True)`."""


def count_each_event_once(layer, start, cutoff):
    # Half-open on both sides of the cutoff (the first instant the batch layer does not cover): batch dates
    # before it, speed windows starting at or after it. The purchase at exactly midnight is in the speed
    # window [00:00, 00:01) and counted once; the late events are in the batch rows of their date.
    return start < cutoff if layer == "batch" else start >= cutoff


def rerun_the_late_dates(event_times, cutoff):
    # Every date the batch layer already covers (before the cutoff) that received an event: the speed layer
    # dropped those late events, only a recomputation from the master dataset counts them. A date at or after
    # the cutoff is still arriving: publishing it would move the cutoff past the speed rows that cover it.
    return {t.date() for t in event_times if t < cutoff}
