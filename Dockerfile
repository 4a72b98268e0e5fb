# One image, both roles: `clusterdoc serve` (the Slack app) and `clusterdoc worker` (per cluster).
#
# Published as ghcr.io/clusterdoc/clusterdoc:<version> (the version in pyproject.toml, which is the
# chart's appVersion), plus :<version>-<short git sha> for every build of main; the chart pins the tag.
#   docker build -t ghcr.io/clusterdoc/clusterdoc:0.1.0 .
#
# Dependencies come from requirements/runtime.lock (uv pip compile, with hashes): two builds a week
# apart install the same packages. Linted by hadolint (tests/test_dockerfile.py).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/clusterdoc
COPY requirements/runtime.lock requirements/runtime.lock
RUN /opt/clusterdoc/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps \
        -r requirements/runtime.lock
# clusterdoc/ links bot/, workers/, runbooks/ and examples/ in (clusterdoc/bot -> ../bot): copy both
# sides; the wheel build then copies the linked files into the one `clusterdoc` package.
COPY pyproject.toml README.md ./
COPY clusterdoc ./clusterdoc
COPY bot ./bot
COPY workers ./workers
COPY runbooks ./runbooks
COPY examples ./examples
RUN /opt/clusterdoc/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps . \
    && /opt/clusterdoc/bin/clusterdoc runbooks validate

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 clusterdoc \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin clusterdoc
COPY --from=build /opt/clusterdoc /opt/clusterdoc
ENV PATH=/opt/clusterdoc/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000 \
    CLUSTERDOC_LOG_FORMAT=json
USER 10001:10001
EXPOSE 3000 9090
ENTRYPOINT ["clusterdoc"]
CMD ["serve"]
