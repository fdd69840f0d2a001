# syntax=docker/dockerfile:1
# sre-bot image: the bot in /opt/venv, the pinned MCP servers in /opt/mcp (no network needed at run time),
# non-root, read-only root filesystem friendly (state in /data, scratch in /tmp).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project --python /usr/local/bin/python3
COPY agents ./agents
COPY slackbot ./slackbot
COPY frontends ./frontends
COPY mcpservers ./mcpservers
COPY evals ./evals
RUN uv sync --locked --no-dev --no-editable --python /usr/local/bin/python3
COPY scripts/install-mcp-servers ./scripts/
COPY deploy/mcp ./deploy/mcp
RUN MCP_TOOLS_DIR=/opt/mcp MCP_PYTHON=/usr/local/bin/python3 scripts/install-mcp-servers \
    # The billing server keeps a scratch SQLite file in a "sessions" folder beside its code: send it to /tmp.
    && ln -s /tmp "$(find /opt/mcp -type d -path '*site-packages/awslabs/billing_cost_management_mcp_server' | head -n 1)/../sessions"

FROM ${PYTHON_IMAGE}
RUN groupadd --gid 10001 sre-bot \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin sre-bot \
    && mkdir -p /data /reports \
    && chown 10001:10001 /data /reports
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/mcp /opt/mcp
ENV PATH=/opt/venv/bin:/opt/mcp/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MCP_BIN_DIR=/opt/mcp/bin \
    SESSION_STORAGE_PATH=/data/sessions \
    APPROVALS_DB_PATH=/data/approvals.sqlite3 \
    ALERT_STATE_PATH=/data/alerts.sqlite3 \
    AUDIT_LOG_PATH=/data/audit.jsonl \
    MANIFEST_DIR=/data/manifests \
    EVENT_DEDUPE_PATH=/data/slack-events.sqlite3 \
    MCP_LOG_DIR=/data/log \
    MPLCONFIGDIR=/data/.matplotlib \
    HEALTH_PORT=8080 \
    TMPDIR=/tmp
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "slackbot.healthcheck"]
ENTRYPOINT ["sre-bot"]
CMD ["run"]
