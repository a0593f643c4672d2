"""The production set-up: docker-compose.yml, the Dockerfile and production settings.

No Docker engine runs where the tests run, so docker-compose.yml is held to the published Compose
schema (../shared/compose/compose-spec.json) and then to the rules the schema cannot express.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_SCHEMA = REPO.parent / "shared" / "compose" / "compose-spec.json"
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def test_compose_file_follows_the_compose_schema(compose):
    assert COMPOSE_SCHEMA.is_file(), (
        f"The Compose schema is missing at {COMPOSE_SCHEMA}; the repository expects the shared "
        "folder beside it (../shared/compose/compose-spec.json)."
    )
    validator = Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    errors = [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(compose)
    ]
    assert errors == []


def test_compose_file_has_no_top_level_name_which_docker_compose_1_rejects(compose):
    assert "name" not in compose


def test_db_and_redis_report_health(services):
    for name in ("db", "redis"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_every_service_using_db_or_redis_waits_until_they_are_healthy(services):
    needs = {"DATABASE_URL": "db", "REDIS_URL": "redis"}
    checked = 0
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must say which condition"
        for variable, dependency in needs.items():
            if variable not in environment_of(service):
                continue
            checked += 1
            condition = depends_on.get(dependency, {}).get("condition")
            assert condition == "service_healthy", (
                f"{name} does not wait for a healthy {dependency}"
            )
    assert checked == 2 * len(APP_SERVICES)


def test_web_and_worker_start_after_migrations_succeed(services):
    assert "migrate" in services["migrate"]["command"]
    for name in ("web", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_web_reports_health(services):
    assert services["web"].get("healthcheck", {}).get("test")


def test_app_services_run_one_image(services):
    builds = {
        name: (services[name].get("build"), services[name].get("image")) for name in APP_SERVICES
    }
    assert len(set(builds.values())) == 1, builds
    build, image = next(iter(builds.values()))
    assert build and image


def test_app_services_run_in_production_mode(services):
    for name in APP_SERVICES:
        env = environment_of(services[name])
        assert env["DJANGO_ENV"] == "production", name
        # ${VAR:?message}: compose refuses to start without it rather than use a default.
        assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", env["SECRET_KEY"]), name
        assert env["ALLOWED_HOSTS"], name
        assert "@db:" in env["DATABASE_URL"], name
        assert env["REDIS_URL"].startswith("redis://redis:"), name


def test_image_runs_as_a_non_root_user():
    users = re.findall(r"^USER\s+(\S+)", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert users, "the Dockerfile never switches away from root"
    assert users[-1] not in {"root", "0"}


def run_in_production(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Drop what the test run sets and production never would.
    dropped = {"SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environ = {k: v for k, v in os.environ.items() if k not in dropped}
    environ.update(DJANGO_SETTINGS_MODULE="kp_tracker.settings", DJANGO_ENV="production", **env)
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=environ, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_secret_key():
    result = run_in_production("-c", "import django; django.setup()")
    assert result.returncode != 0
    assert "The environment variable SECRET_KEY must be set." in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = run_in_production(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level=WARNING",
        SECRET_KEY="production-length-key-" + "x7Qp-9vLm" * 6,
        ALLOWED_HOSTS="tracker.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
