"""Running a checked anonymous block: a tree-walking interpreter over the annotated syntax tree.

Exceptions are Python exceptions (``ApexThrow``) that carry the Apex exception; the statement being
executed when one is raised stamps its position on it, which becomes ``line``/``column`` and the
``AnonymousBlock: line L, column C`` stack trace. Loops and statements check the CPU limit, so an
endless loop ends with ``System.LimitException: Apex CPU time limit exceeded`` like on the platform;
a statement that stored enough new data has the heap measured after it, so a runaway String or list
ends with ``System.LimitException: Apex heap size too large: N`` at that statement. A limit exception
ends the block at once: no ``catch`` takes it and no ``finally`` runs.

DML statements are the only place the store's lock is held for more than one call: for the statement,
while ``Store.recording`` copies what it changes (so the whole block can be undone if it fails).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from . import dml, query
from . import syntax as ast
from .context import ExecutionContext
from .errors import LIMIT_EXCEPTION, ApexThrow, ExceptionValue, null_dereference, throw
from .types import DATE, DOUBLE, INTEGER, LONG, STRING, ApexType, field_type
from .values import (
    INTEGER_BITS,
    LONG_BITS,
    ApexList,
    SObjectValue,
    coerce,
    equals,
    heap_size,
    less_than,
    stored_size,
    to_decimal,
    to_text,
    wrap,
)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def run(program: Sequence[ast.Stmt], ctx: ExecutionContext) -> None:
    """Execute a checked program; an uncaught Apex exception propagates as ``ApexThrow``."""
    _Interpreter(ctx).block(program)


class _Interpreter:
    def __init__(self, ctx: ExecutionContext) -> None:
        self._ctx = ctx
        # Locals by lower-case name; the checker guarantees no shadowing, so one map and a record of
        # which names each scope declared is enough to drop them when the scope ends.
        self._locals: dict[str, Any] = {}
        self._types: dict[str, ApexType] = {}
        self._scopes: list[list[str]] = [[]]
        #: The statement being executed: where exceptions raised (or constructed) now are reported.
        self._current = ast.Pos(1, 1)

    # --------------------------------------------------------------------------- scopes

    @contextmanager
    def _scope(self) -> Iterator[None]:
        self._scopes.append([])
        try:
            yield
        finally:
            for name in self._scopes.pop():
                self._locals.pop(name, None)
                self._types.pop(name, None)

    def _declare(self, name: str, t: ApexType, value: Any) -> None:
        key = name.lower()
        self._scopes[-1].append(key)
        self._types[key] = t
        self._locals[key] = coerce(value, t)
        self._ctx.limits.note_allocation(stored_size(value))

    # --------------------------------------------------------------------------- statements

    def block(self, statements: Sequence[ast.Stmt]) -> None:
        for statement in statements:
            self._stmt(statement)

    def _stmt(self, s: ast.Stmt) -> None:
        limits = self._ctx.limits
        limits.check_cpu()
        enclosing, self._current = self._current, s.pos
        try:
            self._execute(s)
            if limits.heap_due():
                limits.check_heap(heap_size(self._locals.values()))
        except ApexThrow as exc:
            if exc.value.pos is None:
                exc.value.pos = s.pos
            raise
        finally:
            self._current = enclosing

    def _execute(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.Block):
            with self._scope():
                self.block(s.body)
        elif isinstance(s, ast.LocalDecl):
            self._local_decl(s)
        elif isinstance(s, ast.ExprStmt):
            self._eval(s.expr)
        elif isinstance(s, ast.If):
            branch = s.then if self._condition(s.condition) else s.otherwise
            if branch is not None:
                with self._scope():
                    self._stmt(branch)
        elif isinstance(s, ast.For):
            self._for(s)
        elif isinstance(s, ast.ForEach):
            self._foreach(s)
        elif isinstance(s, ast.While):
            while self._condition(s.condition):
                if self._loop_body(s.body):
                    break
        elif isinstance(s, ast.DoWhile):
            while not self._loop_body(s.body) and self._condition(s.condition):
                pass
        elif isinstance(s, ast.Dml):
            target = self._eval(s.expr)
            changes = self._ctx.changes
            if changes is None:
                dml.execute(s.op, target, self._ctx)
            else:
                records = target.items if isinstance(target, ApexList) else [target]
                objects = {r.sobject.name for r in records if isinstance(r, SObjectValue)}
                with self._ctx.store.recording(changes, objects, s.op):
                    dml.execute(s.op, target, self._ctx)
        elif isinstance(s, ast.Throw):
            self._throw(s)
        elif isinstance(s, ast.Try):
            self._try(s)
        elif isinstance(s, ast.Break):
            raise _Break
        elif isinstance(s, ast.Continue):
            raise _Continue

    def _local_decl(self, s: ast.LocalDecl) -> None:
        assert s.declared_type is not None
        for declarator in s.declarators:
            value = self._value(declarator.init) if declarator.init is not None else None
            self._declare(declarator.name, s.declared_type, value)

    def _condition(self, e: ast.Expr) -> bool:
        value = self._eval(e)
        if value is None:
            raise null_dereference()
        return bool(value)

    def _loop_body(self, body: ast.Stmt) -> bool:
        """Run one iteration; ``True`` when it ended with ``break``."""
        self._ctx.limits.check_cpu()
        try:
            with self._scope():
                self._stmt(body)
        except _Break:
            return True
        except _Continue:
            return False
        return False

    def _for(self, s: ast.For) -> None:
        with self._scope():
            if isinstance(s.init, ast.LocalDecl):
                self._local_decl(s.init)
            elif s.init is not None:
                for e in s.init:
                    self._eval(e)
            while s.condition is None or self._condition(s.condition):
                if self._loop_body(s.body):
                    break
                for e in s.updates:
                    self._eval(e)

    def _foreach(self, s: ast.ForEach) -> None:
        assert s.declared_type is not None
        iterated = self._eval(s.iterable)
        if iterated is None:
            raise null_dereference()
        for item in list(iterated.items):
            with self._scope():
                self._declare(s.name, s.declared_type, item)
                if self._loop_body(s.body):
                    break

    def _throw(self, s: ast.Throw) -> None:
        value = self._eval(s.expr)
        if value is None:
            raise null_dereference()
        raise ApexThrow(value)

    def _try(self, s: ast.Try) -> None:
        try:
            try:
                self._stmt(s.body)
            except ApexThrow as exc:
                handler = self._handler(s.catches, exc.value)
                if handler is None:
                    raise
                with self._scope():
                    assert handler.caught_type is not None
                    self._declare(handler.name, handler.caught_type, exc.value)
                    self._stmt(handler.body)
        except ApexThrow as exc:
            if exc.value.type_name != LIMIT_EXCEPTION:  # a limit ends the transaction: not even ``finally`` runs
                self._finally(s)
            raise
        except BaseException:  # break / continue leaving the block
            self._finally(s)
            raise
        self._finally(s)

    def _finally(self, s: ast.Try) -> None:
        if s.finally_ is not None:
            self._stmt(s.finally_)

    @staticmethod
    def _handler(catches: Sequence[ast.Catch], thrown: ExceptionValue) -> ast.Catch | None:
        if not thrown.catchable:
            return None
        for c in catches:
            assert c.caught_type is not None
            if c.caught_type.name in ("Exception", thrown.type_name):
                return c
        return None

    # --------------------------------------------------------------------------- expressions

    def _eval(self, e: ast.Expr) -> Any:
        if isinstance(e, ast.Literal):
            return e.value
        if isinstance(e, ast.Name):
            return self._locals[e.name.lower()]
        if isinstance(e, ast.FieldAccess):
            return self._read_field(e)
        if isinstance(e, ast.Call):
            return self._call(e)
        if isinstance(e, ast.Index):
            items, index = self._list_slot(e)
            return items.items[index]
        if isinstance(e, ast.Unary):
            return self._unary(e)
        if isinstance(e, ast.Step):
            return self._step(e)
        if isinstance(e, ast.Binary):
            return self._binary(e)
        if isinstance(e, ast.Ternary):
            return self._eval(e.then) if self._condition(e.condition) else self._eval(e.otherwise)
        if isinstance(e, ast.Assign):
            return self._assign(e)
        if isinstance(e, ast.NewObject):
            return self._new(e)
        if isinstance(e, ast.NewCollection):
            assert e.static_type is not None and e.static_type.element is not None
            element = e.static_type.element
            return ApexList(element, [coerce(self._eval(item), element) for item in e.items])
        if isinstance(e, ast.Soql):
            return self._query(e)
        raise AssertionError(f"unchecked expression {type(e).__name__}")  # pragma: no cover

    def _value(self, e: ast.Expr) -> Any:
        """An assigned value: a query assigned to a single sObject must return exactly one row."""
        value = self._eval(e)
        if isinstance(e, ast.Soql) and e.single:
            return query.single_row(value.items)
        return value

    def _record(self, target: ast.Expr) -> SObjectValue:
        record = self._value(target)
        if record is None:
            raise null_dereference()
        assert isinstance(record, SObjectValue)
        return record

    def _read_field(self, e: ast.FieldAccess) -> Any:
        record = self._record(e.target)
        assert e.field_def is not None
        if e.parent is not None and e.field_def.relationship_name:
            return record.read_parent(e.field_def.relationship_name)
        return record.read(e.field_def)

    def _list_slot(self, e: ast.Index) -> tuple[ApexList, int]:
        items = self._eval(e.target)
        index = self._eval(e.index)
        if items is None or index is None:
            raise null_dereference()
        if not 0 <= index < len(items.items):
            raise throw("ListException", f"List index out of bounds: {index}")
        return items, index

    def _call(self, e: ast.Call) -> Any:
        receiver = None
        if not e.static:
            receiver = self._eval(e.target)
            if receiver is None:
                raise null_dereference()
        args = [self._eval(a) for a in e.args]
        assert e.impl is not None
        return e.impl(self._ctx, receiver, args)

    def _unary(self, e: ast.Unary) -> Any:
        value = self._eval(e.operand)
        if value is None:
            raise null_dereference()
        if e.op == "!":
            return not value
        if e.op == "+":
            return value
        negated = -value
        if e.static_type == INTEGER:
            return wrap(negated, INTEGER_BITS)
        return wrap(negated, LONG_BITS) if e.static_type == LONG else negated

    def _step(self, e: ast.Step) -> Any:
        old = self._eval(e.operand)
        if old is None:
            raise null_dereference()
        assert e.static_type is not None
        new = arithmetic("+" if e.op == "++" else "-", old, 1, e.static_type)
        self._store(e.operand, new)
        return new if e.prefix else old

    def _binary(self, e: ast.Binary) -> Any:
        op = e.op
        if op in ("&&", "||"):
            left = self._condition(e.left)
            if (op == "&&") != left:
                return left
            return self._condition(e.right)
        left, right = self._eval(e.left), self._eval(e.right)
        assert e.operand_type is not None
        return operate(op, left, right, e.operand_type)

    def _assign(self, e: ast.Assign) -> Any:
        if e.operation is None:
            value = self._value(e.value)
        else:
            assert e.operation.operand_type is not None
            value = operate(e.operation.op, self._eval(e.target), self._eval(e.value), e.operation.operand_type)
        return self._store(e.target, value)

    def _store(self, target: ast.Expr, value: Any) -> Any:
        """Write ``value`` to a variable, field or list element, converted to its declared type."""
        assert target.static_type is not None
        value = coerce(value, target.static_type)
        # What the heap grows by (for when to measure it): the new value less the one it replaces.
        if isinstance(target, ast.Name):
            key = target.name.lower()
            replaced = self._locals.get(key)
            self._locals[key] = coerce(value, self._types[key])
        elif isinstance(target, ast.FieldAccess):
            record = self._record(target.target)
            assert target.field_def is not None
            if target.parent is not None and target.field_def.relationship_name:
                replaced = record.parents.get(target.field_def.relationship_name)
                record.write_parent(target.field_def.relationship_name, value)
            else:
                replaced = record.values.get(target.field_def.name)
                record.write(target.field_def, value)
        elif isinstance(target, ast.Index):
            items, index = self._list_slot(target)
            replaced = items.items[index]
            items.items[index] = value
        else:
            replaced = None
        self._ctx.limits.note_allocation(stored_size(value) - stored_size(replaced))
        return value

    def _new(self, e: ast.NewObject) -> Any:
        t = e.static_type
        assert t is not None
        if t.kind == "sobject" and t.sobject is not None:
            record = SObjectValue(t.sobject)
            for f, value_expr in e.field_inits:
                record.write(f, coerce(self._value(value_expr), field_type(f)))
            return record
        args = [self._eval(a) for a in e.args]
        if t.kind == "list":
            assert t.element is not None
            return ApexList(t.element, list(args[0].items) if args and args[0] is not None else [])
        message = args[0] if args else None
        if isinstance(message, ExceptionValue):  # new XException(cause): the cause's message
            message = str(message)
        return ExceptionValue(t.name, message, pos=self._current)

    def _query(self, e: ast.Soql) -> Any:
        literals = [query.soql_literal(self._eval(b.expr)) for b in e.binds]
        rows = query.run(e, literals, self._ctx)
        if isinstance(rows, int):
            return rows
        assert e.static_type is not None and e.static_type.element is not None
        return ApexList(e.static_type.element, list(rows))


# ------------------------------------------------------------------------------------- operators


def operate(op: str, left: Any, right: Any, operand_type: ApexType) -> Any:
    """``left op right`` for the non-short-circuit operators, computed in ``operand_type``."""
    if op == "==":
        return equals(left, right)
    if op == "!=":
        return not equals(left, right)
    if op in ("<", ">", "<=", ">="):
        return _compare(op, left, right)
    if operand_type == STRING:
        return to_text(left) + to_text(right)
    if left is None or right is None:
        raise null_dereference()
    return arithmetic(op, left, right, operand_type)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "<":
        return less_than(left, right)
    if op == ">":
        return less_than(right, left)
    if left is None or right is None:
        # Apex: a null number or date compares false both ways; Strings treat null as the smallest.
        return less_than(left, right) if op == "<=" else less_than(right, left)
    return not less_than(right, left) if op == "<=" else not less_than(left, right)


def arithmetic(op: str, left: Any, right: Any, t: ApexType) -> Any:
    """Numeric (and Date +/- days) arithmetic with Apex's overflow and division semantics."""
    if t == DATE:
        assert isinstance(left, date)
        days = right if op == "+" else -right
        return left + timedelta(days=days)
    if t in (INTEGER, LONG):
        bits = INTEGER_BITS if t == INTEGER else LONG_BITS
        a, b = int(left), int(right)
        if op == "/":
            if b == 0:
                raise throw("MathException", "Divide by 0")
            quotient = abs(a) // abs(b)
            return wrap(quotient if (a < 0) == (b < 0) else -quotient, bits)
        return wrap({"+": a + b, "-": a - b, "*": a * b}[op], bits)
    if t == DOUBLE:
        x, y = float(left), float(right)
        if op == "/":
            if y == 0:
                raise throw("MathException", "Divide by 0")
            return x / y
        return {"+": x + y, "-": x - y, "*": x * y}[op]
    dx, dy = to_decimal(left), to_decimal(right)
    if op == "/":
        try:
            return dx / dy
        except (DivisionByZero, InvalidOperation):
            raise throw("MathException", "Divide by 0") from None
    result: Decimal = {"+": dx + dy, "-": dx - dy, "*": dx * dy}[op]
    return result
