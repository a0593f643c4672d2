"""The Celery worker the benchmarks start beside what they measure: one solo-pool process, as
one worker process of a deployment, without the cluster chatter (mingle, gossip, heartbeat)
that a single worker has no use for."""

import sys
from pathlib import Path

COMMAND = [
    str(Path(sys.executable).with_name("celery")),
    "-A",
    "kp_tracker",
    "worker",
    "--pool=solo",
    "--without-mingle",
    "--without-gossip",
    "--without-heartbeat",
]
