import pytest

from serving.payload import PayloadError, TooManyTexts, texts_from_body


def test_it_reads_a_list_of_texts_or_one_text():
    assert texts_from_body(b'{"texts": ["lost my card", "hotel"]}', max_texts=256) == ["lost my card", "hotel"]
    assert texts_from_body('{"text": "überweisung"}'.encode(), max_texts=256) == ["überweisung"]


def test_more_texts_than_allowed_is_its_own_error():
    with pytest.raises(TooManyTexts, match="3 texts in one request; at most 2"):
        texts_from_body(b'{"texts": ["a", "b", "c"]}', max_texts=2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"texts": ["a",', r"not valid JSON: .* \(line 1, column"),
        (b'"just a string"', "must be a JSON object"),
        (b'{"texts": {"a": 1}}', "must be a list"),
        (b'{"texts": ["a", true]}', r'"texts"\[1\] must be a string, not a boolean'),
        (b'{"texts": ["a", {"b": 1}]}', r'"texts"\[1\] must be a string, not an object'),
        (b'{"text": 12}', '"text" must be a string, not a number'),
        (b'{"text": "\\n\\t "}', '"text" is empty'),
        (b"{}", "exactly one"),
        (b'{"texts": ["a"], "model": "x"}', "Unknown field"),
        (b"\xc3\x28", "not UTF-8"),
    ],
)
def test_a_malformed_body_says_what_is_wrong(body, message):
    with pytest.raises(PayloadError, match=message):
        texts_from_body(body, max_texts=256)
