"""The guide's versions that lessons 15-16 run to show where they go wrong.

:func:`write_guide_factory` writes the guide's "Dynamic DAG Generation" factory as a DAG file beside
its YAML, so a lesson can load the folder with Airflow's DagBag
(:func:`~pipeline_patterns.orchestration.dagbag_report.load_dag_folder`) and watch it fail. It is
ported to Airflow 3 only as far as it needs to import there (``airflow.sdk.DAG``, the standard
provider's ``PythonOperator``, ``schedule=`` for the removed ``schedule_interval=``, the YAML beside
the file rather than in ``/config``); the raw ``config['source']`` indexing and the ``globals()``
loop are kept, and so are its faults. No guarantee: this is the counter-example.

- One entry with a missing key raises while the file is imported: every DAG of the file is gone
  behind one import error.
- Two entries with the same source and destination leave one DAG, silently; in Airflow 3 not surely
  the last, since the DagBag gathers a file's DAGs (auto-registered ones too) in a set.
- A typo'd cron is caught later, by the DagBag's validation of that one DAG: an import error for the
  file, while its other DAGs still load.
- A wrong type or an unknown transformation is not caught at all.

The corrected factory is :mod:`~pipeline_patterns.orchestration.dag_factory`.
"""

from __future__ import annotations

from pathlib import Path

GUIDE_DAG_FILE = "guide_etl_factory.py"
GUIDE_CONFIG_FILE = "etl_pipelines.yaml"

GUIDE_FACTORY = '''"""The guide's dynamic DAG factory, ported to Airflow 3 only as far as it needs to import."""
import os
from datetime import datetime

import yaml
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def create_extract_func(source):
    def extract():
        print(f"extracting from {source}")
    return extract


def create_transform_func(transformations):
    def transform():
        print(f"applying {transformations}")
    return transform


def create_load_func(destination):
    def load():
        print(f"loading into {destination}")
    return load


def create_etl_dag(config: dict) -> DAG:
    dag = DAG(dag_id=f"etl_{config['source']}_{config['destination']}", schedule=config.get('schedule', '@daily'),
              start_date=datetime(2024, 1, 1), catchup=False, tags=['etl', 'auto-generated'])
    with dag:
        extract = PythonOperator(task_id='extract', python_callable=create_extract_func(config['source']))
        transform = PythonOperator(task_id='transform',
                                   python_callable=create_transform_func(config['transformations']))
        load = PythonOperator(task_id='load', python_callable=create_load_func(config['destination']))
        extract >> transform >> load
    return dag


with open(os.path.join(os.path.dirname(__file__), 'etl_pipelines.yaml')) as f:
    configs = yaml.safe_load(f)
for config in configs['pipelines']:
    dag_id = f"etl_{config['source']}_{config['destination']}"
    globals()[dag_id] = create_etl_dag(config)
'''


def write_guide_factory(folder: str | Path, config_yaml_text: str) -> Path:
    """Write the guide's factory (``guide_etl_factory.py``) and its ``etl_pipelines.yaml`` into ``folder``.

    Returns the DAG file's path. ``folder`` is created if missing; the two files are replaced if present.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / GUIDE_CONFIG_FILE).write_text(config_yaml_text)
    dag_file = folder / GUIDE_DAG_FILE
    dag_file.write_text(GUIDE_FACTORY)
    return dag_file
