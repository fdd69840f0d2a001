"""Re-export: the threaded aiohttp server moved to `evals/` (the eval's offline cluster ships with the bot)."""

from evals.threaded_server import ThreadedServer

__all__ = ["ThreadedServer"]
