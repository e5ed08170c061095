# The default base is the public slim image; builds elsewhere pass another Debian-based image that
# ships python3 and python3-venv, so only `python3` and the venv's own tools are used below.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder

RUN python3 -m venv /opt/venv
COPY app/requirements.txt /tmp/requirements.txt
# A private CA bundle for pip can be passed with `--secret id=pip_cert,src=<file>`; it is mounted
# for this step only, so it never lands in a layer. pip trusts only that bundle when it is set.
RUN --mount=type=secret,id=pip_cert,required=false \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
        -r /tmp/requirements.txt

FROM ${BASE_IMAGE}

ARG VERSION=1.5.0
LABEL org.opencontainers.image.title="dummy-flask-app" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.description="Hello-world Flask app served by gunicorn."

# Numeric IDs match the pod's runAsUser/runAsGroup; the named entry only makes `id` readable.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app

# No bytecode writes: the root filesystem is read-only in the pod. Unbuffered so log lines reach
# the kubelet as they are written.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

COPY --from=builder /opt/venv /opt/venv
WORKDIR /srv
COPY app/ app/

USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "--config", "app/gunicorn.conf.py", "app.wsgi:application"]
