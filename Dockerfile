# One image, both roles: `clusterdoc serve` (the Slack app) and `clusterdoc worker` (per cluster).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY workers ./workers
COPY runbooks ./runbooks
COPY examples ./examples
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 clusterdoc
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
ENV PYTHONUNBUFFERED=1 PORT=3000
EXPOSE 3000
ENTRYPOINT ["clusterdoc"]
CMD ["serve"]
