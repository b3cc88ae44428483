"""Bulk data in and out of the domain database: CSV import, CSV export and synthetic data sets."""

from ivyi_pipeline.data.csv_export import write_csv
from ivyi_pipeline.data.csv_import import LoadSummary, load_csv_directory, load_directory
from ivyi_pipeline.data.dataset import Dataset
from ivyi_pipeline.data.db_write import seed_database, write_dataset
from ivyi_pipeline.data.synthetic import generate_dataset

__all__ = [
    "Dataset",
    "LoadSummary",
    "generate_dataset",
    "load_csv_directory",
    "load_directory",
    "write_csv",
    "seed_database",
    "write_dataset",
]
