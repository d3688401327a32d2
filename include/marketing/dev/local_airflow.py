"""A local Airflow (`airflow standalone`) running the project's DAGs: `make airflow` and the tests.

Standalone starts a scheduler, a DAG processor, a triggerer and the API server as children, and
the scheduler's task processes put themselves in process groups of their own. So the instance is
started in a session of its own and stopped by signalling every process of that session: nothing
it started outlives it, and nothing else is touched.

State lives in `AIRFLOW_HOME` (`<project>/.airflow` by default, git-ignored): the metadata
database, the logs, the admin's password (generated on first start) and the JWT secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from marketing.config import PROJECT_ROOT, Settings
from marketing.warehouse import airflow_conn_uri

USERNAME = "admin"
DEFAULT_PORT = 8080
HEALTH_PATH = "/api/v2/monitor/health"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"  # Airflow's own name for it
JWT_SECRET_FILE = "jwt_secret"
LOG_FILE = "standalone.log"
# Knobs for a laptop (or a 2-core CI box); the caller's environment wins over these.
TUNING = {
    "AIRFLOW__CORE__PARALLELISM": "4",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
}


def airflow_env(settings: Settings, url: str) -> dict[str, str]:
    """Environment for an in-process or local Airflow: project DAGs, plugins, warehouse connection."""
    from marketing.warehouse import airflow_conn_uri

    home = Path(os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow")
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The project's DAGs are active locally from the start: a paused marketing_attribution
        # would miss the ingest's Asset events (Airflow queues them only for unpaused DAGs).
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": os.environ.get("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION")
        or "False",
        "AIRFLOW_CONN_WAREHOUSE": os.environ.get("AIRFLOW_CONN_WAREHOUSE") or airflow_conn_uri(url),
        "WAREHOUSE_URL": url,  # the dashboard, inside the api-server, reads the marts through it
        "LANDING_URL": settings.landing_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT / "include"), os.environ.get("PYTHONPATH")])),
    }


def ensure_airflow_db(env: dict[str, str]) -> None:
    """Create Airflow's own metadata database (SQLite under AIRFLOW_HOME) once."""
    home = Path(env["AIRFLOW_HOME"])
    marker = home / ".db-migrated"
    if marker.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env={**os.environ, **env}, check=True,
                   stdout=subprocess.DEVNULL)
    marker.touch()


class AirflowStartError(RuntimeError):
    """Airflow exited or did not become healthy in time; the message ends with its log."""


@dataclass(frozen=True)
class AirflowInstance:
    """A running local Airflow: where it listens, how to log in, where its state is."""

    base_url: str
    username: str
    password: str
    home: Path
    pid: int  # also the process group and session id of every process it started

    @property
    def log_path(self) -> Path:
        return self.home / LOG_FILE

    @property
    def passwords_file(self) -> Path:
        return self.home / PASSWORDS_FILE

    def token(self) -> str:
        """A JWT for the REST API (`POST /auth/token` with the admin's credentials)."""
        response = httpx.post(f"{self.base_url}/auth/token", json={"username": self.username, "password": self.password},
                              timeout=30)
        response.raise_for_status()
        return response.json()["access_token"]

    def client(self, **kwargs) -> httpx.Client:
        """An HTTP client for the REST API, logged in as the admin."""
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs)

    def health(self) -> dict | None:
        """`/api/v2/monitor/health` (no login needed), or None while the API server is not up."""
        try:
            response = httpx.get(self.base_url + HEALTH_PATH, timeout=5)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the standalone log (every component's output)."""
        return _tail(self.log_path, lines)


def is_healthy(health: dict | None) -> bool:
    """True when the metadata database and every component standalone runs report healthy."""
    components = ("metadatabase", "scheduler", "dag_processor", "triggerer")
    return bool(health) and all((health.get(name) or {}).get("status") == "healthy" for name in components)


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def choose_port(port: int | None = None) -> int:
    """The API port: `port`, else `AIRFLOW_PORT`, else 8080 when free, else any free port."""
    if port:
        return port
    if os.environ.get("AIRFLOW_PORT"):
        return int(os.environ["AIRFLOW_PORT"])
    return DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else free_port()


def _secret_file(path: Path, make) -> str:
    """Read a secret kept in `path`, creating it (owner-only) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(make())
    return path.read_text()


def admin_password(home: Path) -> str:
    """The admin's password, generated into Airflow's passwords file on first start."""
    path = home / PASSWORDS_FILE
    make = lambda: json.dumps({USERNAME: secrets.token_urlsafe(12)}) + "\n"  # noqa: E731
    passwords = json.loads(_secret_file(path, make) or "{}")
    if USERNAME not in passwords:  # a file Airflow wrote for other users: add ours
        passwords[USERNAME] = secrets.token_urlsafe(12)
        path.write_text(json.dumps(passwords) + "\n")
    return passwords[USERNAME]


def instance_env(settings: Settings, warehouse_url: str, home: Path, port: int) -> dict[str, str]:
    """The environment of a local Airflow: the project's (`airflow_env`) plus API, auth and tuning."""
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in TUNING.items() if key not in os.environ}
    env.update(airflow_env(settings, warehouse_url))
    env.update({
        "AIRFLOW_HOME": str(home),
        # the URL given wins over an AIRFLOW_CONN_WAREHOUSE in the environment: a test must never
        # reach the developer's warehouse
        "AIRFLOW_CONN_WAREHOUSE": airflow_conn_uri(warehouse_url),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        # every component signs or checks the same JWTs, across restarts too
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret_file(home / JWT_SECRET_FILE, lambda: secrets.token_urlsafe(32)),
        # standalone starts its components as `airflow …`: this interpreter's, even without an activated venv
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    })
    return env


