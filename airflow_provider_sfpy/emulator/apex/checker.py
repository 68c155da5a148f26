"""Compile-time checks of an anonymous block: names, types, fields, methods - Salesforce's compile problems.

Salesforce compiles the whole block before running any of it, so a typo on the last line means nothing
ran. The checker does the same: it walks the tree once, in source order, raises the first problem as
a ``CompileError`` with the Apex compiler's wording and position, and otherwise annotates the tree
(static types, resolved fields and methods) so the interpreter never meets an unresolved construct.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from airflow_provider_sfpy.emulator.describe import deletable

from . import syntax as ast
from .builtins import STATIC_CLASSES, instance_methods, resolve, signature_error
from .errors import CompileError
from .query import compile_inline
from .types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    EXCEPTION,
    ID,
    INTEGER,
    LONG,
    NOT_CONSTRUCTABLE,
    NULL,
    STRING,
    ApexType,
    assignable,
    equality_comparable,
    field_type,
    list_of,
    orderable,
    relationship_type,
    sobject_type,
    widen,
)
from .types import resolve as resolve_type

_LITERAL_TYPES = {
    "Integer": INTEGER,
    "Long": LONG,
    "Decimal": DECIMAL,
    "String": STRING,
    "Boolean": BOOLEAN,
    "null": NULL,
}
_STATEMENT_EXPRESSIONS = (ast.Assign, ast.Call, ast.Step, ast.NewObject)
_NUMERIC_ONLY = "Arithmetic expressions must use numeric arguments"


def check(program: Sequence[ast.Stmt]) -> None:
    """Raise the first compile problem of ``program``; annotate it for the interpreter otherwise."""
    _Checker().block(program)


class _Checker:
    def __init__(self) -> None:
        # Apex forbids a local that hides another local, so one case-insensitive map per scope suffices.
        self._scopes: list[dict[str, ApexType]] = [{}]
        self._loops = 0

    # --------------------------------------------------------------------------- scopes

    @contextlib.contextmanager
    def _scope(self) -> Iterator[None]:
        self._scopes.append({})
        try:
            yield
        finally:
            self._scopes.pop()

    @contextlib.contextmanager
    def _loop(self) -> Iterator[None]:
        self._loops += 1
        try:
            with self._scope():
                yield
        finally:
            self._loops -= 1

    def _lookup(self, name: str) -> ApexType | None:
        for scope in reversed(self._scopes):
            if name.lower() in scope:
                return scope[name.lower()]
        return None

    def _declare(self, name: str, t: ApexType, pos: ast.Pos) -> None:
        if self._lookup(name) is not None:
            raise CompileError(f"Duplicate variable: {name}", pos)
        self._scopes[-1][name.lower()] = t

    # --------------------------------------------------------------------------- statements

    def block(self, statements: Sequence[ast.Stmt]) -> None:
        for statement in statements:
            self._stmt(statement)

    def _stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.Block):
            with self._scope():
                self.block(s.body)
        elif isinstance(s, ast.LocalDecl):
            self._local_decl(s)
        elif isinstance(s, ast.ExprStmt):
            self._statement_expression(s.expr)
        elif isinstance(s, ast.If):
            self._condition(s.condition)
            self._nested(s.then)
            if s.otherwise is not None:
                self._nested(s.otherwise)
        elif isinstance(s, ast.For):
            self._for(s)
        elif isinstance(s, ast.ForEach):
            self._foreach(s)
        elif isinstance(s, (ast.While, ast.DoWhile)):
            self._condition(s.condition)
            with self._loop():
                self._stmt(s.body)
        elif isinstance(s, ast.Dml):
            self._dml(s)
        elif isinstance(s, ast.Throw):
            thrown = self._expr(s.expr)
            if thrown.kind != "exception":
                raise CompileError(f"Throw expression must be of type exception: {thrown}", s.expr.pos)
        elif isinstance(s, ast.Try):
            self._try(s)
        elif isinstance(s, ast.Break) and not self._loops:
            raise CompileError("Break statement must be in loop", s.pos)
        elif isinstance(s, ast.Continue) and not self._loops:
            raise CompileError("Continue statement must be in loop", s.pos)

    def _nested(self, s: ast.Stmt) -> None:
        with self._scope():
            self._stmt(s)

    def _local_decl(self, s: ast.LocalDecl) -> None:
        declared = resolve_type(s.type_ref)
        s.declared_type = declared
        for declarator in s.declarators:
            if declarator.init is not None:
                self._check_assignment(declared, declarator.init)
            self._declare(declarator.name, declared, declarator.pos)

    def _statement_expression(self, e: ast.Expr) -> None:
        if not isinstance(e, _STATEMENT_EXPRESSIONS):
            raise CompileError("Expression cannot be a statement.", e.pos)
        self._expr(e)

    def _condition(self, e: ast.Expr) -> None:
        t = self._expr(e)
        if t != BOOLEAN:
            raise CompileError(f"Condition expression must be of type Boolean: {t}", e.pos)

    def _for(self, s: ast.For) -> None:
        with self._scope():
            if isinstance(s.init, ast.LocalDecl):
                self._local_decl(s.init)
            elif s.init is not None:
                for e in s.init:
                    self._statement_expression(e)
            if s.condition is not None:
                self._condition(s.condition)
            for e in s.updates:
                self._statement_expression(e)
            with self._loop():
                self._stmt(s.body)

    def _foreach(self, s: ast.ForEach) -> None:
        declared = resolve_type(s.type_ref)
        s.declared_type = declared
        iterated = self._expr(s.iterable)
        if iterated.kind != "list" or iterated.element is None:
            raise CompileError(f"Loop must iterate over collection: {iterated}", s.iterable.pos)
        if iterated.element != declared:
            raise CompileError(f"Invalid loop variable type expected {iterated.element} was {declared}", s.type_ref.pos)
        with self._loop():
            self._declare(s.name, declared, s.type_ref.pos)
            self._stmt(s.body)

    def _dml(self, s: ast.Dml) -> None:
        t = self._expr(s.expr)
        if not t.is_sobject_or_list:
            raise CompileError(f"DML requires SObject or SObject list type: {t}", s.expr.pos)
        obj = t.sobject if t.kind == "sobject" else t.element.sobject if t.element else None
        if s.op == "delete" and obj is not None and not deletable(obj):
            raise CompileError(f"DML operation Delete not allowed on {obj.name}", s.pos)

    def _try(self, s: ast.Try) -> None:
        if not s.catches and s.finally_ is None:
            raise CompileError("Try block must have at least one catch block or a finally block", s.pos)
        self._stmt(s.body)
        for c in s.catches:
            caught = resolve_type(c.type_ref)
            if caught.kind != "exception":
                raise CompileError(f"Catch block variable must be of type exception: {caught}", c.type_ref.pos)
            c.caught_type = caught
            with self._scope():
                self._declare(c.name, caught, c.type_ref.pos)
                self._stmt(c.body)
        if s.finally_ is not None:
            self._stmt(s.finally_)

    def _check_assignment(self, target: ApexType, e: ast.Expr) -> None:
        """``target = e``; a query assigned to one sObject is legal and means "exactly one row"."""
        source = self._expr(e)
        if isinstance(e, ast.Soql) and target.kind == "sobject" and source.element == target:
            e.single = True
            return
        if not assignable(target, source):
            raise CompileError(f"Illegal assignment from {source} to {target}", e.pos)

    # --------------------------------------------------------------------------- expressions

    def _expr(self, e: ast.Expr) -> ApexType:
        t = self._infer(e)
        e.static_type = t
        return t

    def _infer(self, e: ast.Expr) -> ApexType:
        if isinstance(e, ast.Literal):
            return _LITERAL_TYPES[e.kind]
        if isinstance(e, ast.Name):
            found = self._lookup(e.name)
            if found is None:
                raise CompileError(f"Variable does not exist: {e.name}", e.pos)
            return found
        if isinstance(e, ast.FieldAccess):
            return self._field(e)
        if isinstance(e, ast.Call):
            return self._call(e)
        if isinstance(e, ast.Index):
            return self._index(e)
        if isinstance(e, ast.Unary):
            return self._unary(e)
        if isinstance(e, ast.Step):
            return self._step(e)
        if isinstance(e, ast.Binary):
            left, right = self._expr(e.left), self._expr(e.right)
            result, operand = self._operation(e.op, left, right, e.pos)
            e.operand_type = operand
            return result
        if isinstance(e, ast.Ternary):
            return self._ternary(e)
        if isinstance(e, ast.Assign):
            return self._assign(e)
        if isinstance(e, ast.NewObject):
            return self._new(e)
        if isinstance(e, ast.NewCollection):
            return self._new_collection(e)
        if isinstance(e, ast.Soql):
            compiled = compile_inline(e, [self._expr(b.expr) for b in e.binds])
            return INTEGER if compiled.count_only else list_of(sobject_type(compiled.sobject))
        raise CompileError("Unexpected syntax error.", e.pos)  # pragma: no cover - the parser builds no other node

    def _field(self, e: ast.FieldAccess) -> ApexType:
        target = e.target
        if isinstance(target, ast.Name) and self._lookup(target.name) is None:
            raise CompileError(f"Variable does not exist: {target.name}", target.pos)
        t = self._expr(target)
        if isinstance(target, ast.Soql) and t.kind == "list" and t.element is not None:
            target.single, t = True, t.element  # [SELECT ...].Name reads the one row the query returns
        if t.kind != "sobject" or t.sobject is None:
            raise CompileError(f"Initial term of field expression must be a concrete SObject: {t}", e.pos)
        obj = t.sobject
        f = obj.field(e.name)
        if f is not None:
            e.field_def = f
            return field_type(f)
        reference = obj.relationship(e.name)
        parent = relationship_type(reference) if reference is not None else None
        if reference is None or parent is None:
            raise CompileError(f"Field does not exist: {e.name} on {obj.name}", e.name_pos)
        e.field_def, e.parent = reference, parent.sobject
        return parent

    def _call(self, e: ast.Call) -> ApexType:
        target = e.target
        if isinstance(target, ast.Name) and self._lookup(target.name) is None:
            static = STATIC_CLASSES.get(target.name.lower())
            if static is None:
                raise CompileError(f"Variable does not exist: {target.name}", target.pos)
            owner, table = static
            e.static = True
        else:
            receiver = self._expr(target)
            owner, table = str(receiver), instance_methods(receiver)
        arg_types = [self._expr(a) for a in e.args]
        method = resolve(table, e.name, arg_types)
        if method is None:
            raise CompileError(signature_error(e.name, arg_types, owner), e.pos)
        e.impl = method.impl
        return method.returns

    def _index(self, e: ast.Index) -> ApexType:
        t = self._expr(e.target)
        if t.kind != "list" or t.element is None:
            raise CompileError(f"Expression must be a list type: {t}", e.target.pos)
        index = self._expr(e.index)
        if index not in (INTEGER, LONG):
            raise CompileError(f"List index must be of type Integer: {index}", e.index.pos)
        return t.element

    def _unary(self, e: ast.Unary) -> ApexType:
        t = self._expr(e.operand)
        if e.op == "!":
            if t != BOOLEAN:
                raise CompileError("! operator can only be applied to boolean expressions", e.pos)
        elif not t.is_numeric:
            raise CompileError("Unary negation must use a numeric argument", e.pos)
        return t

    def _step(self, e: ast.Step) -> ApexType:
        t = self._target(e.operand)
        if not t.is_numeric:
            if not e.prefix:
                message = f"Unary postfix increment/decrement can only be applied to numeric expressions: {t}"
            else:
                kind = "increment" if e.op == "++" else "decrement"
                message = f"Unary prefix {kind} can only be applied to numeric expressions: {t}"
            raise CompileError(message, e.pos)
        return t

    def _operation(self, op: str, left: ApexType, right: ApexType, pos: ast.Pos) -> tuple[ApexType, ApexType]:
        """The type of ``left op right`` and the type its operands are computed in."""
        if op in ("&&", "||"):
            if left != BOOLEAN or right != BOOLEAN:
                raise CompileError("Logical operator can only be applied to Boolean", pos)
            return BOOLEAN, BOOLEAN
        if op in ("==", "!="):
            if not equality_comparable(left, right):
                raise CompileError(f"Comparison arguments must be compatible types: {left}, {right}", pos)
            return BOOLEAN, BOOLEAN
        if op in ("<", ">", "<=", ">="):
            return BOOLEAN, self._ordering(left, right, pos)
        if op == "+" and STRING in (left, right):
            return STRING, STRING
        if left.is_numeric and right.is_numeric:
            t = widen(left, right)
            return t, t
        if op in ("+", "-") and left == DATE and right in (INTEGER, LONG):
            return DATE, DATE
        raise CompileError(_NUMERIC_ONLY, pos)

    def _ordering(self, left: ApexType, right: ApexType, pos: ast.Pos) -> ApexType:
        if NULL in (left, right):
            other = right if left == NULL else left
            if other == NULL or orderable(other):
                return other
        elif orderable(left) and orderable(right):
            if left.is_numeric and right.is_numeric:
                return widen(left, right)
            if left == right or {left, right} <= {STRING, ID}:
                return left
        if left == right or NULL in (left, right):
            raise CompileError(f"Inequality operator not allowed for this type: {left if left != NULL else right}", pos)
        raise CompileError(f"Comparison arguments must be compatible types: {left}, {right}", pos)

    def _ternary(self, e: ast.Ternary) -> ApexType:
        self._condition(e.condition)
        a, b = self._expr(e.then), self._expr(e.otherwise)
        if a.is_numeric and b.is_numeric:
            return widen(a, b)
        if assignable(a, b):
            return a
        if assignable(b, a):
            return b
        raise CompileError(f"Incompatible types in ternary operator: {a}, {b}", e.pos)

    def _target(self, e: ast.Expr) -> ApexType:
        """The type of an expression written to (variable, field, list element)."""
        if not isinstance(e, (ast.Name, ast.FieldAccess, ast.Index)):
            raise CompileError("Expression cannot be assigned", e.pos)
        t = self._expr(e)
        if isinstance(e, ast.FieldAccess) and e.parent is None and e.field_def is not None:
            f = e.field_def
            if not (f.createable or f.updateable) and f.name != "Id":
                obj = e.target.static_type
                raise CompileError(f"Field is not writeable: {obj}.{f.name}", e.name_pos)
        return t

    def _assign(self, e: ast.Assign) -> ApexType:
        target = self._target(e.target)
        if e.op == "=":
            self._check_assignment(target, e.value)
            return target
        value = self._expr(e.value)
        result, operand = self._operation(e.op[0], target, value, e.pos)
        if not assignable(target, result):
            raise CompileError(f"Illegal assignment from {result} to {target}", e.pos)
        operation = ast.Binary(e.pos, e.op[0], e.target, e.value)
        operation.static_type, operation.operand_type = result, operand
        e.operation = operation
        return target

    def _new(self, e: ast.NewObject) -> ApexType:
        t = resolve_type(e.type_ref)
        named = [a for a in e.args if isinstance(a, ast.Assign) and a.op == "=" and isinstance(a.target, ast.Name)]
        if t.kind == "sobject" and t.sobject is not None and len(named) == len(e.args):
            obj, seen = t.sobject, set()
            for arg in named:
                assert isinstance(arg.target, ast.Name)
                f = obj.field(arg.target.name)
                if f is None:
                    raise CompileError(f"Invalid field {arg.target.name} for SObject {obj.name}", arg.target.pos)
                if f.name in seen:
                    raise CompileError(f"Duplicate field initialization: {f.name}", arg.target.pos)
                if not (f.createable or f.updateable) and f.name != "Id":
                    raise CompileError(f"Field is not writeable: {obj.name}.{f.name}", arg.target.pos)
                seen.add(f.name)
                self._check_assignment(field_type(f), arg.value)
                e.field_inits.append((f, arg.value))
            return t
        if named and t.kind != "sobject":
            message = f"Invalid constructor syntax, name=value pairs can only be used for SObjects: {t}"
            raise CompileError(message, e.pos)
        arg_types = [self._expr(a) for a in e.args]
        if t.kind == "exception":
            if t.name in NOT_CONSTRUCTABLE:
                raise CompileError(f"Type cannot be constructed: {t}", e.type_ref.pos)
            if not arg_types or (len(arg_types) == 1 and assignable(STRING, arg_types[0])):
                return t
            if len(arg_types) == 1 and assignable(EXCEPTION, arg_types[0]):
                return t
        elif t.kind == "list" and (not arg_types or arg_types == [t]):
            return t
        elif t.kind != "sobject":
            raise CompileError(f"Type cannot be constructed: {t}", e.type_ref.pos)
        owner = f"System.{t}" if t.kind == "exception" else str(t)
        raise CompileError(f"Constructor not defined: [{owner}].<Constructor>({', '.join(map(str, arg_types))})", e.pos)

    def _new_collection(self, e: ast.NewCollection) -> ApexType:
        t = resolve_type(e.type_ref)
        if t.kind != "list" or t.element is None:
            raise CompileError(f"Invalid initializer type {t}", e.pos)
        for item in e.items:
            item_type = self._expr(item)
            if not assignable(t.element, item_type):
                raise CompileError(
                    f"Initial expression is of incorrect type, expected: {t.element} but was: {item_type}", item.pos
                )
        return t
