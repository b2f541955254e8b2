"""The migrated schema is exactly the models' schema, and migrations go both ways."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.models import Base


def _diff():
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_matches_the_models(ctx):
    assert _diff() == []


def test_downgrade_to_base_and_upgrade_again(ctx):
    downgrade(revision="base")
    with db.engine.connect() as conn:
        assert set(db.inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert _diff() == []
