"""Does distilling pay off? Routing from evidence, the cost model, scenarios and stakeholder reports.

`cost_model`, `tco` and `sensitivity` are pure Python (standard library only, no Django), mypy-strict and
unit-tested against worked examples; the Django side (scenarios, pages, the API) calls them."""
