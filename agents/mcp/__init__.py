"""The MCP side: server processes and their lifecycle (servers), their tools as Strands tools (tools), and
what a tool's output may carry back to the model (output)."""
