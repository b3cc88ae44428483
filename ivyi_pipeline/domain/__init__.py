"""Pure domain rules: no Dagster, no SQLAlchemy."""
