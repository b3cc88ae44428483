"""Hooks on what SQLAlchemy hands the database driver: to count statements or inject faults."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import sqlalchemy as sa


@contextmanager
def listening(engine: sa.Engine, event: str, fn: Callable) -> Iterator[None]:
    """fn listens to the engine's event inside the block, and only there."""
    sa.event.listen(engine, event, fn)
    try:
        yield
    finally:
        sa.event.remove(engine, event, fn)


def inserts_sent(engine: sa.Engine, run: Callable[[], object]) -> list[tuple[str, str, int]]:
    """(driver call, table, bind parameters) of each INSERT handed to the driver during run."""
    sent = []

    def recorder(call: str):
        def record(_cursor, statement, parameters, _context):
            if statement.startswith("INSERT INTO"):
                sent.append((call, statement.split()[2], len(parameters or ())))

        return record

    with ExitStack() as stack:
        stack.enter_context(listening(engine, "do_execute", recorder("execute")))
        stack.enter_context(listening(engine, "do_executemany", recorder("executemany")))
        run()
    return sent
