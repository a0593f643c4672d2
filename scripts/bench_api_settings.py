"""Settings of the API benchmark's server (scripts/bench_api.py): the project's settings, with
the benchmark's own URLconf (the site plus the floor and the usual-way views) and no debug."""

from kp_tracker.settings import *  # noqa: F403
from kp_tracker.settings import REST_FRAMEWORK

DEBUG = False
ROOT_URLCONF = "bench_api_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# The anonymous throttle stays on, as in production, at a rate the load cannot reach: its cost
# (a cache read and write per request) is part of what is measured. Per second, so that the
# history it keeps (one timestamp per request in the window) stays as short as production's
# 120 a minute; a per-hour rate would grow it without bound during a run.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/second"}}
