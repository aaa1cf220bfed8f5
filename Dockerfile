# syntax=docker/dockerfile:1
# Any Debian-like image with python3 (>= 3.11) and its venv module will do; the test suite
# builds on a local Debian bookworm image made with debootstrap (tests/e2e/harness/image.py).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build stage: regauth and its dependencies in a virtualenv, copied whole into the runtime.
FROM ${PYTHON_IMAGE} AS build
# Extra pip options, e.g. "--no-index --find-links /src/wheels" to build from a wheelhouse
# put in the build context (the test suite does, as its machines reach no index from a container).
ARG PIP_OPTIONS=""
WORKDIR /src
COPY . .
RUN python3 -m venv /opt/regauth \
    && /opt/regauth/bin/pip install --no-cache-dir ${PIP_OPTIONS} '.[fast]'

# Runtime stage: no sources, no build tools, a non-root user, data in a volume.
FROM ${PYTHON_IMAGE}
# The data directory exists and is the user's before VOLUME: a new volume takes its owner.
RUN useradd --system --uid 10001 --home-dir /var/lib/regauth --create-home regauth \
    && install -d -o regauth -g regauth -m 0700 /var/lib/regauth/data
COPY --from=build /opt/regauth /opt/regauth
COPY config/regauth.example.toml /etc/regauth/regauth.example.toml
USER regauth
WORKDIR /var/lib/regauth
ENV PATH=/opt/regauth/bin:$PATH \
    REGAUTH_SERVER_LISTEN=0.0.0.0:5001 \
    REGAUTH_STORAGE_PATH=/var/lib/regauth/data/regauth.db \
    REGAUTH_KEYS_DIR=/var/lib/regauth/data/keys
VOLUME ["/var/lib/regauth/data"]
EXPOSE 5001
# `regauth health` reads the same configuration as `serve`, so a changed listen address is followed.
HEALTHCHECK --interval=30s --timeout=3s CMD ["regauth", "health"]
ENTRYPOINT ["regauth"]
CMD ["serve"]
