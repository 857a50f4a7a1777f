"""`tenantcore db …` as a user runs it: a separate process configured by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from tenantcore import migrations

HEAD = migrations.head_revisions()[0]


def tenantcore(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "tenantcore", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any TENANTCORE_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTCORE_")}
    env.update(extra)
    return env


class TestDbCommands:
    def test_upgrade_creates_the_database_in_a_fresh_data_dir(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "not" / "yet" / "there"
        env = clean_env(TENANTCORE_DATA_DIR=str(data_dir))

        before = tenantcore("db", "current", env=env)
        assert before.returncode == 0, before.stderr
        assert "no migrations applied" in before.stdout
        assert not data_dir.exists()  # `current` reports; it does not create

        result = tenantcore("db", "upgrade", env=env)
        assert result.returncode == 0, result.stderr
        assert f"{HEAD} (head)" in result.stdout
        assert (data_dir / "tenantcore.db").is_file()
        assert migrations.current_revisions(f"sqlite:///{data_dir / 'tenantcore.db'}") == (HEAD,)

        again = tenantcore("db", "upgrade", "--revision", "head", env=env)
        assert again.returncode == 0, again.stderr

        current = tenantcore("db", "current", env=env)
        assert f"{HEAD} (head)" in current.stdout

        down = tenantcore("db", "downgrade", "--revision", "base", env=env)
        assert down.returncode == 0, down.stderr
        assert "no migrations applied" in down.stdout

    def test_database_url_as_people_write_it(self, fresh_database_url: str) -> None:
        # postgresql:// (or sqlite://) without a driver: the settings normalise it.
        url = make_url(fresh_database_url)
        plain = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)
        env = clean_env(TENANTCORE_DATABASE_URL=plain)

        result = tenantcore("db", "upgrade", env=env)
        assert result.returncode == 0, result.stderr
        assert f"{HEAD} (head)" in result.stdout
        assert migrations.current_revisions(fresh_database_url) == (HEAD,)

    def test_unknown_revision_is_a_one_line_error(self, tmp_path: Path) -> None:
        env = clean_env(TENANTCORE_DATA_DIR=str(tmp_path))
        result = tenantcore("db", "upgrade", "--revision", "nonexistent", env=env)
        assert result.returncode == 1
        assert "error:" in result.stderr
        assert "Traceback" not in result.stderr

    def test_downgrade_requires_a_revision(self, tmp_path: Path) -> None:
        result = tenantcore("db", "downgrade", env=clean_env(TENANTCORE_DATA_DIR=str(tmp_path)))
        assert result.returncode != 0
        assert "--revision" in result.stderr

    def test_password_is_not_printed(self) -> None:
        url = "postgresql://tc:hunter2-secret@127.0.0.1:1/none?connect_timeout=2"
        result = tenantcore("db", "current", env=clean_env(TENANTCORE_DATABASE_URL=url))
        assert result.returncode == 1
        assert "hunter2-secret" not in result.stdout + result.stderr


class TestWorkerCommand:
    def test_refuses_sqlite_with_a_one_line_error(self, tmp_path: Path) -> None:
        # The embedded queue lives in the `serve` process; a second process could not see it.
        result = tenantcore("worker", env=clean_env(TENANTCORE_DATA_DIR=str(tmp_path)))
        assert result.returncode == 2
        assert "needs PostgreSQL" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "tenantcore.db").exists(), "nothing was created"
