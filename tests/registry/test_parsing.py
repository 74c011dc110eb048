import json
from pathlib import Path

import pytest

from webapp.registry.parsing import DatasetFormatError, ParsedRow, detect_format, parse_dataset


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def parse(tmp_path: Path, name: str, content: str | bytes, **kwargs: object) -> list[ParsedRow]:
    return parse_dataset(write(tmp_path, name, content), filename=name, **kwargs).rows  # type: ignore[arg-type]


def error(tmp_path: Path, name: str, content: str | bytes, **kwargs: object) -> DatasetFormatError:
    with pytest.raises(DatasetFormatError) as info:
        parse_dataset(write(tmp_path, name, content), filename=name, **kwargs)  # type: ignore[arg-type]
    return info.value


def jsonl(*objects: object) -> str:
    return "".join(json.dumps(obj) + "\n" for obj in objects)


# detect_format


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("data.csv", "csv"),
        ("DATA.CSV", "csv"),
        ("data.tsv", "csv"),
        ("data.jsonl", "jsonl"),
        ("data.ndjson", "jsonl"),
        ("data.json", "jsonl"),
    ],
)
def test_it_detects_the_format_by_extension(filename: str, expected: str) -> None:
    assert detect_format(filename, b'{"text": "x"}' if expected == "csv" else b"text,label") == expected


def test_it_sniffs_jsonl_when_the_first_byte_is_a_brace() -> None:
    assert detect_format("upload", b'\xef\xbb\xbf  \n{"text": "hi"}') == "jsonl"


def test_it_sniffs_csv_otherwise() -> None:
    assert detect_format("upload.txt", b"text,label\nhi,greet\n") == "csv"
    assert detect_format("upload", b"") == "csv"


# CSV


def test_it_parses_a_csv_with_text_and_label(tmp_path: Path) -> None:
    dataset = parse_dataset(
        write(tmp_path, "d.csv", "id,text,label\n1,hello there,greet\n2,bye,farewell\n"), filename="d.csv"
    )
    assert dataset.format == "csv"
    assert dataset.columns == ["id", "text", "label"]
    assert dataset.rows == [
        ParsedRow(text="hello there", label="greet", line=2),
        ParsedRow(text="bye", label="farewell", line=3),
    ]


