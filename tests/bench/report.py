"""The bench report: every figure next to its PRODUCT.md §7 target, printed and written
to .local/bench/report-<stamp>.txt and .json. Targets are judged, never tuned: a missed
target says MISSED and the run still succeeds; a broken booking-storm invariant fails it."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
from django.db import connection

from tests.bench import directory as directory_bench
from tests.bench.loads import Figures

SLOTS = "GET slots (1 resource, 1 day)"
DATES = "GET dates (31 days)"
BARE = "bare Django JSON view"
HOLDS = "POST bookings (hold)"
ROUTING_TABLES = ("accounts_domain", "accounts_tenant")
AUTH_TABLES = ("api_apikey",)


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return "-"
    return "met" if ok else "MISSED"


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass
class Report:
    stamp: str
    quick: bool
    out_dir: Path
    machine: dict[str, Any] = field(default_factory=dict)
    seed: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    figures: list[Figures] = field(default_factory=list)
    storms: list[dict[str, Any]] = field(default_factory=list)
    new_tenant: dict[str, Any] = field(default_factory=dict)
    tenants: dict[str, Figures] = field(default_factory=dict)
    # One beat tick of each due-driven entry, and the backstops (run.fan_out).
    fan_out: dict[str, Any] = field(default_factory=dict)
    # The catalogue's size and one connection's memory (run.catalogue_and_connections).
    catalogue: dict[str, Any] = field(default_factory=dict)
    # One new tenant migration across every schema (run.migration_rollout).
    rollout: dict[str, Any] = field(default_factory=dict)
    materialization: dict[str, Any] = field(default_factory=dict)
    # The directory's figures besides its endpoint's (tests/bench/directory.py).
    directory: dict[str, Any] = field(default_factory=dict)

    def add(self, figures: Figures) -> None:
        self.figures.append(figures)

    def find(self, name: str, saturation: bool) -> Figures | None:
        for figures in self.figures:
            if figures.name == name and figures.mode.startswith("saturation") == saturation:
                return figures
        return None

    # --- Targets -------------------------------------------------------------------------

    def _query_split(self, label: str) -> tuple[int, str]:
        """Statements of one request: django-tenants' `SET search_path`, tenant routing
        (domain lookup), API key, and the rest (the view's own)."""
        entry = self.queries[label]
        sets = sum(sql.startswith("SET search_path") for sql in entry["sql"])
        routing = sum(any(t in sql for t in ROUTING_TABLES) for sql in entry["sql"])
        auth = sum(any(t in sql for t in AUTH_TABLES) for sql in entry["sql"])
        view = entry["queries"] - sets - routing - auth
        cached = entry.get("queries_when_cached")
        return entry["queries"], (
            f"{entry['queries']} = {sets} SET + {routing} routing + {auth} key + {view} view"
            + (f" ({cached} when cached)" if cached is not None else "")
        )

    def targets(self) -> list[tuple[str, str, str, str]]:
        rows: list[tuple[str, str, str, str]] = []
        slots_rate = self.find(SLOTS, saturation=False)
        slots_sat = self.find(SLOTS, saturation=True)
        bare_sat = self.find(BARE, saturation=True)
        dates_rate = self.find(DATES, saturation=False)
        holds = self.find(HOLDS, saturation=False)
        if slots_rate:
            rows.append(
                (
                    f"GET slots p95 at {slots_rate.mode.removeprefix('offered ')} offered",
                    f"{slots_rate.p95_ms:.1f} ms",
                    "<= 20 ms",
                    _verdict(slots_rate.p95_ms <= 20),
                )
            )
        dates_sat = self.find(DATES, saturation=True)
        for label, sat in (("GET slots", slots_sat), ("GET dates", dates_sat)):
            if sat is None or bare_sat is None:
                continue
            ratio = sat.throughput / bare_sat.throughput
            rows.append(
                (
                    f"{label} saturation vs bare view",
                    f"{sat.throughput:.0f}/s vs {bare_sat.throughput:.0f}/s = {ratio:.0%}; "
                    f"p95 {sat.p95_ms:.1f} ms (wrk)",
                    ">= 1,000/s and >= 60 %, p95 <= 250 ms",
                    _verdict(sat.throughput >= 1000 and ratio >= 0.6 and sat.p95_ms <= 250),
                )
            )
        if dates_rate:
            rows.append(
                (
                    f"GET dates (month) p95 at {dates_rate.mode.removeprefix('offered ')} offered",
                    f"{dates_rate.p95_ms:.1f} ms",
                    "<= 50 ms",
                    _verdict(dates_rate.p95_ms <= 50),
                )
            )
        if self.queries:
            labels = [label for label in self.queries if label.startswith("slots")]
            dates_label = next(label for label in self.queries if label.startswith("dates"))
            counts = [self._query_split(label) for label in [*labels, dates_label]]
            same = len({self.queries[label]["queries"] for label in labels}) == 1
            most = max(n for n, _ in counts)
            for label, (_, text) in zip([*labels, dates_label], counts, strict=True):
                rows.append((f"SQL statements: {label}", text, "<= 5, constant", ""))
            rows.append(
                (
                    "SQL statements per slots/dates request",
                    f"at most {most}; "
                    + ("the same with and without bookings" if same else "varies with bookings"),
                    "<= 5, constant",
                    _verdict(same and most <= 5),
                )
            )
        if holds:
            rows.append(
                (
                    f"POST bookings (hold) p95 at {holds.mode.removeprefix('offered ')} offered",
                    f"{holds.p95_ms:.1f} ms ({holds.statuses})",
                    "<= 25 ms",
                    _verdict(holds.p95_ms <= 25 and set(holds.statuses) == {"201"}),
                )
            )
        holds_sat = self.find(HOLDS, saturation=True)
        if holds_sat:
            rows.append(
                (
                    f"POST bookings (hold) {holds_sat.mode}",
                    f"{holds_sat.throughput:.0f}/s, p95 {holds_sat.p95_ms:.1f} ms "
                    f"({holds_sat.statuses})",
                    ">= 200 holds/s",
                    _verdict(holds_sat.throughput >= 200 and set(holds_sat.statuses) == {"201"}),
                )
            )
        in_process = self.profile.get("hold_in_process")
        if in_process:
            # The Python of a hold is this process's CPU for it; the rest of its wall time
            # is spent waiting on PostgreSQL (statements and commits).
            cpu_ms = in_process.get("cpu_ms_per_hold_median")
            rows.append(
                (
                    "hold served in process: Python (CPU), wall, statements",
                    (f"{cpu_ms:.1f} ms CPU; " if cpu_ms is not None else "")
                    + f"{in_process['ms_per_hold_median']:.1f} ms wall "
                    f"({in_process.get('database_calls_ms_per_hold_median', 0):.1f} ms in "
                    f"database calls); {in_process['statements']} statements "
                    f"(+ {in_process.get('transaction_control', 0)} BEGIN/COMMIT)",
                    "<= 8 ms of Python, <= 12 statements",
                    _verdict(cpu_ms is not None and cpu_ms <= 8 and in_process["statements"] <= 12),
                )
            )
        for capacity in (1, 3):
            storms = [s for s in self.storms if s["capacity"] == capacity]
            if not storms:
                continue
            won = sorted({s["statuses"].get("201", 0) for s in storms})
            refused = sorted({s["statuses"].get("409", 0) for s in storms})
            slowest = max(s["max_ms"] for s in storms)
            ok = not any(s["problems"] for s in storms) and slowest <= 300
            rows.append(
                (
                    f"storm: 50 holds on 1 slot, k={capacity} ({len(storms)} storms)",
                    f"201 x {won}, 409 x {refused}, slowest {slowest:.0f} ms",
                    f"{capacity} ok, rest 409, slowest <= 300 ms",
                    _verdict(ok),
                )
            )
        if self.tenants:
            rows += self._tenant_rows()
        if self.new_tenant:
            rows.append(
                (
                    "new tenant: signup -> usable schema (a spare taken)",
                    f"median {self.new_tenant['median_s']:.2f} s, max "
                    f"{self.new_tenant['max_s']:.2f} s; one spare copied ahead in "
                    f"{self.new_tenant.get('one_spare_copy_s') or 0:.2f} s",
                    "<= 1.5 s",
                    _verdict(self.new_tenant["max_s"] <= 1.5),
                )
            )
        if self.rollout:
            r = self.rollout
            rows.append(
                (
                    f"one new tenant migration across {r['tenant_schemas']:,} schemas "
                    "(setup_database)",
                    f"{r['seconds']:.0f} s, {r['schemas_migrated']:,} schemas migrated",
                    "<= 15 min",
                    _verdict(r["seconds"] <= 900 and r["schemas_migrated"] == r["tenant_schemas"]),
                )
            )
        if self.fan_out:
            ticks = self.fan_out["ticks"]
            sent = sum(tick["tasks"] for tick in ticks.values())
            due = sum(tick["due"] for tick in ticks.values())
            slowest = max((tick["claim_ms"] for tick in ticks.values()), default=0.0)
            rows.append(
                (
                    f"periodic fan-out: one tick of {len(ticks)} due-driven entries, "
                    f"{self.fan_out['businesses']:,} businesses",
                    f"{sent} tasks for {due} businesses with work due; slowest claim "
                    f"{slowest:.1f} ms; hourly backstops {self.fan_out['backstops_s']} s",
                    "tasks only where due",
                    _verdict(sent == due),
                )
            )
        rows += directory_bench.target_rows(
            figures=self.find(directory_bench.SEARCH, saturation=False),
            bare=self.find(BARE, saturation=False),
            directory=self.directory,
        )
        if self.materialization:
            m = self.materialization
            full = m["resources"] >= 1000
            rows.append(
                (
                    f"materialize {m['resources']} resources x {m['days']} days",
                    f"{m['seconds']:.1f} s ({m['slots_created']:,} slots)",
                    "< 60 s (1,000 x 90)",
                    _verdict(m["seconds"] < 60) if full else "n/a (quick run)",
                )
            )
        rows.append(
            (
                "reminder dispatch",
                "not measured here: `make measure`",
                "10,000/h, <= 60 s late",
                "-",
            )
        )
        return rows

    def _tenant_rows(self) -> list[tuple[str, str, str, str]]:
        """1 business vs the seeded number in the database: medians over the interleaved
        rounds, with their spread (PRODUCT.md §7: within 10 %, p95 and saturation)."""
        one, many = self.tenants["one"], self.tenants["many"]
        one_sat, many_sat = self.tenants["one_saturation"], self.tenants["many_saturation"]
        count = self.seed.get("counts", {}).get("tenants", 0)

        def spread(values: list[float], unit: str) -> str:
            return f"{statistics.median(values):.1f}{unit} [{min(values):.1f}-{max(values):.1f}]"

        p95_one = one.extra["p95_ms_per_round"]
        p95_many = many.extra["p95_ms_per_round"]
        sat_one = one_sat.extra["throughput_per_round"]
        sat_many = many_sat.extra["throughput_per_round"]
        p95_change = statistics.median(p95_many) / statistics.median(p95_one) - 1
        sat_change = statistics.median(sat_many) / statistics.median(sat_one) - 1
        rounds = len(p95_one)
        return [
            (
                f"GET slots p95 at {one.mode.removeprefix('offered ')}: 1 vs {count:,} "
                f"tenants, median of {rounds} interleaved rounds [spread]",
                f"{spread(p95_one, ' ms')} vs {spread(p95_many, ' ms')} ({p95_change:+.0%})",
                "within 10 %",
                _verdict(p95_change <= 0.10 and rounds >= 5),
            ),
            (
                f"GET slots saturation: 1 vs {count:,} tenants, median of {rounds} rounds",
                f"{spread(sat_one, '/s')} vs {spread(sat_many, '/s')} ({sat_change:+.0%})",
                "within 10 %",
                _verdict(sat_change >= -0.10 and rounds >= 5),
            ),
        ]

    # --- Output --------------------------------------------------------------------------

    def _machine(self) -> dict[str, Any]:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            postgres = cursor.fetchone()[0]
        return self.machine | {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "postgres": postgres,
            "commit": _git_commit(),
            "quick_run": self.quick,
        }

    def text(self, machine: dict[str, Any]) -> str:
        lines = [
            f"TimeNest bench {self.stamp}"
            + (" (quick run: short, not for the record)" * self.quick),
            f"machine: {machine['cores']} cores, load average {machine['load_at_start']} at "
            f"start, {machine.get('load_at_end', '?')} at end; Python {machine['python']}, "
            f"Django {machine['django']}, PostgreSQL {machine['postgres']}, commit "
            f"{machine['commit']}",
            "seed: "
            + (
                f"reused (seeded on {self.seed['seeded_on']})"
                if self.seed["reused"]
                else "made now"
            )
            + "; "
            f"seeding took {self.seed['timings_when_seeded_s'].get('total_s', 0):.0f} s "
            f"{self.seed['timings_when_seeded_s']}; {self.seed['counts']}",
            f"checks: {self.checks}",
            "",
            "Targets (PRODUCT.md §7)",
        ]
        rows = self.targets()
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        header = ("what", "measured", "target", "verdict")
        widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
        for row in [header, tuple("-" * w for w in widths), *rows]:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        lines += [
            "",
            "Endpoints (latency in ms; CPU in cores of the machine: server = gunicorn, "
            "db = its PostgreSQL backends, gen = load generator, other = everyone else)",
        ]
        table = [
            ("endpoint", "load", "requests", "req/s", "p50", "p95", "p99", "max", "answers",
             "server", "db", "gen", "other"),
        ]  # fmt: skip
        all_figures = [*self.figures, *self.tenants.values()]
        for f in all_figures:
            table.append(
                (
                    f.name,
                    f.mode,
                    str(f.requests),
                    f"{f.throughput:.0f}",
                    f"{f.p50_ms:.1f}",
                    f"{f.p95_ms:.1f}",
                    f"{f.p99_ms:.1f}",
                    f"{f.max_ms:.1f}",
                    ",".join(f"{k}:{v}" for k, v in f.statuses.items()),
                    f"{f.cpu.server:.2f}",
                    f"{f.cpu.database:.2f}",
                    f"{f.cpu.load_generator:.2f}",
                    f"{f.cpu.others:.2f}",
                )
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        bare = self.find(BARE, saturation=True)
        if bare:
            lines.append("")
            lines.append("Saturation throughput relative to the bare view measured in this run:")
            for f in self.figures:
                if f.mode.startswith("saturation") and f is not bare:
                    lines.append(f"  {f.name}: {f.throughput / bare.throughput:.0%}")
        lines += ["", "SQL per request (in-process, whole middleware stack):"]
        for label, entry in self.queries.items():
            cached = entry.get("queries_when_cached")
            lines.append(
                f"  {label}: {entry['queries']} queries (HTTP {entry['status']})"
                + (f", {cached} when repeated (cached)" if cached is not None else "")
            )
            lines += [f"      {sql}" for sql in entry["sql"]]
        if self.profile:
            lines += [
                "",
                "In-process cost per request (ms, no HTTP): "
                + json.dumps(self.profile["in_process_ms_per_request"]),
                "Where GET slots spends its time (share of the profiled run): "
                + json.dumps(self.profile["slots_time_share"]),
                "POST bookings (hold) in this process: "
                + json.dumps(
                    {k: v for k, v in self.profile["hold_in_process"].items() if k != "sql"}
                ),
                "GET slots profile, top functions by own time "
                f"(full listing: {self.profile['profile_file']}):",
                *[f"  {line}" for line in self.profile["top_by_own_time"]],
            ]
        if self.storms:
            lines += ["", "Booking storms:"]
            lines += [f"  {json.dumps(storm)}" for storm in self.storms]
        if self.new_tenant:
            lines += ["", f"New tenants: {json.dumps(self.new_tenant['runs'])}"]
        if self.materialization:
            lines += ["", f"Materialization: {json.dumps(self.materialization)}"]
        if self.catalogue:
            lines += ["", f"Catalogue and connections: {json.dumps(self.catalogue)}"]
        if self.fan_out:
            lines += ["", f"Periodic fan-out: {json.dumps(self.fan_out)}"]
        if self.rollout:
            lines += ["", f"Migration roll-out: {json.dumps(self.rollout)}"]
        if self.directory.get("queries"):
            lines += ["", "SQL per directory search (in-process, whole middleware stack):"]
            for label, entry in self.directory["queries"].items():
                lines.append(
                    f"  {label}: {entry['queries']} queries (HTTP {entry['status']}, "
                    f"{entry['results']} results) {entry['path']}"
                )
                lines += [f"      {sql}" for sql in entry["sql"]]
        if self.directory.get("catch_up") or self.directory.get("index_freshened"):
            extra = {k: v for k, v in self.directory.items() if k != "queries"}
            lines += ["", f"Directory index: {json.dumps(extra, default=str)}"]
        return "\n".join(lines) + "\n"

    def failures(self) -> list[str]:
        return [problem for storm in self.storms for problem in storm["problems"]]

    def finish(self) -> int:
        machine = self._machine()
        text = self.text(machine)
        failures = self.failures()
        if failures:
            text += "\nBOOKING STORM INVARIANT BROKEN:\n" + "\n".join(f"  {p}" for p in failures)
        data = {
            "stamp": self.stamp,
            "machine": machine,
            "seed": self.seed,
            "checks": self.checks,
            "targets": [
                dict(zip(("what", "measured", "target", "verdict"), row, strict=True))
                for row in self.targets()
            ],
            "endpoints": [f.as_dict() for f in self.figures],
            "tenants": {side: f.as_dict() for side, f in self.tenants.items()},
            "queries": self.queries,
            "profile": self.profile,
            "storms": self.storms,
            "new_tenant": self.new_tenant,
            "materialization": self.materialization,
            "fan_out": self.fan_out,
            "catalogue": self.catalogue,
            "rollout": self.rollout,
            "directory": self.directory,
            "storm_invariant_broken": failures,
        }
        text_path = self.out_dir / f"report-{self.stamp}.txt"
        json_path = self.out_dir / f"report-{self.stamp}.json"
        text_path.write_text(text)
        json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
        print("\n" + text)  # noqa: T201
        print(f"Report: {text_path} (and {json_path.name})")  # noqa: T201
        if failures:
            print("\n!!! BENCH FAILED: the booking storm invariant broke (see above) !!!")  # noqa: T201
            return 1
        return 0
