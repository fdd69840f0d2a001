"""A small read-only Prometheus MCP server: `python -I -m mcpservers.prometheus`.

Written here because the maintained PyPI server (`prometheus-mcp-server`) loses Prometheus' own error
message, bounds nothing, and loads the `.env` it finds above its install (see README, "Metrics"). This
one offers four reading tools, sends only GETs to `PROMETHEUS_URL`'s `/api/v1/…` paths, bounds every
query in code (range, step, series, result size) and hands Prometheus' errors on word for word.
"""
