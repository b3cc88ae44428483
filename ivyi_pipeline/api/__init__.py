"""The HTTP API the platform calls: `ivyi serve` (FastAPI on uvicorn)."""
