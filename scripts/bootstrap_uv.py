"""Install uv with nothing but python3's standard library: fetch its wheel from PyPI and unpack the binary.

For machines whose python3 has neither pip nor venv (a bare Debian image). Usage:
    python3 scripts/bootstrap_uv.py VERSION DEST_DIR   → DEST_DIR/uv
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import stat
import sys
import urllib.request
import zipfile
from pathlib import Path

PLATFORM_TAGS = {
    "x86_64": ("manylinux", "x86_64"),
    "amd64": ("manylinux", "x86_64"),
    "aarch64": ("manylinux", "aarch64"),
    "arm64": ("manylinux", "aarch64"),
}


def main() -> int:
    version, dest = sys.argv[1], Path(sys.argv[2])
    machine = platform.machine().lower()
    if sys.platform != "linux" or machine not in PLATFORM_TAGS:
        print(
            f"bootstrap_uv: no uv wheel rule for {sys.platform}/{machine}; install uv by hand",
            file=sys.stderr,
        )
        return 1
    family, arch = PLATFORM_TAGS[machine]
    index = os.environ.get("PYPI_SIMPLE_URL", "https://pypi.org/simple")
    request = urllib.request.Request(
        f"{index}/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    prefix = f"uv-{version}-"
    wheels = [
        f
        for f in files
        if f["filename"].startswith(prefix)
        and f["filename"].endswith(".whl")
        and family in f["filename"]
        and arch in f["filename"]
        and "musllinux" not in f["filename"]
    ]
    if not wheels:
        print(f"bootstrap_uv: PyPI has no {family} {arch} wheel of uv {version}", file=sys.stderr)
        return 1
    with urllib.request.urlopen(wheels[0]["url"], timeout=300) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != wheels[0]["hashes"]["sha256"]:
        print("bootstrap_uv: the downloaded wheel does not match PyPI's sha256", file=sys.stderr)
        return 1
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        member = next(n for n in wheel.namelist() if n.endswith("/scripts/uv"))
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / "uv"
        target.write_bytes(wheel.read(member))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"uv {version} installed at {target}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, KeyError, ValueError, StopIteration) as exc:  # network, PyPI answer or wheel layout
        print(f"bootstrap_uv: could not install uv: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
