"""Pipeline Patterns: production data pipeline patterns as runnable, tested lessons.

Nothing here connects to a service at import time; build clients from
:func:`pipeline_patterns.config.get_settings` inside functions.
"""

__version__ = "0.1.0"
