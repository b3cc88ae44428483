"""What a step did to the processes it was given."""

from dataclasses import dataclass, field

from ivyi_pipeline.errors import InvalidTransition


@dataclass
class StepReport:
    """Per step: who advanced, who waits for time or input, who is blocked, what was refused."""

    step: str
    advanced: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    refused: list[InvalidTransition] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts, for logs."""
        return (
            f"{self.step}: {len(self.advanced)} advanced, {len(self.waiting)} waiting, "
            f"{len(self.blocked)} blocked, {len(self.refused)} refused, "
            f"{len(self.failed)} failed"
        )
