from pipeline_patterns.cli import app

app(prog_name="python -m pipeline_patterns")
