"""Figures for job results (pure functions over the stored result dict)."""

from typing import Any

from webapp.registry.charts import Figure, histogram_figure


def token_length_figure(result: dict[str, Any]) -> Figure:
    return histogram_figure(
        result.get("histogram", {}),
        title="Tokens per row (teacher's tokenizer, before truncation)",
        x_title="tokens",
        marker_x=result.get("max_length"),
    )
