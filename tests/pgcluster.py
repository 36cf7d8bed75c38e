"""A PostgreSQL 15 cluster of a test's own (not the run's database): for what needs a server to
restart, or a second one to replicate to. Run as the `postgres` user when the tests run as
root (initdb refuses root), on 127.0.0.1 and a free port, removed afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    def __init__(self, *, data: Path | None = None, settings: dict | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dashboard-pgtest-"))
        os.chmod(self.root, 0o755)  # noqa: S103 - the postgres user reads it
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres")
        self.data = data or self.root / "data"
        self.port = _free_port()
        self.settings = {
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "60",
            **(settings or {}),
        }
        if data is None:
            self._run(
                PG_BIN / "initdb",
                "-D",
                self.data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )

    def _run(self, *command, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*_as_postgres(), *map(str, command)],
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def _options(self) -> str:
        extra = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        return f"-p {self.port} -k {self.root} -h 127.0.0.1 {extra}"

    def start(self) -> PostgresCluster:
        self._run(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.root / "server.log",
            "-w",
            "-t",
            "60",
            "-o",
            self._options(),
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self._run(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.root / "server.log",
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
            "-o",
            self._options(),
            "restart",
        )

    def createdb(self, name: str) -> str:
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def replica(self) -> PostgresCluster:
        """A streaming replica of this (running) cluster, started."""
        copy = PostgresCluster.__new__(PostgresCluster)
        copy.root = Path(tempfile.mkdtemp(prefix="dashboard-pgreplica-"))
        os.chmod(copy.root, 0o755)  # noqa: S103 - the postgres user reads it
        if os.getuid() == 0:
            shutil.chown(copy.root, "postgres")
        copy.data = copy.root / "data"
        copy.port = _free_port()
        copy.settings = dict(self.settings)
        self._run(
            PG_BIN / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            self.port,
            "-U",
            "postgres",
            "-D",
            copy.data,
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",  # a spread checkpoint first would take minutes
        )
        return copy.start()

    def server_log(self) -> str:
        try:
            return (self.root / "server.log").read_text()[-3000:]
        except OSError:
            return ""

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
