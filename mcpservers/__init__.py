"""MCP servers this project writes itself, each run as its own process with the bot's Python.

They are separate processes on purpose (like the pinned servers from PyPI): a server holds its own
credentials, and the bot reaches it only over MCP. So nothing here imports `agents/`, `slackbot/` or
`frontends/` (tests/test_prometheus_server.py checks it), and each server reads only its own
environment: no `.env`, no settings of the bot.
"""
