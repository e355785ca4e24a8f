"""Where the kit's jars and JVM configuration live, and the command line of a Kafka-jar JVM.

Kafka brokers, Kafka Connect and the kit's own Kafka tools run the Maven jars that
``make setup`` resolved into ``stack/jars``; a missing jar is a StackError saying so.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_patterns.config import PROJECT_DIR
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.layout import Context

JARS_DIR = PROJECT_DIR / "stack" / "jars"
CONF_DIR = PROJECT_DIR / "stack" / "conf"


def kafka_classpath() -> str:
    """The classpath of the Kafka jars (broker and Connect), checked present."""
    preflight.check_jars(JARS_DIR / "kafka", "kafka_2.13-*.jar", "Kafka broker")
    preflight.check_jars(JARS_DIR / "kafka", "connect-runtime-*.jar", "Kafka Connect")
    return str(JARS_DIR / "kafka" / "*")


def jvm_command(ctx: Context, heap: str, main: str, *args: str) -> list[str]:
    """``java`` running ``main`` from the Kafka jars with a heap of at most ``heap``, the serial collector and the
    kit's log4j2 config.

    The heap starts at 64 MiB and grows as the service needs it, and the serial collector gives back what a full
    collection frees: with ``-Xms`` equal to ``-Xmx`` and G1 (Kafka's own scripts), Connect sat at 827 MiB RSS
    with a 512 MiB heap after lesson 17, on a laptop running every service at once; G1's concurrent threads
    only compete for 2 cores, and these heaps are small.
    """
    return [
        ctx.java, "-Xms64m", f"-Xmx{heap}", "-XX:+UseSerialGC",
        "-Djava.awt.headless=true", "-XX:+ExitOnOutOfMemoryError",
        f"-Dlog4j2.configurationFile={CONF_DIR / 'log4j2.properties'}",
        "-cp", kafka_classpath(), main, *args,
    ]


def write_properties(path: Path, props: dict[str, object]) -> Path:
    """Write a Java ``.properties`` file (``key=value`` lines) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path
