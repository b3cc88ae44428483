"""What a failed database or file operation means to an operator: one line, and what to do.

Only transient faults (a refused, reset or timed-out connection, a busy database) are worth
running the command again for; a permanent one (a missing database or table, refused
credentials, a read-only file, a full disk) names what to fix instead.
"""

import errno
import os
from collections.abc import Iterator
from pathlib import Path

from ivyi_pipeline.errors import TransientError

TRANSIENT = (
    "connection refused",
    "connection reset",
    "connection timed out",
    "timeout expired",
    "timed out",
    "server closed the connection",
    "terminating connection",
    "could not receive data",
    "could not send data",
    "connection already closed",
    "ssl syscall error",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "database is locked",
    "too many connections",
    "cannot connect now",
    "no route to host",
    "network is unreachable",
)

PERMANENT = (
    (("database", "does not exist"), "create the database or fix its name in IVYI_DATABASE_URL"),
    (
        ("password authentication failed",),
        "fix the user or password in IVYI_DATABASE_URL (or the server's pg_hba.conf)",
    ),
    (("role", "does not exist"), "fix the user in IVYI_DATABASE_URL or create that role"),
    (("no password supplied",), "put the password in IVYI_DATABASE_URL or ~/.pgpass"),
    (("authentication",), "fix the credentials in IVYI_DATABASE_URL"),
    (("could not translate host name",), "fix the host name in IVYI_DATABASE_URL"),
    (("invalid port",), "fix the port in IVYI_DATABASE_URL"),
    (("invalid integer value", "port"), "fix the port in IVYI_DATABASE_URL"),
    (("readonly database",), "make the SQLite file and its folder writable by this user"),
    (("read-only",), "make the database writable (not a read-only file, replica or transaction)"),
    (("permission denied",), "grant this database user the rights it needs"),
    (("disk is full",), "free disk space where the database lives"),
    (("no space left",), "free disk space where the database lives"),
    (("could not extend file",), "free disk space on the database server"),
    (("unable to open database file",), "create the SQLite file's folder or make it writable"),
    (("file is not a database",), "point IVYI_DATABASE_URL at an ivyi database, not another file"),
    (("database disk image is malformed",), "restore the SQLite file from a backup"),
    (("no such table",), "run `ivyi db upgrade`; if it says up to date, restore from a backup"),
    (("relation", "does not exist"), "run `ivyi db upgrade`; if it says up to date, restore it"),
    (("no schema has been selected",), "create the schema the search_path names, or fix it"),
    (("schema", "does not exist"), "create the schema the search_path names, or fix it"),
)

CONNECTING = (
    "connection to server",
    "could not connect",
    "could not translate host name",
    "unable to open database file",
)
"""Markers of a failure to connect at all, as opposed to one during an operation."""

