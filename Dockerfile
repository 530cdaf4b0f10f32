# syntax=docker/dockerfile:1.7
# The imagegate image: `imagegate serve` as a non-root user on a read-only root
# filesystem. Build (needs Docker with BuildKit):
#
#   make docker-build IMAGE=ghcr.io/acme/imagegate:0.1.0
#   # or, without a Docker engine: buildah bud -t ghcr.io/acme/imagegate:0.1.0 .
#   # or: docker build -t imagegate:dev --build-arg VERSION=0.1.0 \
#   #       --build-arg REVISION=$(git rev-parse HEAD) --build-arg SOURCE=https://github.com/acme/imagegate .
#
# The only writable paths a pod needs are /var/lib/imagegate (store and spool;
# volumes in the Helm chart) and /tmp (an emptyDir in the chart).

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: wheels of imagegate and every dependency ----------------------------
FROM ${PYTHON_IMAGE} AS builder
# Optional extras of the imagegate package to include, comma-separated (e.g. a
# database driver extra); empty: the base dependencies only.
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the package build reads (see .dockerignore): tests, docs and the
# virtualenv never reach the build context.
COPY pyproject.toml README.md ./
COPY src ./src
# Every dependency ships binary wheels for CPython 3.11 on linux/amd64 and
# linux/arm64, so no compiler is needed here either.
RUN pip wheel --wheel-dir /wheels ".${EXTRAS:+[$EXTRAS]}"

# --- final: the installed wheels and nothing else ---------------------------------
FROM ${PYTHON_IMAGE}

ARG EXTRAS=""
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/imagegate/imagegate
LABEL org.opencontainers.image.title="imagegate" \
      org.opencontainers.image.description="Kubernetes admission webhook and deployment tracker for container images" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IMAGEGATE_STORE=sqlite:////var/lib/imagegate/imagegate.db \
    IMAGEGATE_SPOOL=/var/lib/imagegate/spool/spool.db

# The wheels are bind-mounted from the builder, so they never become a layer of
# this image; pip compiles the .pyc files at install time (the root filesystem is
# read-only at run time) and keeps no cache.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "imagegate${EXTRAS:+[$EXTRAS]}" \
 && mkdir -p /var/lib/imagegate/spool \
 && chown -R 65532:65532 /var/lib/imagegate \
 && imagegate --version

USER 65532:65532
WORKDIR /var/lib/imagegate
# 8443: the webhook and HTTP API over TLS (the chart's Service maps 443 to it).
EXPOSE 8443
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (see the Helm chart).
ENTRYPOINT ["imagegate"]
CMD ["serve"]
