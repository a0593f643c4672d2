"""Real moving parts for the notification tests: a Redis server of their own, a Celery worker
process, a webhook receiver over HTTP and a mailbox the worker writes to.

The Redis server is this package's own, on a free loopback port, so the test that stops it
cannot disturb the one `make test` shares with the rest of the suite. The worker is a real
`celery worker` subprocess on that Redis and on the test database; tests that use it are
`django_db(transaction=True)`, so what they write is committed and the worker sees it.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
import redis
from django.db import connection

from kp_tracker.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")

# Short schedules so retries, the sweep and its thresholds play out in seconds. The test
# process gets them too, for the services it calls itself (the sweep, the fan-out).
FAST = {
    "NOTIFICATIONS_BACKOFF_BASE": "0.2",
    "NOTIFICATIONS_BACKOFF_MAX": "5",
    "NOTIFICATIONS_WEBHOOK_TIMEOUT": "0.5",
    "NOTIFICATIONS_REQUEUE_AFTER": "2",
    # Above the longest a batch holds a claim on a loaded machine, so a live worker's claims
    # are never taken for a dead one's.
    "NOTIFICATIONS_STUCK_AFTER": "3",
    "NOTIFICATIONS_BATCH_SIZE": "50",
    "SITE_URL": "http://testserver",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(every)


# --- Redis ----------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._pings, 10, "Redis to start")

    def stop(self) -> None:
        """Stop it the hard way: whatever was queued is lost, as when Redis dies."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def _pings(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    def queue_length(self, queue: str = "celery") -> int:
        return self.client.llen(queue)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def point_celery_at(url: str) -> None:
    """Make this process publish to `url` for real (not eagerly), dropping pooled connections
    to any other broker (kombu keeps its pools in process-wide registries)."""
    celery_app.conf.task_always_eager = False
    if celery_app.conf.broker_url == url:
        return
    celery_app.conf.broker_url = url
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(autouse=True)
def broker(redis_server: RedisServer, monkeypatch, settings) -> Iterator[RedisServer]:
    """Every test here publishes to the package's own Redis, emptied before and after."""
    if redis_server.process is None:
        redis_server.start()
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    settings.SITE_URL = FAST["SITE_URL"]
    point_celery_at(redis_server.url)
    redis_server.client.flushdb()
    yield redis_server
    if redis_server.process is not None:
        redis_server.client.flushdb()


# --- The worker -----------------------------------------------------------------------------


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("The worker tests need PostgreSQL (DATABASE_URL), as `make test` provides.")
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


class Worker:
    """A real `celery worker` process on the test database and the package's Redis."""

    ready_line = b" ready."

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def argv(self) -> list[str]:
        return [
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            f"--hostname=test-{os.getpid()}-{self.starts}@%h",
        ]

    def start(self) -> None:
        self.starts += 1
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CELERY), "-A", "kp_tracker", *self.argv(), "--loglevel=INFO"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.log.name} exited:\n{self.output()}")
            return self.ready_line in self.log.read_bytes()[offset:]

        wait_for(ready, 30, f"{self.log.name} to be ready")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, whatever it was doing cut short."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-20000:]


class Beat(Worker):
    """`celery beat` with the project's CELERY_BEAT_SCHEDULE (the sweep every
    NOTIFICATIONS_SWEEP_INTERVAL seconds)."""

    ready_line = b"beat: Starting..."

    def argv(self) -> list[str]:
        return ["beat", f"--schedule={self.log.with_suffix('.schedule')}"]


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def worker_env(broker: RedisServer, mail_dir: Path) -> dict[str, str]:
    """The worker's environment; a test may change it before starting the worker."""
    env = {
        **os.environ,
        **FAST,
        "DJANGO_SETTINGS_MODULE": "kp_tracker.settings",
        "DJANGO_ENV": "test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker.url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # The worker cannot share this process's locmem outbox: it writes each message to a
        # file in mail_dir (Django's file-based backend), which the tests read.
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
    }
    return env


@pytest.fixture
def worker_factory(worker_env: dict[str, str], tmp_path: Path, request) -> Iterator[Callable]:
    workers: list[Worker] = []

    def make(start: bool = True, kind: type[Worker] = Worker, **env: str) -> Worker:
        name = f"{kind.__name__.lower()}-{len(workers)}.log"
        worker = kind({**worker_env, **env}, tmp_path / name)
        workers.append(worker)
        if start:
            worker.start()
        return worker

    yield make
    for worker in workers:
        worker.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for worker in workers:
            print(f"--- {worker.log.name} ---\n{worker.output()}")


@pytest.fixture
def worker(worker_factory) -> Worker:
    return worker_factory()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- Mailbox --------------------------------------------------------------------------------

SEPARATOR = b"\n" + b"-" * 79 + b"\n"


class Mailbox:
    """The messages the worker's file-based e-mail backend wrote, one file per connection."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def messages(self) -> list[email.message.Message]:
        found = []
        for path in sorted(self.directory.iterdir()):
            for chunk in path.read_bytes().split(SEPARATOR):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk, policy=email.policy.default))
        return found

    def message_ids(self) -> Counter[str]:
        return Counter(str(message["Message-ID"]) for message in self.messages())

    def to(self, address: str) -> list[email.message.Message]:
        return [message for message in self.messages() if message["To"] == address]


@pytest.fixture
def mailbox(mail_dir: Path) -> Mailbox:
    return Mailbox(mail_dir)


# --- Webhook receiver -----------------------------------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on loopback that records every request. `script[path]` lists what to
    answer, one entry per request (then 200): a status, (status, headers), or "timeout"."""

    url: str
    requests: list[Request] = field(default_factory=list)
    script: dict[str, list[Any]] = field(default_factory=dict)
    hang: float = 2.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, path: str) -> list[Request]:
        with self.lock:
            return [request for request in self.requests if request.path == path]

    def successes(self, path: str) -> list[Request]:
        return [request for request in self.to(path) if 200 <= request.status < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server: ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            request = Request(
                self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
            )
            with state.lock:
                state.requests.append(request)
                steps = state.script.get(self.path)
                step = steps.pop(0) if steps else 200
            if step == "timeout":
                time.sleep(state.hang)  # longer than the sender waits
                step = 503
            status, headers = step if isinstance(step, tuple) else (step, {})
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                request.status = status  # only a response the sender could read counts
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
