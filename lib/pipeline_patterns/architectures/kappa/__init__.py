"""Kappa architecture: one immutable log, processors as versions, reprocessing by replay.

* :mod:`.log` — the log is a topic with unlimited retention (``retention.ms=-1``): the
  source of truth; where a replay from a timestamp starts in it.
* :mod:`.versions` — a processor version is its logic (how revenue becomes cents); each
  writes its own output table, named from (view, version, timestamp).
* :mod:`.reprocessing` — :func:`~.reprocessing.replay` builds a version's table from the log.
* :mod:`.serving` — readers query a view; :func:`~.serving.swap` re-points it atomically.
* :mod:`.pitfalls` — the non-atomic swap a lesson runs; :mod:`.fakes` — a reader that
  queries the view in a loop.
"""
