# syntax=docker/dockerfile:1
# Build stage: a wheel of regauth and its dependencies.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[fast]'

# Runtime stage: no compilers, no sources, a non-root user, data in a volume.
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /var/lib/regauth --create-home regauth
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels regauth uvloop && rm -rf /wheels
COPY config/regauth.example.toml /etc/regauth/regauth.example.toml
USER regauth
WORKDIR /var/lib/regauth
ENV REGAUTH_SERVER_LISTEN=0.0.0.0:5001 \
    REGAUTH_STORAGE_PATH=/var/lib/regauth/data/regauth.db \
    REGAUTH_KEYS_DIR=/var/lib/regauth/data/keys
VOLUME ["/var/lib/regauth/data"]
EXPOSE 5001
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:5001/healthz', timeout=2)" || exit 1
ENTRYPOINT ["regauth"]
CMD ["serve"]