def _tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 1000 * lines))  # component lines run long
            return b"\n".join(file.read().splitlines()[-lines:]).decode(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"


def session_processes(sid: int, *, zombies: bool = False) -> list[psutil.Process]:
    """Processes in session `sid`: everything the instance started, whatever their group."""
    found = []
    for proc in psutil.process_iter(["status"]):
        with contextlib.suppress(OSError, psutil.Error):  # gone meanwhile, or not ours to inspect
            if os.getsid(proc.pid) == sid and (zombies or proc.info["status"] != psutil.STATUS_ZOMBIE):
                found.append(proc)
    return found


def _signal_session(process: subprocess.Popen, sig: signal.Signals, wait: float) -> bool:
    """Send `sig` to the session's group and to each of its processes; True once all are gone."""
    sid = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sid, sig)
    for proc in session_processes(sid):  # task processes sit in groups of their own
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)
    deadline = time.monotonic() + wait
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)  # reap our own child; init reaps the orphaned rest
        if process.poll() is not None and not session_processes(sid, zombies=True):
            return True
        if time.monotonic() > deadline:
            return False


def stop(process: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM every process of the instance's session; SIGKILL what is left after `grace` seconds."""
    try:
        if _signal_session(process, signal.SIGTERM, grace):
            return
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
        pass
    if not _signal_session(process, signal.SIGKILL, 10.0) and (alive := session_processes(process.pid)):
        raise RuntimeError(f"processes of Airflow's session {process.pid} survived SIGKILL: {alive}")


def _wait_healthy(instance: AirflowInstance, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    health = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AirflowStartError(f"airflow standalone exited with {process.returncode}; "
                                    f"last lines of {instance.log_path}:\n{instance.log_tail()}")
        health = instance.health()
        if is_healthy(health):
            return
        time.sleep(1)
    raise AirflowStartError(f"Airflow not healthy after {timeout:.0f}s (last health: {health}); "
                            f"last lines of {instance.log_path}:\n{instance.log_tail()}")


@contextlib.contextmanager
def running_airflow(settings: Settings, warehouse_url: str, *, home: Path | None = None, port: int | None = None,
                    start_timeout: float = 180.0) -> Iterator[AirflowInstance]:
    """Start `airflow standalone` for the project, wait until healthy, and stop all of it on exit."""
    port = choose_port(port)
    if not _port_is_free(port):
        raise AirflowStartError(f"port {port} is in use: set AIRFLOW_PORT (or pass port=) to a free one")
    home = Path(home or airflow_env(settings, warehouse_url)["AIRFLOW_HOME"]).resolve()
    home.mkdir(parents=True, exist_ok=True)
    password = admin_password(home)
    env = instance_env(settings, warehouse_url, home, port)
    with (home / LOG_FILE).open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env={**os.environ, **env},
                                   cwd=home, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    instance = AirflowInstance(base_url=env["AIRFLOW__API__BASE_URL"], username=USERNAME, password=password,
                               home=home, pid=process.pid)
    try:
        _wait_healthy(instance, process, start_timeout)
        yield instance
    finally:
        stop(process)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve_forever(settings: Settings, url: str) -> int:
    """Run a local Airflow until Ctrl-C (or SIGTERM), then stop every process it started."""
    for sig in (signal.SIGINT, signal.SIGTERM):  # even where SIGINT came in ignored (a background job)
        signal.signal(sig, _interrupt)
    print("starting Airflow (a first start creates its database: about a minute)...", flush=True)
    try:
        with running_airflow(settings, url) as airflow:
            print(f"Airflow is up at {airflow.base_url}\n"
                  f"  user:     {airflow.username}\n"
                  f"  password: {airflow.password}  (kept in {airflow.passwords_file})\n"
                  f"  logs:     {airflow.log_path}\n"
                  "Ctrl-C stops it.", flush=True)
            try:
                _watch(airflow)
                print(f"Airflow stopped being healthy; last log lines:\n{airflow.log_tail()}", file=sys.stderr)
                status = 1
            except KeyboardInterrupt:
                print("\nstopping Airflow...", flush=True)
                status = 0
    except AirflowStartError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # while starting: running_airflow has stopped what it started
        print("\nAirflow stopped", flush=True)
        return 130
    print("Airflow stopped", flush=True)
    return status


def _watch(airflow: AirflowInstance) -> None:
    """Return once Airflow has looked unhealthy for half a minute (a late heartbeat is no crash)."""
    misses = 0
    while misses < 6:
        time.sleep(5)
        misses = 0 if is_healthy(airflow.health()) else misses + 1
