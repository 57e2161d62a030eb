"""The program ends quietly when the engine stops it, and only then (components/program_exit.py)."""

from __future__ import annotations

from components.program_exit import engine_stopped


class _Gone(Exception):
    def __str__(self) -> str:
        return "<_InactiveRpcError of RPC that terminated with: status = StatusCode.UNAVAILABLE>"


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__context__ = inner
    return outer


def test_an_interrupt_while_the_engine_is_gone_is_the_engine_stopping_the_program() -> None:
    assert engine_stopped(KeyboardInterrupt())
    assert engine_stopped(_chained(KeyboardInterrupt(), _Gone()))
    assert engine_stopped(_Gone())


def test_a_failure_of_the_program_itself_keeps_its_traceback() -> None:
    assert not engine_stopped(ValueError("a bug"))
    assert not engine_stopped(_chained(KeyboardInterrupt(), ValueError("a bug")))
    assert not engine_stopped(_chained(_Gone(), ZeroDivisionError()))
