"""The exceptions Ivyi raises; each message names what was wrong."""


class IvyiError(Exception):
    """Base of every error Ivyi raises on purpose."""


class InvalidTransition(IvyiError):
    """A state change the gifting process's transition table forbids."""

    def __init__(self, current: str, target: str, process_id: str | None = None):
        self.current, self.target, self.process_id = current, target, process_id
        where = f"process {process_id}: " if process_id else ""
        super().__init__(f"{where}{current} -> {target} is not allowed")


class StaleState(IvyiError):
    """A guarded write lost: the process was no longer in the state the caller expected."""

    def __init__(self, process_id: str, expected: str, actual: str | None):
        self.process_id, self.expected, self.actual = process_id, expected, actual
        super().__init__(
            f"process {process_id} is {actual}, not {expected}: another worker moved it first"
        )


class TransientError(IvyiError):
    """A failure a later attempt can get past without anyone changing anything (retried)."""


class InvalidInput(IvyiError):
    """Input data (a CSV row, a command argument) that cannot be accepted."""


class NotFound(IvyiError):
    """An id that names nothing."""


class ConfirmationRefused(IvyiError):
    """A giver's confirmation that cannot be recorded."""


class GiftNotOffered(ConfirmationRefused):
    """A confirmation naming a gift that is not among the process's ranked, in-stock options."""


class NotDue(IvyiError):
    """A request to start a process for an occurrence outside the window that starts it."""


class EnvironmentProblem(IvyiError):
    """A setting, path or installed part of the environment that Ivyi cannot work with."""


class SchemaTooNew(IvyiError):
    """A database migrated by a newer version of Ivyi than the one running."""

    def __init__(self, found: str, head: str):
        self.found, self.head = found, head
        super().__init__(
            f"database is at revision {found}, newer than this code's {head}; "
            "run a version of ivyi that knows that revision (upgrade the package)"
        )


class DatasetNotOurs(IvyiError):
    """A command that would overwrite or delete data it did not write itself."""
