"""`python -m slackbot.healthcheck`: the container's HEALTHCHECK, asking /healthz on HEALTH_PORT.

A module rather than an inline command so the port follows the setting (HEALTH_PORT=0: no server, healthy).
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("HEALTH_PORT") or "8080"
    if port == "0":
        return 0
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
