"""The error-handling lessons' props: fake dependencies and load generators, not patterns.

* :mod:`~pipeline_patterns.errors.fakes.flaky_service` — a price service in its own OS
  process that lesson 12 pauses and kills (``python -m pipeline_patterns.errors.fakes.flaky_service``);
* :mod:`~pipeline_patterns.errors.fakes.load` — paced and stampeding callers, timed and classified;
* :mod:`~pipeline_patterns.errors.fakes.risk_service` — lesson 11's risk dependency that times out on plan;
* :mod:`~pipeline_patterns.errors.fakes.order_feed` — lesson 11's raw input, produced to Kafka.
"""
