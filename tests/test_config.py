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


def test_production_refuses_an_http_public_base_url(app_factory, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    with pytest.raises(config.ConfigError) as refused:
        app_factory(PORTAL_ENV="production", PUBLIC_BASE_URL="http://portal.example.com")
    message = str(refused.value)
    assert "PUBLIC_BASE_URL must be an https:// address" in message
    assert "TLS proxy" in message


def test_production_refuses_in_memory_rate_limits_with_several_workers(app_factory, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    https = {"PORTAL_ENV": "production", "PUBLIC_BASE_URL": "https://portal.example.com"}
    with pytest.raises(config.ConfigError, match="Set RATELIMIT_STORAGE_URI to a Redis"):
        app_factory(**https, RATELIMIT_STORAGE_URI="memory://")
    app_factory(**https, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")  # starts
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    app_factory(**https, RATELIMIT_STORAGE_URI="memory://")  # one process: its memory is enough


def test_development_allows_http_and_memory(app_factory, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "8")
    app_factory(PORTAL_ENV="development", PUBLIC_BASE_URL="http://127.0.0.1:5000")


def test_gunicorn_refuses_several_workers_with_in_memory_rate_limits(monkeypatch, tmp_path):
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://portal.example.com")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    settings = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    server = SimpleNamespace(cfg=SimpleNamespace(workers=3))
    with pytest.raises(SystemExit, match="RATELIMIT_STORAGE_URI is 'memory://'"):
        settings["on_starting"](server)
    settings["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=1)))


def test_bad_log_format_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(config.ConfigError, match="LOG_FORMAT"):
        config.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
