#!/usr/bin/env python
"""Benchmark the consensus engine on the default synthetic record, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:PORT/kp_tracker DJANGO_ENV=test \\
        .venv/bin/python scripts/bench_engine.py [--runs 3] [--generate]

Generates the default synthetic record first (manage.py generate_synthetic_record, seed 1) when
the database does not hold it, or with --generate. Then, for each run:

  first       every outcome reset (outcome, explanation and counterfactuals, so every decision
              is written again), then engine.recompute(): every outcome and every rule's
              counterfactual from scratch, with their consequences;
  idempotent  engine.recompute() again, which finds nothing to write;
  floor       SELECT count(*) over the positions, for scale: no query over them can be faster.

Each recompute runs in a fresh child process, so that its peak resident memory (VmHWM, or
ru_maxrss) is its own and not the generator's or an earlier run's; one more, untimed, run under
tracemalloc gives the peak of Python's own allocations. Receivers of `outcomes_changed`
(notifications) are disconnected in the children: the reset makes all 20,000 outcomes "move",
which real use never does, and their cost is the notifications' rather than the engine's.

On a shared machine the wall time depends on what else runs. Beside it the script reports the CPU
time of the recompute's process and of its PostgreSQL backend (from /proc, when the server runs
on this host): the two take turns, so their sum approximates the wall time on an otherwise idle
machine with the data in memory (it leaves out parallel query workers; the engine's plans use
none).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 2.0
TARGET_MEGABYTES = 300


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kp_tracker.settings")
    import django

    django.setup()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far.

    VmHWM rather than ru_maxrss where there is one: Linux carries ru_maxrss across exec, so a
    child started by a large parent would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu_seconds(pid: int) -> float | None:
    """CPU time of the PostgreSQL backend serving this connection, where it runs on this host
    and /proc shows it (user and system time, fields 14 and 15 of /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(kind: str) -> None:
    """Run one recompute and print what it cost as JSON (in a fresh process)."""
    setup_django()
    import tracemalloc

    from django.db import connection

    from proposals import synthetic
    from proposals.consensus import engine

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    before = peak_rss_mb()
    if kind == "tracemalloc":
        tracemalloc.start()
    with synthetic.muted(engine.outcomes_changed):
        server_before, client_before = server_cpu_seconds(backend), own_cpu_seconds()
        started = time.perf_counter()
        changed = engine.recompute()
        seconds = time.perf_counter() - started
        server_after, client_after = server_cpu_seconds(backend), own_cpu_seconds()
    result = {
        "seconds": seconds,
        "changed": changed,
        "maxrss_mb": peak_rss_mb(),
        "baseline_mb": before,
        "client_cpu": client_after - client_before,
        "server_cpu": None if server_before is None else server_after - server_before,
    }
    if kind == "tracemalloc":
        result["python_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(result))


def run_child(kind: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def reset_outcomes() -> int:
    """Forget every stored outcome, so that the next recompute writes every decision."""
    from proposals.models import Decision

    return Decision.objects.update(
        outcome=Decision.Outcome.UNDETERMINED, explanation={}, counterfactuals={}
    )


def vacuum() -> None:
    """Start each run from tables without the dead rows of the previous one."""
    from django.db import connection

    from meetings.models import AgendaItem, Meeting
    from proposals.models import Decision, Proposal

    with connection.cursor() as cursor:
        for model in (Decision, Proposal, AgendaItem, Meeting):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


def floor_seconds() -> float:
    from django.db import connection

    from proposals.models import Position

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(f"SELECT count(*) FROM {Position._meta.db_table}")
        cursor.fetchone()
        return time.perf_counter() - started


def machine() -> dict:
    from django.db import connection

    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
    mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": first("/proc/cpuinfo", "model name"),
        "ram_gb": round(int(mem_kb) / 2**20, 1) if mem_kb.isdigit() else None,
        "postgresql": server_version,
        "shared_buffers": shared_buffers,
        "work_mem": work_mem,
        "python": platform.python_version(),
    }


def record_sizes() -> dict:
    from meetings.models import Meeting
    from participants.models import Participant
    from proposals.models import Decision, Letter, Position
    from proposals.synthetic import PARTICIPANT_NAME_PREFIX, PREFIX

    return {
        "synthetic_decisions": Decision.objects.filter(slug__startswith=PREFIX).count(),
        "synthetic_participants": Participant.objects.filter(
            name__startswith=PARTICIPANT_NAME_PREFIX
        ).count(),
        "decisions": Decision.objects.count(),
        "positions": Position.objects.count(),
        "participants": Participant.objects.count(),
        "meetings": Meeting.objects.count(),
        "letters": Letter.objects.count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Timed runs (default 3).")
    parser.add_argument(
        "--generate", action="store_true", help="Generate the synthetic record again first."
    )
    parser.add_argument("--json", action="store_true", help="Print the results as JSON too.")
    parser.add_argument("--child", choices=["timed", "tracemalloc"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    setup_django()
    from django.db import connection

    from proposals import synthetic

    if connection.vendor != "postgresql":
        print("bench_engine: set DATABASE_URL to a PostgreSQL database.", file=sys.stderr)
        return 2

    defaults = synthetic.Sizes()
    sizes = record_sizes()
    generation = None
    if (
        args.generate
        or sizes["synthetic_decisions"] != defaults.decisions
        or sizes["synthetic_participants"] != defaults.participants
    ):
        print("Generating the default synthetic record (seed 1)...", file=sys.stderr)
        report = synthetic.generate(sizes=defaults, seed=1, flush_first=True, progress=sys.stderr)
        generation = {
            "seconds": report.generation_seconds,
            "recompute_seconds": report.recompute_seconds,
        }
        sizes = record_sizes()

    def cpu(run: dict) -> str:
        if run["server_cpu"] is None:
            return f"CPU {run['client_cpu']:.2f} s in Python"
        return (
            f"CPU {run['client_cpu'] + run['server_cpu']:.2f} s: {run['client_cpu']:.2f} "
            f"Python + {run['server_cpu']:.2f} PostgreSQL"
        )

    floor_seconds()  # warm the cache: the runs below read the same pages
    runs = []
    for n in range(1, args.runs + 1):
        vacuum()
        reset_outcomes()
        load_before = os.getloadavg()[0]
        first = run_child("timed")
        again = run_child("timed")
        floor = floor_seconds()
        runs.append({"first": first, "again": again, "floor": floor, "load": load_before})
        print(
            f"run {n}: first {first['seconds']:.2f} s ({cpu(first)}; {first['changed']:,} "
            f"written, peak {first['maxrss_mb']:.0f} MB), idempotent {again['seconds']:.2f} s "
            f"({cpu(again)}; {again['changed']} written, peak {again['maxrss_mb']:.0f} MB), "
            f"floor {floor * 1000:.0f} ms, load average {load_before:.2f}",
            file=sys.stderr,
        )
    reset_outcomes()
    traced = run_child("tracemalloc")

    def summary(values: list[float]) -> dict:
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": sizes,
        "generation": generation,
        "first_seconds": summary([r["first"]["seconds"] for r in runs]),
        "idempotent_seconds": summary([r["again"]["seconds"] for r in runs]),
        "first_cpu_seconds": summary(
            [r["first"]["client_cpu"] + (r["first"]["server_cpu"] or 0) for r in runs]
        ),
        "idempotent_cpu_seconds": summary(
            [r["again"]["client_cpu"] + (r["again"]["server_cpu"] or 0) for r in runs]
        ),
        "floor_seconds": summary([r["floor"] for r in runs]),
        "first_peak_rss_mb": max(r["first"]["maxrss_mb"] for r in runs),
        "idempotent_peak_rss_mb": max(r["again"]["maxrss_mb"] for r in runs),
        "process_baseline_rss_mb": max(r["first"]["baseline_mb"] for r in runs),
        "python_peak_mb": traced["python_peak_mb"],
        "load_average": summary([r["load"] for r in runs]),
        "runs": runs,
    }
    first_median = result["first_seconds"]["median"]
    peak = result["first_peak_rss_mb"]
    print(
        f"\nRecompute from scratch: median {first_median:.2f} s "
        f"(min {result['first_seconds']['min']:.2f}, max {result['first_seconds']['max']:.2f}) "
        f"{'within' if first_median < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS:.0f} s "
        f"target; idempotent median {result['idempotent_seconds']['median']:.2f} s.\n"
        f"CPU time (Python + PostgreSQL backend), the wall time on an otherwise idle machine: "
        f"median {result['first_cpu_seconds']['median']:.2f} s from scratch, "
        f"{result['idempotent_cpu_seconds']['median']:.2f} s idempotent.\n"
        f"Peak resident memory {peak:.0f} MB "
        f"{'within' if peak < TARGET_MEGABYTES else 'OVER'} the {TARGET_MEGABYTES} MB target "
        f"(process baseline {result['process_baseline_rss_mb']:.0f} MB; Python allocations "
        f"peak at {result['python_peak_mb']:.0f} MB under tracemalloc).\n"
        f"Floor, SELECT count(*) over {sizes['positions']:,} positions: median "
        f"{result['floor_seconds']['median'] * 1000:.0f} ms."
    )
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
