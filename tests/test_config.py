import os
import stat

import pytest

from portal import config


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load({"PORTAL_ENV": "production", "INSTANCE_PATH": str(tmp_path)})


def test_development_generates_a_private_secret_key_once(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config.load({"PORTAL_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    second = config.load({"PORTAL_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 40
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match="PORTAL_ENV"):
        config.load({"PORTAL_ENV": "staging", "INSTANCE_PATH": str(tmp_path)})


def test_bad_number_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "ten")
    with pytest.raises(config.ConfigError, match="SESSION_IDLE_MINUTES"):
        config.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})


def test_relative_sqlite_path_is_resolved_against_the_repository(tmp_path):
    url = config.database_url("sqlite:///instance/portal.db", tmp_path)
    assert url == f"sqlite:///{tmp_path}/instance/portal.db"
    assert (
        config.database_url("postgresql+psycopg://u@h/db", tmp_path)
        == "postgresql+psycopg://u@h/db"
    )


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    settings = config.load({"PORTAL_ENV": "production", "INSTANCE_PATH": str(tmp_path)})
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    dev = config.load({"PORTAL_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert dev["SESSION_COOKIE_SECURE"] is False
