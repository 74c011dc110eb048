"""Does distilling pay off? Routing from evidence, the cost model, scenarios and stakeholder reports.

`cost_model`, `tco`, `sensitivity`, `routing` and `certify` are pure Python (no Django; scipy for the
binomial bounds), mypy-strict and unit-tested against worked examples; the Django side (scenarios, pages,
the API) calls them."""
