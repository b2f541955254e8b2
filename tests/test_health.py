from portal.main.health import migration_head


def test_healthz_reports_database_and_migration(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["migration"]["current"] == body["migration"]["head"] == migration_head()


def test_healthz_answers_503_when_the_database_is_down(app_factory, tmp_path):
    # Nothing listens on port 9: the connection is refused at once.
    app = app_factory(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:9/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is False
