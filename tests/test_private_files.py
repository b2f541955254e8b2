"""The development database and the instance folder are created private (0600 / 0700)."""

from __future__ import annotations

import sqlite3
import stat

from portal import config


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_instance_folder_and_its_secret_key_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    instance = tmp_path / "a" / "instance"
    settings = config.load({"INSTANCE_PATH": str(instance), "PORTAL_ENV": "development"})
    assert settings["SECRET_KEY"]
    assert mode(instance) == 0o700
    assert mode(instance.parent) == 0o700  # created for it, so private too
    assert mode(instance / "secret_key") == 0o600


def test_the_development_database_is_created_private(tmp_path):
    url = config.database_url("sqlite:///instance/portal.db", tmp_path)
    database = tmp_path / "instance" / "portal.db"
    assert url.endswith(str(database))
    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600
    # SQLite gives the write-ahead log and its index the database's own permissions.
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    for suffix in ("-wal", "-shm"):
        side = database.with_name(database.name + suffix)
        assert mode(side) == 0o600, suffix
    connection.close()


def test_an_existing_database_is_left_as_it_is(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir()
    database = folder / "portal.db"
    database.write_bytes(b"")
    database.chmod(0o640)
    config.database_url("sqlite:///instance/portal.db", tmp_path)
    assert mode(database) == 0o640
