"""`python -I -m mcpservers.prometheus`: the server over stdio (-I: no current folder on sys.path)."""

from mcpservers.prometheus.server import main

main()