def test_it_uses_the_mapped_columns(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", "utterance,intent\nhi,greet\n", text_column="utterance", label_column="intent")
    assert rows == [ParsedRow(text="hi", label="greet", line=2)]


def test_it_strips_whitespace_around_text_and_label(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", 'text, label \n"  hello  ",  greet \n')
    assert rows == [ParsedRow(text="hello", label="greet", line=2)]


def test_it_keeps_the_start_line_of_a_multiline_csv_field(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", 'text,label\n"first\nsecond\nthird",a\nnext,b\n')
    assert rows == [
        ParsedRow(text="first\nsecond\nthird", label="a", line=2),
        ParsedRow(text="next", label="b", line=5),
    ]


def test_it_handles_quoted_commas_and_quotes(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", 'text,label\n"a, ""quoted"" text",x\n')
    assert rows[0].text == 'a, "quoted" text'


def test_it_handles_crlf_line_endings(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", 'text,label\r\nhi,a\r\n"two\r\nlines",b\r\nlast,c\r\n')
    assert [(row.text, row.line) for row in rows] == [("hi", 2), ("two\r\nlines", 3), ("last", 5)]


def test_it_skips_blank_lines_and_empty_spreadsheet_rows_but_counts_them(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", "text,label\n\nhi,a\n,\n\n")
    assert rows == [ParsedRow(text="hi", label="a", line=3)]


def test_it_reads_a_tsv_with_tabs(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.tsv", "text\tlabel\nhi, there\ta\n")
    assert rows == [ParsedRow(text="hi, there", label="a", line=2)]


def test_it_rejects_a_csv_without_a_text_column(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", "id,utterance,intent\n1,hi,greet\n")
    assert str(err) == (
        "d.csv has no column 'text'. Columns found: id, utterance, intent. "
        "Choose which column holds the text (and which the label) in the upload form."
    )
    assert err.column == "text"
    assert err.line == 1


def test_it_rejects_a_csv_without_a_label_column(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", "id,text\n1,hi\n")
    assert "d.csv has no column 'label'. Columns found: id, text." in str(err)
    assert "upload form" in str(err)
    assert err.column == "label"


def test_it_points_out_semicolon_separated_files(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", "text;label\nhi;a\n")
    assert "Columns found: text;label." in str(err)
    assert "save it with commas" in str(err)


def test_it_rejects_a_row_with_the_wrong_number_of_fields(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", "text,label\nhi,a\nhello, world,b\n")
    assert str(err).startswith("d.csv line 3 has 3 fields but the header has 2")
    assert err.line == 3


def test_it_names_the_line_of_an_unclosed_quote(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", 'text,label\nhi,a\n"never closed,b\nmore,c\n')
    assert str(err).startswith("d.csv line 3 could not be read as CSV")
    assert "quote" in str(err)
    assert err.line == 3


def test_it_ignores_labels_when_parsing_unlabeled(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", "text,label\nhi,a\nbye,\n", label_column=None)
    assert rows == [ParsedRow(text="hi", label=None, line=2), ParsedRow(text="bye", label=None, line=3)]


def test_it_does_not_need_a_label_column_when_unlabeled(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", "text\nhi\n", label_column=None)
    assert rows == [ParsedRow(text="hi", label=None, line=2)]


# Empty files


def test_it_rejects_a_zero_byte_file(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", b"")
    assert str(err).startswith("d.csv is empty: ")


def test_it_rejects_a_whitespace_only_file(tmp_path: Path) -> None:
    assert str(error(tmp_path, "d.csv", " \n\t\n\n")).startswith("d.csv is empty: ")
    assert str(error(tmp_path, "d.jsonl", " \n\n")).startswith("d.jsonl is empty: ")


def test_it_rejects_a_bom_only_file(tmp_path: Path) -> None:
    assert str(error(tmp_path, "d.csv", b"\xef\xbb\xbf")).startswith("d.csv is empty: ")


def test_it_rejects_a_csv_with_a_header_but_no_rows(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", "text,label\n\n")
    assert str(err).startswith("d.csv has a header but no rows")


# Encoding


def test_it_strips_a_utf8_bom(tmp_path: Path) -> None:
    dataset = parse_dataset(write(tmp_path, "d.csv", b"\xef\xbb\xbftext,label\nhi,a\n"), filename="d.csv")
    assert dataset.columns == ["text", "label"]
    assert dataset.rows == [ParsedRow(text="hi", label="a", line=2)]


def test_it_strips_a_utf8_bom_from_jsonl(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.jsonl", b'\xef\xbb\xbf{"text": "hi", "label": "a"}\n')
    assert rows == [ParsedRow(text="hi", label="a", line=1)]


def test_it_keeps_non_ascii_text(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", "text,label\ncafé ☕ 日本語,a\n")
    assert rows[0].text == "café ☕ 日本語"


def test_it_rejects_latin1_bytes_naming_the_line(tmp_path: Path) -> None:
    content = "text,label\nhello,a\nun café noir,b\n".encode("latin-1")
    err = error(tmp_path, "d.csv", content)
    assert str(err) == (
        "d.csv line 3 is not valid UTF-8 (byte 0xe9 at position 7); save the file as UTF-8 and upload it again."
    )
    assert err.line == 3


def test_it_names_the_line_of_bad_utf8_deep_in_a_large_file(tmp_path: Path) -> None:
    # Far past the decoder's first buffer, so the line has to be found by the second pass.
    good = "".join(f"row number {i},label\n" for i in range(20_000))
    content = b"text,label\n" + good.encode() + b"caf\xe9,x\n"
    err = error(tmp_path, "d.csv", content)
    assert str(err).startswith("d.csv line 20002 is not valid UTF-8 (byte 0xe9 at position 4)")


def test_it_counts_lines_after_a_bom_and_lone_carriage_returns_for_bad_utf8(tmp_path: Path) -> None:
    content = b"\xef\xbb\xbftext,label\rhi,a\r\xff,b\r"
    err = error(tmp_path, "d.csv", content)
    assert str(err).startswith("d.csv line 3 is not valid UTF-8 (byte 0xff at position 1)")


def test_it_rejects_bad_utf8_in_jsonl(tmp_path: Path) -> None:
    err = error(tmp_path, "d.jsonl", b'{"text": "ok", "label": "a"}\n{"text": "caf\xe9", "label": "a"}\n')
    assert err.line == 2
    assert "not valid UTF-8" in str(err)


# JSONL


def test_it_parses_jsonl(tmp_path: Path) -> None:
    content = jsonl({"id": 1, "text": " hi ", "label": "greet"}, {"text": "bye", "label": "farewell", "x": 0})
    dataset = parse_dataset(write(tmp_path, "d.jsonl", content), filename="d.jsonl")
    assert dataset.format == "jsonl"
    assert dataset.columns == ["id", "text", "label", "x"]
    assert dataset.rows == [
        ParsedRow(text="hi", label="greet", line=1),
        ParsedRow(text="bye", label="farewell", line=2),
    ]


def test_it_sniffs_jsonl_without_an_extension(tmp_path: Path) -> None:
    dataset = parse_dataset(write(tmp_path, "upload", jsonl({"text": "hi", "label": "a"})), filename="upload")
    assert dataset.format == "jsonl"


@pytest.mark.parametrize("name", ["notes.txt", "export.XLSX", "data.parquet"])
def test_it_refuses_an_extension_that_is_neither_csv_nor_jsonl_by_name(tmp_path: Path, name: str) -> None:
    err = error(tmp_path, name, "text,label\nhi,greet\n")
    suffix = name[name.rindex(".") :].lower()
    assert str(err).startswith(f"{name} is a {suffix} file: datasets are read from CSV")


def test_it_skips_blank_jsonl_lines_keeping_line_numbers(tmp_path: Path) -> None:
    content = '\n{"text": "a", "label": "x"}\n   \n{"text": "b", "label": "y"}\n\n'
    rows = parse(tmp_path, "d.jsonl", content)
    assert [row.line for row in rows] == [2, 4]


def test_it_names_the_line_of_invalid_json(tmp_path: Path) -> None:
    content = jsonl({"text": "a", "label": "x"}) + '{"text": "b" "label": "y"}\n'
    err = error(tmp_path, "d.jsonl", content)
    assert str(err) == "d.jsonl line 2 is not valid JSON: Expecting ',' delimiter (column 14)."
    assert err.line == 2


def test_it_rejects_a_json_array_line(tmp_path: Path) -> None:
    content = jsonl({"text": "a", "label": "x"}, ["b", "y"])
    err = error(tmp_path, "d.jsonl", content)
    assert str(err) == "d.jsonl line 2 is a JSON array, expected an object with 'text' and 'label'."


def test_it_explains_a_whole_file_json_array(tmp_path: Path) -> None:
    err = error(tmp_path, "d.json", '[\n  {"text": "a", "label": "x"}\n]\n')
    assert str(err).startswith("d.json line 1 is not valid JSON")
    assert "JSON Lines" in str(err)


@pytest.mark.parametrize(("value", "kind"), [('"hi"', "a string"), ("3", "a number"), ("null", "null")])
def test_it_rejects_other_non_object_lines(tmp_path: Path, value: str, kind: str) -> None:
    err = error(tmp_path, "d.jsonl", value + "\n")
    assert str(err).startswith(f"d.jsonl line 1 is {kind}, expected an object")


def test_it_rejects_a_jsonl_line_without_the_text_key(tmp_path: Path) -> None:
    content = jsonl({"text": "a", "label": "x"}, {"utterance": "b", "label": "y"})
    err = error(tmp_path, "d.jsonl", content)
    assert str(err).startswith(
        "d.jsonl line 2 has no 'text' key. Keys found on that line: utterance, label. Choose which"
    )
    assert (err.line, err.column) == (2, "text")


def test_it_rejects_a_jsonl_line_without_the_label_key(tmp_path: Path) -> None:
    err = error(tmp_path, "d.jsonl", jsonl({"text": "a"}))
    assert str(err).startswith("d.jsonl line 1 has no 'label' key.")
    assert err.column == "label"


def test_it_uses_mapped_jsonl_keys(tmp_path: Path) -> None:
    rows = parse(
        tmp_path,
        "d.jsonl",
        jsonl({"utterance": "hi", "intent": "greet"}),
        text_column="utterance",
        label_column="intent",
    )
    assert rows == [ParsedRow(text="hi", label="greet", line=1)]


def test_it_rejects_non_string_text(tmp_path: Path) -> None:
    err = error(tmp_path, "d.jsonl", jsonl({"text": 12, "label": "a"}))
    assert str(err) == "d.jsonl line 1: 'text' must be a string, not a number."


def test_it_converts_integer_labels_to_strings(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.jsonl", jsonl({"text": "hi", "label": 0}, {"text": "bye", "label": 1}))
    assert [row.label for row in rows] == ["0", "1"]


@pytest.mark.parametrize(
    ("label", "kind"), [(True, "true or false"), (1.5, "a number"), (None, "null"), (["a"], "a JSON array")]
)
def test_it_rejects_labels_that_are_not_strings_or_integers(tmp_path: Path, label: object, kind: str) -> None:
    err = error(tmp_path, "d.jsonl", jsonl({"text": "ok", "label": "a"}, {"text": "hi", "label": label}))
    assert str(err) == f"d.jsonl line 2: 'label' must be a string or a whole number, not {kind}."
    assert err.line == 2


def test_it_ignores_jsonl_labels_when_unlabeled(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.jsonl", jsonl({"text": "hi", "label": None}, {"text": "bye"}), label_column=None)
    assert rows == [ParsedRow(text="hi", label=None, line=1), ParsedRow(text="bye", label=None, line=2)]


# Empty values and limits


def test_it_rejects_empty_text_naming_the_first_line_and_the_count(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", 'text,label\nhi,a\n"  ",b\nok,c\n,d\n')
    assert str(err) == (
        "d.csv has 2 rows with empty text in 'text'; the first is on line 3. "
        "Fill in or remove those rows and upload the file again."
    )
    assert (err.line, err.column) == (3, "text")


def test_it_rejects_empty_text_in_jsonl(tmp_path: Path) -> None:
    err = error(tmp_path, "d.jsonl", jsonl({"text": "ok", "label": "a"}, {"text": " ", "label": "a"}))
    assert str(err).startswith("d.jsonl has 1 row with empty text in 'text'; the first is on line 2.")


def test_it_rejects_empty_labels_naming_the_first_line_and_the_count(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", "text,label\nhi,\nyo,a\nbye, \n")
    assert str(err).startswith("d.csv has 2 rows with an empty label in 'label'; the first is on line 2.")
    assert (err.line, err.column) == (2, "label")


def test_it_rejects_empty_string_labels_in_jsonl(tmp_path: Path) -> None:
    err = error(tmp_path, "d.jsonl", jsonl({"text": "hi", "label": ""}))
    assert str(err).startswith("d.jsonl has 1 row with an empty label in 'label'; the first is on line 1.")


def test_it_accepts_exactly_max_rows(tmp_path: Path) -> None:
    assert len(parse(tmp_path, "d.csv", "text,label\na,x\nb,y\n", max_rows=2)) == 2


def test_it_rejects_more_than_max_rows(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", "text,label\na,x\nb,y\nc,z\n", max_rows=2)
    assert str(err).startswith("d.csv has more than 2 rows")
    assert err.line == 4


def test_the_error_is_a_value_error_with_optional_location() -> None:
    err = DatasetFormatError("Something is wrong.")
    assert isinstance(err, ValueError)
    assert str(err) == "Something is wrong."
    assert (err.line, err.column) == (None, None)


# characters that are refused


@pytest.mark.parametrize(
    "char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)
def test_it_rejects_a_label_with_a_bidirectional_control_naming_the_line(tmp_path: Path, char: str) -> None:
    err = error(tmp_path, "d.csv", f"text,label\nhello,travel\nhi,{char}gnikna{char}b\n")

    assert err.line == 3 and err.column == "label"
    assert "d.csv line 3" in str(err) and f"U+{ord(char):04X}" in str(err)


def test_it_rejects_a_text_with_a_right_to_left_override_in_jsonl(tmp_path: Path) -> None:
    err = error(tmp_path, "d.jsonl", jsonl({"text": "ok", "label": "a"}, {"text": "pay \u202etxt.exe", "label": "a"}))

    assert err.line == 2 and err.column == "text"
    assert "RIGHT-TO-LEFT OVERRIDE" in str(err)


def test_it_rejects_a_nul_byte_in_a_csv_text_naming_the_line(tmp_path: Path) -> None:
    err = error(tmp_path, "d.csv", "text,label\nfine,a\nbro\x00ken,a\n")

    assert err.line == 3 and "NUL byte" in str(err)


def test_it_rejects_an_escaped_nul_in_jsonl(tmp_path: Path) -> None:
    err = error(tmp_path, "d.jsonl", '{"text": "a\\u0000b", "label": "x"}\n')

    assert err.line == 1 and "NUL byte" in str(err)


def test_it_accepts_right_to_left_scripts_without_controls(tmp_path: Path) -> None:
    rows = parse(tmp_path, "d.csv", "text,label\nשלום עולם,greeting\nمرحبا,greeting\n")

    assert [row.text for row in rows] == ["שלום עולם", "مرحبا"]


def test_a_field_over_the_csv_size_limit_names_the_line_and_the_limit(tmp_path: Path) -> None:
    huge = "x" * 200_000

    err = error(tmp_path, "d.csv", f'text,label\nshort,a\n"{huge}",a\n')

    assert err.line == 3
    assert "line 3 has a field longer than 131,072 characters" in str(err)
    assert "missing or extra quote" not in str(err)
