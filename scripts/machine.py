"""One line saying where a benchmark ran, for the figures it writes to docs/benchmarks.md."""

import os
import platform
from pathlib import Path

import django
from django.db import connection


def describe() -> str:
    """Kernel, cores and CPU model, Python, Django, the database server, load average now."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    database = connection.vendor
    if database == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, Django {django.get_version()}, {database}; "
        f"load average at start {load}"
    )
