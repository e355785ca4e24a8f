# JupyterLab with the kit installed from environment.yml; jars resolved at build time,
# so no notebook downloads a jar.
FROM condaforge/miniforge3:latest
WORKDIR /kit
COPY environment.yml constraints.txt pyproject.toml README.md ./
COPY lib ./lib
COPY stack ./stack
RUN mamba env create -q -f environment.yml && mamba clean -afy
ENV PATH=/opt/conda/envs/pipeline-patterns/bin:$PATH
RUN python -m pipeline_patterns setup --jars-only
COPY notebooks ./notebooks
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--allow-root", "--notebook-dir=/kit/notebooks"]
