"""Kafka Connect's REST API: register, validate, inspect and remove connectors.

Plumbing: the stack's resource cleanup uses it too. Debezium's configs are in
:mod:`pipeline_patterns.ingestion.debezium`.
"""

from __future__ import annotations

import requests

from pipeline_patterns.config import Settings, get_settings
from pipeline_patterns.poll import wait_until


def url(path: str, settings: Settings | None = None) -> str:
    """The Connect REST address of ``path`` (``/connectors``, ...)."""
    return f"{(settings or get_settings()).kafka_connect_url.rstrip('/')}{path}"


def register(name: str, config: dict[str, str], settings: Settings | None = None,
             timeout_s: float = 60.0) -> dict:
    """Create or update connector ``name`` (PUT is idempotent) and wait until its task runs."""
    response = requests.put(url(f"/connectors/{name}/config", settings), json=config, timeout=30)
    if response.status_code >= 400:
        raise RuntimeError(f"Kafka Connect refused connector {name!r}: {response.status_code} {response.text}")
    return wait_running(name, settings, timeout_s)


def status(name: str, settings: Settings | None = None) -> dict:
    response = requests.get(url(f"/connectors/{name}/status", settings), timeout=10)
    response.raise_for_status()
    return response.json()


def wait_running(name: str, settings: Settings | None = None, timeout_s: float = 60.0) -> dict:
    """Poll the connector's status until it and its tasks are RUNNING; fail at once on FAILED."""

    def running() -> dict | None:
        response = requests.get(url(f"/connectors/{name}/status", settings), timeout=10)
        if response.status_code != 200:
            return None
        current = response.json()
        states = [current["connector"]["state"], *(t["state"] for t in current.get("tasks", []))]
        if "FAILED" in states:
            trace = next((t.get("trace", "") for t in current["tasks"] if t["state"] == "FAILED"), "")
            raise RuntimeError(f"connector {name!r} failed: {trace[:2000]}")
        return current if current.get("tasks") and all(state == "RUNNING" for state in states) else None

    return wait_until(running, timeout_s, f"connector {name!r} to be RUNNING")


def delete(name: str, settings: Settings | None = None) -> bool:
    """Remove the connector; True if it existed."""
    response = requests.delete(url(f"/connectors/{name}", settings), timeout=30)
    if response.status_code == 404:
        return False
    response.raise_for_status()
    return True


def validate(config: dict[str, str], settings: Settings | None = None) -> dict[str, list[str]]:
    """Ask Connect to validate ``config`` without creating anything: setting -> its errors (only those with any)."""
    plugin = config["connector.class"].rsplit(".", 1)[-1]
    response = requests.put(url(f"/connector-plugins/{plugin}/config/validate", settings), json=config, timeout=30)
    response.raise_for_status()
    values = [c["value"] for c in response.json()["configs"] if c.get("value")]
    return {v["name"]: v["errors"] for v in values if v.get("errors")}


def config(name: str, settings: Settings | None = None) -> dict[str, str]:
    """Connector ``name``'s config as the REST API shows it to anyone who asks."""
    response = requests.get(url(f"/connectors/{name}/config", settings), timeout=10)
    response.raise_for_status()
    return response.json()
