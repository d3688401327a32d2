# The Airflow image for this project: the official image at the version pinned in
# requirements.txt, plus requirements.txt, plus the project code. docker-compose.yaml builds it;
# the same image serves the official Helm chart (docs/operations.md).
#
#   docker build -t marketing-attribution-airflow .
#   docker build --build-arg AIRFLOW_EXTRA_PACKAGES="apache-airflow-providers-amazon[s3fs]" ...
#
# AIRFLOW_VERSION must equal the apache-airflow== pin in requirements.txt (tests/deploy checks);
# pip also refuses to build when the two disagree.
ARG AIRFLOW_VERSION=3.3.2

# The dashboard's chart library, installed from npm at the versions in package-lock.json.
FROM node:20-bookworm-slim AS dashboard-assets
COPY plugins/marketing_dashboard /build/marketing_dashboard
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 >/dev/null \
    && python3 /build/marketing_dashboard/build.py

FROM apache/airflow:${AIRFLOW_VERSION}-python3.11

ARG AIRFLOW_VERSION
# Extra pip requirements resolved together with the lock, e.g. a provider for s3:// or gs://.
ARG AIRFLOW_EXTRA_PACKAGES=""

# The official image installs Python packages as the airflow user, never as root.
USER airflow

COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/airflow/requirements.txt \
        ${AIRFLOW_EXTRA_PACKAGES}

# `marketing` is imported from include/ (no install step), as in the local venv.
ENV PYTHONPATH=/opt/airflow/include${PYTHONPATH:+:${PYTHONPATH}}

COPY --chown=airflow:0 include /opt/airflow/include
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --from=dashboard-assets --chown=airflow:0 /build/marketing_dashboard/static/vendor \
     /opt/airflow/plugins/marketing_dashboard/static/vendor

# Landing zone default (LANDING_URL=file:///opt/airflow/data/landing) and the folder for the
# SimpleAuthManager passwords file; group 0 writable so any AIRFLOW_UID with GID 0 can use them.
RUN mkdir -p /opt/airflow/data/landing /opt/airflow/auth \
    && chmod -R g+rwX /opt/airflow/data /opt/airflow/auth
