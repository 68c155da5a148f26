"""Anonymous Apex for the emulator: a small, real interpreter of an Apex subset over the org's store.

Public interface (used by ``routes/apex.py``):

- ``execute_anonymous(source, store, *, user_id, api_version) -> ExecuteAnonymousResult``
- ``ExecuteAnonymousResult.to_json()``: the Tooling API's ``executeAnonymous`` body, keys in
  Salesforce's order.

The pipeline is Salesforce's: parse (``parser``, a lark grammar in ``grammar.lark``), compile-check
the whole block (``checker``), then run it (``interpreter``). DML goes through the store's validated
writes (``dml``) and inline SOQL through the emulator's SOQL compiler (``query``). The execution is
one transaction: an uncaught exception rolls back every DML statement of the block. The store's lock
is taken per DML statement and per query, never for the whole run (an endless loop must not stall
other clients), so the block's writes are recorded as they are made and undone if it fails
(``Store.recording``/``Store.undo``); other clients see them as each statement ends, not at the end.
Governor limits (``context.Limits``: SOQL, DML, CPU time, heap) end the run with an uncatchable
``System.LimitException``.

The subset: local variables of primitive, sObject and ``List<T>`` types; expressions with Apex's
operators, string concatenation, field access, ``new Account(Name = 'x')``, list initialisers;
``if``/``else``, ``for`` (classic and for-each), ``while``, ``do``, ``break``/``continue``;
``insert``/``update``/``upsert``/``delete``; inline SOQL with bind variables; ``throw`` and
``try``/``catch``/``finally`` on System exceptions; a handful of system methods (``System.debug``,
``System.assert*``, ``Date``, ``String``, ``UserInfo``, list and string methods). Anything else is a
compile error at its position, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.emulator.store import Store, UndoLog

from .checker import check
from .context import ExecutionContext, Limits
from .errors import ApexThrow, CompileError
from .interpreter import run
from .parser import parse

__all__ = ["ExecuteAnonymousResult", "execute_anonymous"]

TOO_LONG = "Expression is too long, please split this expression into multiple statements"


@dataclass(frozen=True)
class ExecuteAnonymousResult:
    """The outcome of one execution, as ``executeAnonymous`` reports it."""

    line: int = -1
    column: int = -1
    compiled: bool = True
    success: bool = True
    compile_problem: str | None = None
    exception_stack_trace: str | None = None
    exception_message: str | None = None
    #: ``System.debug`` output (Salesforce writes it to a debug log, not to this result).
    debug_lines: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "compiled": self.compiled,
            "success": self.success,
            "compileProblem": self.compile_problem,
            "exceptionStackTrace": self.exception_stack_trace,
            "exceptionMessage": self.exception_message,
        }


def execute_anonymous(
    source: str, store: Store, *, user_id: str, api_version: str, limits: Limits | None = None
) -> ExecuteAnonymousResult:
    """Compile and run ``source`` as the user ``user_id``; its writes are undone if it throws."""
    try:
        program = parse(source)
        check(program)
    except CompileError as exc:
        return ExecuteAnonymousResult(exc.line, exc.column, compiled=False, success=False, compile_problem=exc.message)
    except RecursionError:  # nesting deeper than the tree walkers go; Salesforce has a limit too
        return ExecuteAnonymousResult(1, 1, compiled=False, success=False, compile_problem=TOO_LONG)
    changes = UndoLog()
    ctx = ExecutionContext(store, user_id, api_version, limits or Limits(), changes=changes)
    ctx.limits.start()
    try:
        try:
            run(program, ctx)
        except BaseException:
            store.undo(changes)
            raise
        store.forget(changes)
    except ApexThrow as exc:
        thrown = exc.value
        line, column = (thrown.pos.line, thrown.pos.column) if thrown.pos else (1, 1)
        return ExecuteAnonymousResult(
            line,
            column,
            success=False,
            exception_stack_trace=thrown.stack_trace(),
            exception_message=str(thrown),
            debug_lines=tuple(ctx.debug_lines),
        )
    return ExecuteAnonymousResult(debug_lines=tuple(ctx.debug_lines))
