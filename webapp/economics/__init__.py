"""Economics: the cost model and routing from evidence (pure functions), ROI scenarios, stakeholder reports."""
