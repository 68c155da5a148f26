"""Reading anonymous-Apex results: the endpoint answers 200 even when the code failed.

``executeAnonymous`` reports compile problems and runtime exceptions inside a 200 body
(``compiled``/``success`` flags). ``raise_for_apex_result`` turns those into exceptions carrying the
line, column and problem or the exception message and stack trace, so callers cannot mistake a
failed run for a successful one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_sfpy.client.errors import SalesforceError


class ApexCompileError(SalesforceError):
    """Anonymous Apex did not compile; ``line``/``column`` point at the problem."""

    def __init__(self, message: str, *, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class ApexExecutionError(SalesforceError):
    """Anonymous Apex compiled but threw at run time; ``stack_trace`` is Salesforce's."""

    def __init__(self, message: str, *, line: int | None, column: int | None, stack_trace: str | None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.stack_trace = stack_trace


def raise_for_apex_result(result: Mapping[str, Any]) -> None:
    """Raise if an ``executeAnonymous`` body reports a compile problem or a runtime exception."""
    line, column = result.get("line"), result.get("column")
    if not result.get("compiled", False):
        problem = result.get("compileProblem") or "unknown compile problem"
        raise ApexCompileError(
            f"Apex did not compile: line {line}, column {column}: {problem}", line=line, column=column
        )
    if not result.get("success", False):
        message = result.get("exceptionMessage") or "unknown exception"
        trace = result.get("exceptionStackTrace")
        text = f"Apex failed at run time: {message}" + (f" ({trace})" if trace else "")
        raise ApexExecutionError(text, line=line, column=column, stack_trace=trace)
