"""What SQLAlchemy hands the database driver: to prove bulk writes are sent in bulk."""

from collections.abc import Callable

import sqlalchemy as sa


def inserts_sent(engine: sa.Engine, run: Callable[[], object]) -> list[tuple[str, str, int]]:
    """(driver call, table, bind parameters) of each INSERT handed to the driver during run."""
    sent = []

    def recorder(call: str):
        def record(_cursor, statement, parameters, _context):
            if statement.startswith("INSERT INTO"):
                sent.append((call, statement.split()[2], len(parameters or ())))

        return record

    listeners = {"do_execute": recorder("execute"), "do_executemany": recorder("executemany")}
    for name, fn in listeners.items():
        sa.event.listen(engine, name, fn)
    try:
        run()
    finally:
        for name, fn in listeners.items():
            sa.event.remove(engine, name, fn)
    return sent
