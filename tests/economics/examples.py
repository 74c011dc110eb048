"""The worked example the tests share: prices round enough to check by hand."""

from webapp.economics.cost_model import ApiPrices, Serving

TEACHER_PRICES = ApiPrices(usd_per_million_input_tokens=2.5, usd_per_million_output_tokens=10.0)


def serving(share: float, **changes: float) -> Serving:
    """1M requests a month; teacher $0.0012 and 800 ms a request, student $0.00001 and 20 ms, $100/month fixed;
    a router at $0.00002 and 5 ms."""
    values = {
        "requests_per_month": 1_000_000,
        "teacher_usd_per_request": 0.0012,
        "student_usd_per_request": 0.00001,
        "student_share": share,
        "teacher_latency_ms": 800,
        "student_latency_ms": 20,
        "student_fixed_usd_per_month": 100,
        "router_usd_per_request": 0.00002,
        "router_latency_ms": 5,
    } | changes
    return Serving(**values)
