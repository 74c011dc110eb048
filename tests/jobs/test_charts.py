"""Chart figures are plotly figure objects built from stored data: testable without a browser."""

from webapp.jobs.charts import metric_series, token_length_figure, training_curves_figure


def test_metric_points_become_series_in_step_order() -> None:
    series = metric_series([("train_loss", 1, 2.0), ("val_accuracy", 5, 0.5), ("train_loss", 2, 1.5)])
    assert series == {"train_loss": {"x": [1, 2], "y": [2.0, 1.5]}, "val_accuracy": {"x": [5], "y": [0.5]}}


def test_the_curves_chart_shows_losses_left_and_accuracy_right_and_skips_other_metrics() -> None:
    figure = training_curves_figure(metric_series([("train_loss", 1, 2.0), ("learning_rate", 1, 1e-4)]))
    traces = {t.meta: t for t in figure.data}  # the metric's key, which the page extends the curve by
    assert set(traces) == {"train_loss", "val_loss", "val_accuracy"}
    assert [t.name for t in figure.data] == ["training loss", "validation loss", "validation accuracy (right axis)"]
    assert traces["train_loss"].y == (2.0,) and traces["val_loss"].y == (None,)
    assert traces["val_accuracy"].yaxis == "y2" and traces["train_loss"].yaxis == "y"
    assert figure.layout.yaxis2.overlaying == "y" and figure.layout.yaxis2.range == (0, 1)


def test_the_curves_page_can_extend_even_the_empty_curves_and_names_them_before_their_first_point() -> None:
    """Plotly.extendTraces needs an x and a y array on every trace; plotly.js leaves a trace without points
    out of the legend, so an empty curve holds one null point (drawn as nothing)."""
    payload = training_curves_figure({}).to_plotly_json()

    assert all(trace["x"] == [None] and trace["y"] == [None] for trace in payload["data"])


def test_the_token_length_chart_marks_max_length() -> None:
    figure = token_length_figure({"histogram": {"edges": [0, 10, 20], "counts": [3, 1]}, "max_length": 16})

    assert figure.data[0].x == (5, 15) and figure.data[0].y == (3, 1) and figure.data[0].width == (10, 10)
    assert figure.layout.shapes[0].x0 == 16 and figure.layout.annotations[0].text == "max_length 16"


def test_the_curves_chart_always_has_a_legend() -> None:
    assert training_curves_figure({}).layout.showlegend is True
