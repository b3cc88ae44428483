"""The progress line of long commands: what it reads, and that it is silent off a terminal."""

import io

from ivyi_pipeline.entrypoints.progress import ERASE, Progress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_reads_processes_done_out_of_due_runs_rate_and_time_left():
    clock, terminal = _Clock(), _Terminal()
    progress = Progress("tick", stream=terminal, clock=clock)
    progress.add_due(1000)
    clock.now += 50
    progress.run_finished(500)

    assert progress.line() == (
        "tick: 500/1,000 processes done, 1 run, 10.0 processes/s, about 50s left, 50s so far"
    )
    progress.close()


def test_a_stage_names_what_the_command_does_before_any_run():
    clock = _Clock()
    progress = Progress("load", stream=_Terminal(), clock=clock)
    progress.set_stage("checking the files")
    clock.now += 3725

    assert progress.line() == "load: checking the files, 1h 02m so far"
    progress.close()


def test_on_a_terminal_the_line_is_erased_before_other_output_and_at_the_end():
    terminal = _Terminal()
    progress = Progress("demo", stream=terminal)
    progress.add_due(3)
    progress.echo(terminal.write)("day 0\n")
    progress.close()

    written = terminal.getvalue()
    assert written.startswith(ERASE + "demo: 0/3 processes done, 0 runs")
    assert ERASE + "day 0\n" + ERASE + "demo: " in written
    assert written.endswith(ERASE)


def test_off_a_terminal_nothing_is_written():
    stream = io.StringIO()
    with Progress("tick", stream=stream) as progress:
        progress.add_due(10)
        progress.run_finished(10)
        progress.echo(stream.write)("summary\n")

    assert stream.getvalue() == "summary\n"
