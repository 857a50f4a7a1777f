"""`database_url` in Settings: the default, the accepted spellings, the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tenantcore.core.db import redact_url, sync_database_url
from tenantcore.settings import Settings


class TestDatabaseUrl:
    def test_default_is_sqlite_in_the_data_dir(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path / "data")
        assert settings.database_url is None
        expected = f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'tenantcore.db').absolute()}"
        assert settings.resolved_database_url == expected

    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("postgresql://u:p@db:5432/tc", "postgresql+psycopg://u:p@db:5432/tc"),
            ("postgres://u:p@db/tc", "postgresql+psycopg://u:p@db/tc"),
            (
                "postgresql+psycopg://u@db/tc?sslmode=require",
                "postgresql+psycopg://u@db/tc?sslmode=require",
            ),
            ("sqlite:////srv/tc.db", "sqlite+aiosqlite:////srv/tc.db"),
            ("sqlite+aiosqlite:///rel.db", "sqlite+aiosqlite:///rel.db"),
        ],
    )
    def test_accepted_spellings_are_normalised(self, given: str, expected: str) -> None:
        settings = Settings(database_url=given)
        assert settings.database_url == expected
        assert settings.resolved_database_url == expected

    def test_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TENANTCORE_DATABASE_URL", "postgresql://postgres@127.0.0.1/tc")
        assert Settings().database_url == "postgresql+psycopg://postgres@127.0.0.1/tc"

    def test_empty_means_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TENANTCORE_DATABASE_URL", "")
        assert Settings().database_url is None

    @pytest.mark.parametrize(
        "given",
        ["postgresql+asyncpg://u:s3cr3tpw@db/tc", "mysql://u:s3cr3tpw@db/tc", "not a url"],
    )
    def test_other_drivers_are_refused_without_echoing_the_url(self, given: str) -> None:
        with pytest.raises(ValidationError) as caught:
            Settings(database_url=given)
        assert "s3cr3tpw" not in str(caught.value)

    def test_password_is_kept_out_of_repr(self) -> None:
        settings = Settings(database_url="postgresql://u:s3cr3tpw@db/tc")
        assert "s3cr3tpw" not in repr(settings)

    def test_sync_url_and_redaction(self) -> None:
        assert sync_database_url("sqlite+aiosqlite:////x/tc.db") == "sqlite:////x/tc.db"
        assert sync_database_url("postgresql://u@db/tc") == "postgresql+psycopg://u@db/tc"
        assert (
            redact_url("postgresql+psycopg://u:s3cr3tpw@db/tc")
            == "postgresql+psycopg://u:***@db/tc"
        )
