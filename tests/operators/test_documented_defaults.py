"""Every default the operators, the sensor and the trigger state in their docstrings is the one they have.

The convention the docstrings follow: a ``:param name:`` entry states its default once, as
``(default ``<Python literal>```` followed by ``)``, ``:``, ``;`` or ``,`` and any explanation. Each class is
built here with only its required arguments in a stock Airflow configuration (no
``AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE``, Airflow's shipped defaults), and the attribute of
that name must equal the literal. Every optional ``__init__`` argument must be documented that
way, and an entry that speaks of a default in any other way fails: no claim escapes the check.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger

from airflow_provider_sfpy import get_provider_info

#: The required arguments of each class, in "module.Class" form; every other argument is left out.
REQUIRED: dict[str, dict[str, Any]] = {
    "query_to_file.SalesforceQueryToFileOperator": {
        "soql": "SELECT Id FROM Account",
        "destination": "file:///tmp/sfpy-defaults/export",  # no extension: the name decides nothing
    },
    "sobject.SalesforceSObjectOperator": {"operation": "delete", "record_ids": "001000000000001AAA"},
    "sobject.SalesforceFileInsertOperator": {"object_type": "ContentVersion", "source": "file:///tmp/a.pdf"},
    "apex.SalesforceApexOperator": {"apex": "System.debug(1);"},
    "apex.SalesforceApexRestOperator": {"path": "AccountSummary"},
    "approval.SalesforceApprovalOperator": {"action": "Submit", "context_ids": "001000000000001AAA"},
    "chatter.SalesforceChatterPostOperator": {"text": "hello", "subject_id": "me"},
    "wave.SalesforceWaveQueryOperator": {"saql": 'q = load "opportunities";'},
    "wave.SalesforceWaveDatasetOperator": {"dataset": "opportunities"},
    "bulk.SalesforceBulkIngestOperator": {
        "object_type": "Account",
        "operation": "insert",
        "source": "file:///tmp/a.csv",
    },
    "bulk_query.SalesforceBulkQueryOperator": {"soql": "SELECT Id FROM Account", "destination": "file:///tmp/x/"},
    "bulk.SalesforceBulkJobSensor": {"job_ids": "750000000000001AAA"},
    "bulk.SalesforceBulkJobTrigger": {"sfpy_conn_id": "sfpy_default", "job_ids": ["750000000000001AAA"]},
    "bulk_query_mapped.SalesforceBulkQueryPagesOperator": {
        "soql": "SELECT Id FROM Account",
        "destination": "file:///tmp/x/",
    },
    "bulk_query_mapped.SalesforceBulkQueryPageOperator": {"page": {"job_id": "750", "number": 1, "part": "x"}},
    "bulk_query_mapped.SalesforceBulkQueryCommitOperator": {"job": {}, "parts": []},
    "platform_event.SalesforcePublishEventOperator": {"topic": "/event/Order_Placed__e", "events": [{}]},
    "change_events.SalesforceChangeEventTrigger": {"channel": "/data/OpportunityChangeEvent"},
}
PARAM = re.compile(r"^\s*:param (\w+):(.*?)(?=^\s*:\w|^\s*$|\Z)", re.MULTILINE | re.DOTALL)
STATED_DEFAULT = re.compile(r"\(default ``(.+?)``(?=[),:;])")
CODE = re.compile(r"``.+?``")


def provider_classes() -> Iterator[tuple[str, type]]:
    """Every operator, sensor and trigger class the provider registers, as ("module.Class", class)."""
    info = get_provider_info()
    modules = [
        m for kind in ("operators", "sensors", "triggers") for entry in info[kind] for m in entry["python-modules"]
    ]
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == module_name and issubclass(cls, (BaseOperator, BaseTrigger)):
                yield f"{module_name.rsplit('.', 1)[1]}.{name}", cls


def documented_defaults(cls: type) -> dict[str, str]:
    """``{param: literal}`` from the docstrings of the class and of its bases in this package."""
    stated: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("airflow_provider_sfpy") or not klass.__doc__:
            continue
        for name, text in PARAM.findall(inspect.cleandoc(klass.__doc__)):
            claims = STATED_DEFAULT.findall(text)
            mentions = len(re.findall(r"\bdefault", CODE.sub("", text)))
            assert mentions == len(claims) <= 1, (
                f"{klass.__name__} :param {name}: states a default other than as (default ``<literal>``): {text!r}"
            )
            if claims:
                stated[name] = claims[0]
    return stated


def _change_events_available() -> bool:
    from airflow_provider_sfpy.triggers.change_events import ACK_MODE_AVAILABLE

    return bool(ACK_MODE_AVAILABLE)


def optional_arguments(cls: type) -> set[str]:
    """The ``__init__`` arguments a user may leave out (``**kwargs`` aside)."""
    parameters = inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]
    return {
        p.name for p in parameters if p.default is not p.empty and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


@pytest.fixture
def stock_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow's shipped defaults for what the operators read: no environment override of them."""
    from airflow.configuration import conf

    for option in ("OPERATORS__DEFAULT_DEFERRABLE", "SENSORS__DEFAULT_TIMEOUT"):
        for suffix in ("", "_CMD", "_SECRET"):
            monkeypatch.delenv(f"AIRFLOW__{option}{suffix}", raising=False)
    # What the docstrings call "a stock install": if Airflow ever ships other defaults, they are wrong.
    assert conf.get_default_value("operators", "default_deferrable").lower() == "false"
    assert float(conf.get_default_value("sensors", "default_timeout")) == 7 * 24 * 3600


