# Signoff's image: the same `signoff` command for every process (web, worker, scheduler).
#   docker build -t signoff .
#   docker run --rm signoff --version
# Your actions: build FROM this image and COPY the modules SIGNOFF_ACTIONS names into /app (see compose.yaml).

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY signoff ./signoff
COPY signoff_app ./signoff_app
COPY bot ./bot
COPY workers ./workers
COPY policies ./policies
COPY agent_api ./agent_api
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SIGNOFF_LOG_FORMAT=json \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Not root: a user of its own, owning only /app (where your action modules go).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin signoff \
    && mkdir /app && chown signoff:signoff /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /app
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2)"]
ENTRYPOINT ["signoff"]
CMD ["bot", "--http", "--host", "0.0.0.0", "--port", "3000"]
