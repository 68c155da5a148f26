"""The two ways anonymous Apex fails: it does not compile, or it throws while running.

Messages follow the Apex compiler's and runtime's wording (``Variable does not exist: x``,
``System.MathException: Divide by 0``) because tools show ``compileProblem`` and
``exceptionMessage`` to people verbatim, and some match on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .syntax import Pos

#: Thrown when a method is called on (or a field read from) ``null``.
NULL_DEREFERENCE = "Attempt to de-reference a null object"
#: What ``getMessage()`` answers for an exception constructed without a message.
SCRIPT_THROWN = "Script-thrown exception"
#: A governor limit was exceeded: the transaction ends at once (no ``catch``, no ``finally``).
LIMIT_EXCEPTION = "LimitException"
#: Exceptions a ``catch`` block cannot catch (Salesforce ends the transaction on them).
UNCATCHABLE = frozenset({LIMIT_EXCEPTION, "AssertException"})


class CompileError(Exception):
    """A compile problem at ``line``/``column`` (the first one found; Salesforce reports one too)."""

    def __init__(self, message: str, pos: Pos) -> None:
        super().__init__(message)
        self.message = message
        self.line = pos.line
        self.column = pos.column


@dataclass
class ExceptionValue:
    """An Apex exception object: thrown by the runtime or constructed with ``new``.

    ``type_name`` is the simple name (``MathException``); every exception the emulator knows is a
    ``System`` exception. The position is where it was raised (or constructed), filled in by the
    interpreter as the exception passes the statement that was executing.
    """

    type_name: str
    message: str | None
    pos: Pos | None = None

    @property
    def qualified_name(self) -> str:
        return f"System.{self.type_name}"

    @property
    def catchable(self) -> bool:
        return self.type_name not in UNCATCHABLE

    def stack_trace(self) -> str:
        pos = self.pos or Pos(1, 1)
        return f"AnonymousBlock: line {pos.line}, column {pos.column}"

    def __str__(self) -> str:
        return f"{self.qualified_name}: {self.message}" if self.message is not None else self.qualified_name


class ApexThrow(Exception):
    """An Apex exception travelling up the interpreter's Python stack."""

    def __init__(self, value: ExceptionValue) -> None:
        super().__init__(str(value))
        self.value = value


def throw(type_name: str, message: str) -> ApexThrow:
    """``raise throw("MathException", "Divide by 0")``: a system exception, position filled in later."""
    return ApexThrow(ExceptionValue(type_name, message))


def null_dereference() -> ApexThrow:
    return throw("NullPointerException", NULL_DEREFERENCE)
