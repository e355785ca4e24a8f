"""``python -m pipeline_patterns``: the kit's command line (see :mod:`pipeline_patterns.cli`)."""

from pipeline_patterns.cli import app

if __name__ == "__main__":
    app(prog_name="python -m pipeline_patterns")
