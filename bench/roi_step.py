"""Server time of one Routing & ROI slider step (the htmx GET that re-renders the results) on the populated test
task (tests/populated.py), and of its parts, side by side: reading the evidence cold (predictions files parsed)
vs reused (routing evidence cache), and the five charts built as plain dicts (now) vs as plotly graph_objects
figures (before: the same dicts through go.Figure, which validates every property).

Needs the test instance's PostgreSQL: `source scripts/env.sh test && scripts/services.sh start test`, then
`.venv/bin/python bench/roi_step.py` (it runs itself under pytest for the fixtures; JSON to bench/results/)."""

import json
import os
import statistics
import sys
import time
from pathlib import Path

import django
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "roi_step.json"
REPEATS = 15


def _median_ms(fn, repeats: int = REPEATS, before=None) -> float:
    times = []
    for _ in range(repeats):
        if before:
            before()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@pytest.mark.django_db
def test_roi_step(populated, admin) -> None:
    import plotly.graph_objects as go
    from django.test import Client
    from django.urls import reverse

    from webapp.economics import charts
    from webapp.economics.evidence import prediction_sets_forget, routing_evidence
    from webapp.economics.services import scenario_compute
    from webapp.ui.plotting import figure_json_script

    task, student = populated.task, populated.students[0]
    client = Client()
    client.force_login(admin)
    url = reverse("roi", args=[task.pk])
    taus = iter(f"{0.5 + (i % 40) / 100:.2f}" for i in range(10_000))

    def step() -> None:
        params = {"student": student.pk, "mode": "cascade", "tau_rule": "manual", "manual_tau": next(taus)}
        response = client.get(url, params, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and b"roi-cumulative_cost" in response.content

    from webapp.economics.services import assumptions_from

    assumptions = assumptions_from({"tau_rule": "manual", "manual_tau": 0.8}, task=task)
    figures = scenario_compute(task=task, student=student, assumptions=assumptions)
    built = charts.report_figures(figures)
    step()  # warm imports and templates
    rows = {
        "step (htmx GET), evidence cold": _median_ms(step, before=prediction_sets_forget),
        "step (htmx GET), evidence reused": _median_ms(step),
        "evidence, cold": _median_ms(lambda: routing_evidence(task, student), before=prediction_sets_forget),
        "evidence, reused": _median_ms(lambda: routing_evidence(task, student)),
        "5 charts as graph_objects (before)": _median_ms(
            lambda: [go.Figure(f) for f in charts.report_figures(figures).values()]
        ),
        "5 charts as dicts (now)": _median_ms(lambda: charts.report_figures(figures)),
        "5 charts to JSON <script>": _median_ms(lambda: [figure_json_script(f, k) for k, f in built.items()]),
    }
    ratios = {
        "step: cold / reused": rows["step (htmx GET), evidence cold"] / rows["step (htmx GET), evidence reused"],
        "evidence: cold / reused": rows["evidence, cold"] / rows["evidence, reused"],
        "charts: graph_objects / dicts": rows["5 charts as graph_objects (before)"] / rows["5 charts as dicts (now)"],
    }
    width = max(map(len, rows))
    print(
        f"\nRouting & ROI step, populated task ({len(routing_evidence(task, student).validation.predictions)} "
        f"validation rows), median of {REPEATS}:"
    )
    for name, ms in rows.items():
        print(f"  {name:<{width}}  {ms:8.1f} ms")
    for name, ratio in ratios.items():
        print(f"  {name:<{width}}  {ratio:8.1f}x")
    RESULTS.write_text(json.dumps({"median_ms": rows, "ratios": ratios, "repeats": REPEATS}, indent=2) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # tests.conftest's fixtures (populated, admin) as a plugin, which needs
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.config.settings.test")  # Django set up first
    django.setup()
    sys.exit(
        pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider", "-p", "tests.conftest", "--rootdir", str(ROOT)])
    )
