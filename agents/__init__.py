"""The agents: everything between a question and the MCP servers, knowing nothing about any front end.

No re-exports here on purpose: importing `agents.events` must not load Strands, the MCP client and the
model SDKs; front ends import what they use from its room (`agents.compose` to build, `agents.events` to
show what comes back).
"""
