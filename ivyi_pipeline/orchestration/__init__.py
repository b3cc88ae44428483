"""Dagster's thin layer over the gifting workflow: one file per Dagster concept."""
