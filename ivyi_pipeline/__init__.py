"""Ivyi's gifting process, re-implemented as a Dagster-orchestrated data pipeline."""