def test_every_registered_class_is_checked() -> None:
    assert {name for name, _ in provider_classes()} == set(REQUIRED)


@pytest.mark.parametrize(("name", "cls"), [pytest.param(name, cls, id=name) for name, cls in provider_classes()])
def test_documented_defaults_are_the_real_ones(name: str, cls: type, stock_configuration: None) -> None:
    stated = documented_defaults(cls)
    undocumented = optional_arguments(cls) - set(stated)
    assert not undocumented, f"{name}: document the default of {sorted(undocumented)} as (default ``<literal>``)"
    kwargs = dict(REQUIRED[name])
    if name == "change_events.SalesforceChangeEventTrigger" and not _change_events_available():
        pytest.skip("SalesforceChangeEventTrigger refuses to be built before Airflow 3.3 (tested on its own)")
    if issubclass(cls, BaseOperator):
        kwargs["task_id"] = "defaults"
    built = cls(**kwargs)
    # An either-or argument given here (record_ids for a delete, subject_id for a post) shows no default.
    observable = {param: literal for param, literal in stated.items() if param not in kwargs}
    # A trigger's arguments are what it serializes (the triggerer rebuilds it from them).
    if isinstance(built, BaseTrigger):
        serialized = built.serialize()[1]
        actual = {param: serialized[param] for param in observable}
    else:
        actual = {param: getattr(built, param) for param in observable}
    expected = {param: ast.literal_eval(literal) for param, literal in observable.items()}
    assert actual == expected


def test_the_waits_are_not_deferred_in_a_stock_configuration(stock_configuration: None) -> None:
    """The README once said the Bulk waits were deferred by default: they are not, unless configured."""
    from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator
    from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator
    from airflow_provider_sfpy.sensors.bulk import SalesforceBulkJobSensor

    built: list[Any] = [
        SalesforceBulkIngestOperator(task_id="i", **REQUIRED["bulk.SalesforceBulkIngestOperator"]),
        SalesforceBulkQueryOperator(task_id="q", **REQUIRED["bulk_query.SalesforceBulkQueryOperator"]),
        SalesforceBulkJobSensor(task_id="s", **REQUIRED["bulk.SalesforceBulkJobSensor"]),
    ]
    assert [op.deferrable for op in built] == [False, False, False]


def test_default_deferrable_set_in_the_configuration_makes_them_deferrable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other half of the documented default: ``[operators] default_deferrable = True`` is followed."""
    from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator
    from airflow_provider_sfpy.sensors.bulk import SalesforceBulkJobSensor

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    query = SalesforceBulkQueryOperator(task_id="q", **REQUIRED["bulk_query.SalesforceBulkQueryOperator"])
    sensor = SalesforceBulkJobSensor(task_id="s", **REQUIRED["bulk.SalesforceBulkJobSensor"])
    assert query.deferrable is sensor.deferrable is True
