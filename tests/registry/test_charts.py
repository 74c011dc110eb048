"""A dataset's charts are plotly figures built from its stored stats."""

from webapp.registry.charts import histogram_figure, label_distribution_figure


def test_the_label_chart_keeps_labels_as_categories_in_stored_order() -> None:
    figure = label_distribution_figure({"label_counts": [["10", 7], ["banking", 3]]})

    bars = figure.data[0]
    assert bars.type == "bar" and bars.x == ("10", "banking") and bars.y == (7, 3)
    assert figure.layout.xaxis.type == "category"  # a label named "10" is not a number on an axis


def test_a_histogram_draws_each_bin_at_its_centre_and_width_without_a_marker() -> None:
    figure = histogram_figure({"edges": [0, 4, 12], "counts": [2, 5]}, title="Text length", x_title="characters")

    assert figure.data[0].x == (2, 8) and figure.data[0].width == (4, 8)
    assert figure.layout.xaxis.title.text == "characters" and figure.layout.shapes == ()


def test_an_empty_histogram_is_an_empty_chart_not_an_error() -> None:
    figure = histogram_figure({}, title="Text length", x_title="characters")

    assert figure.data[0].x == () and figure.data[0].y == ()
