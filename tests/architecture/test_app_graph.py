"""No two apps import each other, directly or through others: the app-level import graph
(every import, those inside functions included) has no cycle. The layer contract checks
the apps it names; this also covers an app added later and not yet placed in a layer."""

from __future__ import annotations

import grimp


def _app(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _app_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("apps", include_external_packages=False)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = _app(module), _app(imported)
            if source != target and source != "apps" and target != "apps":
                edges.setdefault(source, set()).add(target)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(edges.get(node, ())):
            found = visit(target)
            if found:
                return found
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(edges):
        found = visit(node)
        if found:
            return found
    return None


def test_apps_import_each_other_in_one_direction_only():
    edges = _app_graph()

    assert "apps.dashboard" in edges and "apps.bookings" in edges["apps.dashboard"]
    assert _cycle(edges) is None, " -> ".join(_cycle(edges) or [])


def test_cycle_finder_finds_a_cycle_through_a_third_app():
    # the check above is only as good as the search it relies on
    edges = {"apps.a": {"apps.b"}, "apps.b": {"apps.c"}, "apps.c": {"apps.a"}, "apps.d": set()}

    assert _cycle(edges) == ["apps.a", "apps.b", "apps.c", "apps.a"]
    assert _cycle({"apps.a": {"apps.b"}, "apps.b": set()}) is None
