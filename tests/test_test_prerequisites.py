"""scripts/test-prerequisites, which `make test` runs before pytest: Chromium installed with apt
as root, or one line naming the packages otherwise; PostgreSQL and Redis started when stopped.

The script runs with a PATH holding only stand-ins (id, apt-get, pg_isready, ...) that record
how they were called, so nothing here installs or starts anything, and the outcome does not
depend on what this machine has installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "test-prerequisites"


class Machine:
    """A bin directory of stand-ins; `calls` lists what the script ran, one line per call."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.state = root / "state"
        self.state.mkdir()
        self.calls = root / "calls"
        self.calls.touch()
        for tool in ("bash", "seq", "sleep"):  # what the script itself needs to run
            real = shutil.which(tool)
            assert real is not None
            (self.bin / tool).symlink_to(real)
        self.user_id(1000)
        self.tool("apt-get")
        self.tool("pg_isready")
        self.tool("redis-cli")

    def tool(self, name: str, body: str = "exit 0") -> None:
        """A stand-in that records its arguments (and DEBIAN_FRONTEND), then runs body."""
        path = self.bin / name
        path.write_text(
            "#!/bin/bash\n"
            f'echo "{name} $* ${{DEBIAN_FRONTEND:+DEBIAN_FRONTEND=$DEBIAN_FRONTEND}}" '
            f'>> "{self.calls}"\n'
            f"{body}\n"
        )
        path.chmod(0o755)

    def user_id(self, uid: int) -> None:
        path = self.bin / "id"
        path.write_text(f'#!/bin/bash\n[ "$1" = -u ] && echo {uid}\n')
        path.chmod(0o755)

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT)],
            env={"PATH": str(self.bin), "HOME": os.environ.get("HOME", "/")},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def called(self) -> list[str]:
        return [line.strip() for line in self.calls.read_text().splitlines()]


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_not_root_without_chromium_stops_at_once_with_one_line(machine):
    result = machine.run()
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "chromium" in lines[0] and "chromium-driver" in lines[0]
    assert "apt-get install" in lines[0]
    assert machine.called() == [], "it stops at once: nothing installed, nothing started"


def test_not_root_with_chromium_but_no_chromedriver_stops_too(machine):
    machine.tool("chromium")
    result = machine.run()
    assert result.returncode != 0
    assert len(result.stderr.splitlines()) == 1 and "chromium-driver" in result.stderr


def test_root_without_chromium_installs_both_packages_with_apt(machine):
    machine.user_id(0)
    result = machine.run()
    assert result.returncode == 0, result.stderr
    installs = [call for call in machine.called() if call.startswith("apt-get")]
    assert installs == [
        "apt-get update -qq",
        "apt-get install -y -qq chromium chromium-driver DEBIAN_FRONTEND=noninteractive",
    ]
    assert "installed chromium and chromium-driver in" in result.stdout


def test_with_chromium_and_services_answering_it_does_nothing(machine):
    machine.tool("chromium")
    machine.tool("chromedriver")
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    assert machine.called() == [
        "pg_isready -h localhost -p 5432 -q",
        "redis-cli -h 127.0.0.1 -p 6379 ping",
    ]


def test_stopped_postgres_and_redis_are_started(machine):
    machine.tool("chromium")
    machine.tool("chromedriver")
    # Each answers once its start command has run.
    machine.tool("pg_isready", f'[ -e "{machine.state}/postgres" ]')
    machine.tool("pg_ctlcluster", f': > "{machine.state}/postgres"')
    machine.tool(
        "pg_lsclusters",
        'printf "15 main 5432 down postgres /var/lib/postgresql/15/main log\\n'
        '16 other 5433 down postgres /var/lib/postgresql/16/other log\\n"',
    )
    machine.tool("redis-cli", f'[ -e "{machine.state}/redis" ]')
    machine.tool("redis-server", f': > "{machine.state}/redis"')
    result = machine.run()
    assert result.returncode == 0, result.stderr
    called = machine.called()
    assert "pg_ctlcluster --skip-systemctl-redirect 15 main start" in called
    assert not any("16 other" in call for call in called), "only the cluster on 5432"
    assert (
        "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save  --appendonly no"
        in called
    )
    assert "starting PostgreSQL" in result.stdout and "starting Redis" in result.stdout


def test_postgres_not_installed_is_one_line(machine):
    machine.tool("chromium")
    machine.tool("chromedriver")
    machine.tool("pg_isready", "exit 2")
    result = machine.run()
    assert result.returncode != 0
    assert len(result.stderr.splitlines()) == 1 and "apt-get install postgresql" in result.stderr


def test_make_test_brings_up_first_then_passes_pytest_args_on():
    commands = subprocess.run(
        ["make", "--dry-run", "--always-make", "test", "PYTEST_ARGS=tests/e2e -x"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    bring_up = commands.index("scripts/test-prerequisites")
    assert commands[bring_up + 1] == ".venv/bin/pytest tests/e2e -x"


def test_ci_only_lints_and_tests():
    lines = [
        line.strip()
        for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "make lint", "make test"]