DISK_ERRNOS = {errno.ENOSPC: "free disk space", errno.EDQUOT: "free space within the quota"}


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """exc, then the exception it was raised from or during, and so on (each once)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """True when exc, or an exception it came from, is a `kind`."""
    return any(isinstance(link, kind) for link in causes(exc))


def database_error(exc: BaseException) -> tuple[str, bool] | None:
    """(the driver's first line, transient?) of the database error under exc, else None."""
    import sqlalchemy as sa

    for link in causes(exc):
        if isinstance(link, sa.exc.DBAPIError):
            lines = str(link.orig or link).strip().splitlines()
            reason = lines[0].strip() if lines else type(link).__name__
            return reason, is_transient(reason, link)
    return None


def is_transient(reason: str, exc: BaseException) -> bool:
    """True for faults that a later attempt can get past without anyone changing anything."""
    text = reason.lower()
    if any(all(word in text for word in words) for words, _ in PERMANENT):
        return False
    if any(marker in text for marker in TRANSIENT):
        return True
    return _connection_lost(exc)


def is_retryable(exc: BaseException) -> bool:
    """True for errors a step's retry can cure: any OperationalError (a lost connection, a lock,
    a deadlock), a pool timeout, an invalidated connection, a `TransientError` (a provider
    hiccup). Callers first fail at once on a permanent fault (`database_error`, `is_permanent`).
    """
    import sqlalchemy as sa

    return isinstance(exc, TransientError | sa.exc.OperationalError) or _connection_lost(exc)


def is_database_unavailable(exc: BaseException) -> bool:
    """True for a database that is down, restarting, locked or misconfigured (the HTTP API's
    503): an OperationalError, InterfaceError or DisconnectionError, or a lost connection."""
    import sqlalchemy as sa

    unavailable = sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.DisconnectionError
    return isinstance(exc, unavailable) or _connection_lost(exc)


def _connection_lost(exc: BaseException) -> bool:
    """True for a pool timeout or a DBAPI error whose connection SQLAlchemy invalidated."""
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.TimeoutError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def is_permanent(reason: str) -> bool:
    """True for a fault someone has to fix first (a full disk, a read-only file, a lost table)."""
    text = reason.lower()
    return any(all(word in text for word in words) for words, _ in PERMANENT)


def what_to_fix(reason: str) -> str:
    """The remedy of a permanent database fault."""
    text = reason.lower()
    for words, fix in PERMANENT:
        if all(word in text for word in words):
            return fix
    return "check IVYI_DATABASE_URL and the database server's log"


def describe_database_error(exc: BaseException, where: str) -> str | None:
    """One line for a database error under exc (None when there is none)."""
    found = database_error(exc)
    if found is None:
        return None
    reason, transient = found
    remedy = "run the command again" if transient else what_to_fix(reason)
    if any(marker in reason.lower() for marker in CONNECTING):
        return f"cannot open the database at {where}: {reason}; {remedy}"
    if transient:
        # Finished steps are not repeated: their writes are guarded, their runs recorded.
        return f"database unavailable: {reason}; {remedy}"
    return f"the database at {where} refused: {reason}; {remedy}"


def describe_os_error(exc: OSError) -> str:
    """One line for a file-system fault: the file, the reason and the remedy."""
    where = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or type(exc).__name__
    if exc.errno in DISK_ERRNOS:
        return f"cannot write{where}: {reason}; {DISK_ERRNOS[exc.errno]}, then run it again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write or read{where}: {reason}; fix its permissions or point ivyi elsewhere"
    return f"file system error{where}: {reason}; check that path"


DAGSTER_STORAGE = (
    f"{os.sep}dagster{os.sep}_core{os.sep}storage{os.sep}",
    f"{os.sep}dagster_postgres{os.sep}",
)
"""Where Dagster's instance storage code lives: a database error raised there is the instance's."""

LOW_SPACE_BYTES = 1 << 20
SQLITE_GONE = ("unable to open database file", "disk i/o error")
"""What SQLite says when its file or folder was deleted under an open instance."""


def raised_in_dagster_storage(exc: BaseException) -> bool:
    """True when the exception (or one it came from) was raised in Dagster's storage code."""
    for link in causes(exc):
        frame = link.__traceback__
        while frame is not None:
            if any(part in frame.tb_frame.f_code.co_filename for part in DAGSTER_STORAGE):
                return True
            frame = frame.tb_next
    return False


def disk_nearly_full(path: Path) -> bool:
    """True when the file system holding path (or its nearest existing folder) has less than
    1 MiB left for this user."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        stats = os.statvfs(path)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < LOW_SPACE_BYTES


def describe_instance_error(exc: BaseException, dagster_home: Path) -> str | None:
    """One line for a failure of Dagster's instance storage (None when exc is not one): a full
    disk, storage that vanished under the command (DAGSTER_HOME removed), or an unreachable one.
    """
    if not raised_in_dagster_storage(exc):
        return None
    found = database_error(exc)
    reason = found[0] if found else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = reason.lower()
    where = f"the Dagster instance in DAGSTER_HOME={dagster_home}"
    if disk_nearly_full(dagster_home) or "disk is full" in text or "no space left" in text:
        return (
            f"{where} cannot write: the disk is full ({reason}); free disk space there, "
            "then run it again"
        )
    if _storage_gone(Path(dagster_home), text):
        return (
            f"{where} lost its storage during the command ({reason}; was the folder removed "
            "or replaced?); run the command again: the instance is rebuilt from the domain "
            "database and finished steps are not repeated"
        )
    if found and found[1]:
        return f"{where} is unreachable ({reason}); run the command again when it is back"
    return (
        f"{where} failed ({reason}); check the storage its dagster.yaml names; it holds only "
        "state derived from the domain database, so an embedded one can be moved aside "
        f"(mv {dagster_home} {dagster_home}.broken) and is rebuilt by the next command"
    )


def _storage_gone(home: Path, text: str) -> bool:
    """True when the instance's SQLite storage was deleted under the command."""
    if not home.is_dir() or "no such table" in text:
        return True
    return any(sign in text for sign in SQLITE_GONE) and not (home / "history").is_dir()
