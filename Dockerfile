# One image for the gateway, the workers, Flower and the chat-ingest job; choose by command:
#   cortex gateway | cortex worker --queues alerts | celery -A workers.app flower
#   cortex ingest-chats /exports

# Builder: compilers live here only, for any dependency without a wheel for the platform
# (arm64 nodes may have to build some from source). It builds wheels of the project and its
# dependencies, then installs exactly those, offline, into a virtualenv the runtime copies.
FROM python:3.11-slim AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY common ./common
COPY gateway ./gateway
COPY workers ./workers
RUN pip wheel --wheel-dir /wheels . \
    && python -m venv /opt/cortex \
    && /opt/cortex/bin/pip install --no-index --find-links=/wheels cluster-cortex

# Runtime: the same Python, the virtualenv, and nothing else: no compilers, no wheels, no
# build tree, no pip cache.
FROM python:3.11-slim
ENV PATH=/opt/cortex/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CORTEX_QDRANT_PATH=/data/qdrant
RUN groupadd --system --gid 10001 cortex \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/cortex --create-home \
        --shell /usr/sbin/nologin cortex \
    && install -d -o 10001 -g 10001 /data
COPY --from=builder /opt/cortex /opt/cortex
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /data
EXPOSE 8080 5555
CMD ["cortex", "gateway"]
