"""Medians, ratios, the terminal table and ``RESULTS.md``. Standard library only."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024
METRICS = ("work_s", "process_s", "work_cpu_s", "process_cpu_s", "extra_rss", "peak_rss", "import_s")


@dataclass
class Summary:
    """One tool variant in one scenario: medians over its runs."""

    scenario: str
    variant: str
    tool: str
    runs: int
    ok: int
    status: str
    medians: dict[str, float] = field(default_factory=dict)
    extras: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def summarize(runs: Sequence[dict[str, Any]]) -> list[Summary]:
    """Group runs by (scenario, variant) in first-seen order; median every metric over the runs."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["scenario"], run["variant"]), []).append(run)
    summaries = []
    for (scenario, variant), group in groups.items():
        ok = [r for r in group if r.get("status") == "ok"]
        # A failing variant still has timings (how long until it failed); median over what ran.
        measured = ok or group
        medians = {}
        for metric in METRICS:
            med = _median([float(r[metric]) for r in measured if isinstance(r.get(metric), (int, float))])
            if med is not None:
                medians[metric] = med
        extra_keys = sorted(
            {k for r in measured for k, v in r.get("extras", {}).items() if isinstance(v, (int, float))}
        )
        extras = {}
        for key in extra_keys:
            med = _median([float(r["extras"][key]) for r in measured if isinstance(r["extras"].get(key), (int, float))])
            if med is not None:
                extras[key] = med
        errors = [r.get("error") for r in group if r.get("status") != "ok"]
        status = "ok" if len(ok) == len(group) else ("error" if not ok else f"{len(errors)}/{len(group)} failed")
        summaries.append(
            Summary(
                scenario=scenario,
                variant=variant,
                tool=group[0]["tool"],
                runs=len(group),
                ok=len(ok),
                status=status,
                medians=medians,
                extras=extras,
                details=(ok or group)[0].get("details", {}),
                error=next((e for e in errors if e), None),
            )
        )
    return summaries


def _reference(summaries: Sequence[Summary], tool: str) -> Summary | None:
    return next((s for s in summaries if s.tool == tool and s.status == "ok"), None)


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference <= 0:
        return None
    return value / reference


def fmt_num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_mb(value: float | None) -> str:
    return "—" if value is None else f"{value / MB:,.0f}"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


@dataclass(frozen=True)
class Column:
    title: str
    render: Any  # Callable[[Summary, Sequence[Summary]], str]


def _work_vs(tool: str) -> Any:
    def render(s: Summary, group: Sequence[Summary]) -> str:
        ref = _reference(group, tool)
        if ref is None or s.status != "ok":
            return "—"
        return fmt_ratio(ratio(s.medians.get("work_s"), ref.medians.get("work_s")))

    return render


def _rss_vs_ours(s: Summary, group: Sequence[Summary]) -> str:
    ref = _reference(group, "sfpy")
    if ref is None:
        return "—"
    return fmt_ratio(ratio(s.medians.get("peak_rss"), ref.medians.get("peak_rss")))


BASE_COLUMNS = (
    Column("tool", lambda s, g: s.variant),
    Column("status", lambda s, g: s.status if s.status == "ok" else f"**{s.status}**"),
    Column("work s", lambda s, g: fmt_num(s.medians.get("work_s"))),
    Column("process s", lambda s, g: fmt_num(s.medians.get("process_s"))),
    Column("CPU s (work)", lambda s, g: fmt_num(s.medians.get("work_cpu_s"))),
    Column("CPU s (process)", lambda s, g: fmt_num(s.medians.get("process_cpu_s"))),
    Column("extra RSS MB", lambda s, g: fmt_mb(s.medians.get("extra_rss"))),
    Column("peak RSS MB", lambda s, g: fmt_mb(s.medians.get("peak_rss"))),
    Column("work ÷ ours", _work_vs("sfpy")),
    Column("work ÷ floor", _work_vs("floor")),
    Column("peak RSS ÷ ours", _rss_vs_ours),
)


def extra_column(key: str, title: str, digits: int = 1) -> Column:
    return Column(title, lambda s, g: fmt_num(s.extras.get(key), digits))


def extra_ratio_column(key: str, title: str) -> Column:
    """A scenario number of each tool divided by ours (the first ``sfpy`` variant)."""

    def render(s: Summary, group: Sequence[Summary]) -> str:
        ref = _reference(group, "sfpy")
        if ref is None or s.status != "ok":
            return "—"
        return fmt_ratio(ratio(s.extras.get(key), ref.extras.get(key)))

    return Column(title, render)


def table_rows(group: Sequence[Summary], extra: Sequence[Column]) -> tuple[list[str], list[list[str]]]:
    columns = [*BASE_COLUMNS, *extra]
    has_floor = any(s.tool == "floor" for s in group)
    columns = [c for c in columns if has_floor or c.title != "work ÷ floor"]
    return [c.title for c in columns], [[c.render(s, group) for c in columns] for s in group]


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.replace("**", "").ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    right = {i for i, h in enumerate(headers) if h not in ("tool", "status", "scenario", "scenario numbers")}
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


RAW_HEADERS = [
    "scenario",
    "tool",
    "run",
    "status",
    "work s",
    "process s",
    "import s",
    "CPU s (work)",
    "CPU s (process)",
    "RSS after imports MB",
    "peak RSS MB",
    "extra RSS MB",
    "scenario numbers",
]


def raw_rows(runs: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for run in runs:
        extras = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(run.get("extras", {}).items())
        )
        rows.append(
            [
                run["scenario"],
                run["variant"],
                str(run["run"] + 1),
                run.get("status", "?"),
                fmt_num(run.get("work_s")),
                fmt_num(run.get("process_s")),
                fmt_num(run.get("import_s")),
                fmt_num(run.get("work_cpu_s")),
                fmt_num(run.get("process_cpu_s")),
                fmt_mb(run.get("rss_after_imports")),
                fmt_mb(run.get("peak_rss")),
                fmt_mb(run.get("extra_rss")),
                extras,
            ]
        )
    return rows
