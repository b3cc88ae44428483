"""Entry points on top of the package: the CLI, the demo, `ivyi ui` and the local driver."""
