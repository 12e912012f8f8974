# The demo stack's example agent (docker-compose.yml, service `agent`): agentyield's scripted demo workload,
# run again and again, exporting spans and metrics over OTLP to the Collector. It calls no real LLM
# provider (the demo answers from an in-process mock), so it needs no API key and no network but the stack's.
# Build context: the repository root (docker-compose.yml sets it); agent.Dockerfile.dockerignore trims it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . /src
RUN pip install . && useradd --create-home agent
USER agent
WORKDIR /home/agent

# Overridden by docker-compose.yml; set here so the image also works with a plain `docker run`.
ENV OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 \
    OTEL_SERVICE_NAME=demo-agent \
    DEMO_PAUSE_SECONDS=15

# One run = one process: a new seed each time, so the numbers move; the Collector's deltatocumulative
# processor joins the runs into continuous series. A failed run (e.g. Collector not up yet) is retried.
CMD ["sh", "-c", "while true; do agentyield demo --no-report --dir /tmp/agentyield --seed \"$(date +%s)\" || echo 'demo run failed; retrying'; sleep \"$DEMO_PAUSE_SECONDS\"; done"]
