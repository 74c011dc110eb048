"""Turn an uploaded CSV or JSON Lines file into rows, or a DatasetFormatError that names the problem.

Plain Python on purpose (no Django) so the same code runs in a request, a Celery worker or a script.
Every error message is shown to users as it is: a full sentence naming the file and, where it
applies, the line and the column, plus what to do about it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

CSV = "csv"
JSONL = "jsonl"

_BOM = b"\xef\xbb\xbf"
_CSV_SUFFIXES = {".csv", ".tsv"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
_MAPPING_HINT = "Choose which column holds the text (and which the label) in the upload form."

# Characters that change how the text around them is displayed rather than what it says: an embedded
# right-to-left override makes a label read backwards (a spoofing risk on every page that shows it).
BIDI_CONTROLS = {
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE",
    "\u2068": "FIRST STRONG ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
}
_UNSAFE = re.compile("[\x00" + "".join(BIDI_CONTROLS) + "]")


class DatasetFormatError(ValueError):
    """A problem with an uploaded file that the user can fix. str(err) is a full sentence shown to users."""

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


# slots: a dataset can hold millions of rows, and slots roughly halve the memory each one takes.
@dataclass(frozen=True, slots=True)
class ParsedRow:
    text: str
    label: str | None  # None when the file is parsed without a label column
    line: int  # 1-based physical line in the file where the row starts (a CSV header is line 1)


@dataclass(frozen=True)
class ParsedDataset:
    format: str  # "csv" or "jsonl"
    columns: list[str]  # CSV header names, or the keys seen in JSONL objects in first-seen order
    rows: list[ParsedRow]


def check_dataset_extension(filename: str) -> None:
    """Refuse, by name, a file whose extension says it is neither CSV nor JSON Lines (notes.txt, data.xlsx).

    Read as CSV, such a file used to be refused for a missing column it never meant to have. A plain-text file
    of one example a line is not taken as a third format: a comma or quote in a text would change its meaning
    between readers, and JSON Lines already says it without doubt. A name without an extension is still
    sniffed (scripts and the API may send a bare name)."""
    suffix = PurePath(filename).suffix.lower()
    if suffix and suffix not in _CSV_SUFFIXES | _JSONL_SUFFIXES:
        raise DatasetFormatError(
            f"{PurePath(filename).name} is a {suffix} file: datasets are read from CSV (.csv, or .tsv for tabs) "
            "with a header row, or JSON Lines (.jsonl, .ndjson or .json: one JSON object a line), in UTF-8. "
            "If the file is one of these, rename it with that extension; if it holds one text a line, write each "
            'line as {"text": "…"} in a .jsonl file. Nothing was stored.'
        )


def detect_format(filename: str, head: bytes) -> str:
    """Return "csv" or "jsonl", by the extension or else by sniffing the first bytes ("{" means JSONL)."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return CSV
    if suffix in _JSONL_SUFFIXES:
        return JSONL
    return JSONL if head.removeprefix(_BOM).lstrip().startswith(b"{") else CSV


def parse_dataset(
    path: Path,
    *,
    filename: str,
    text_column: str = "text",
    label_column: str | None = "label",
    max_rows: int = 5_000_000,
) -> ParsedDataset:
    """Read every row of the uploaded file at `path`; `filename` is the name the user knows it by.

    With label_column=None (an unlabeled dataset) labels are ignored, even where the file has them.
    Raises DatasetFormatError for anything the user has to fix.
    """
    check_dataset_extension(filename)
    with path.open("rb") as raw:
        fmt = detect_format(filename, raw.read(1024))
        raw.seek(0)
        collector = _RowCollector(filename, text_column, label_column, max_rows)
        # Strict decoding, one buffer at a time, so a large file is never held in memory as bytes
        # and text at once. newline="" hands "\r\n", "\r" and "\n" through as they are: the csv
        # module needs that to keep newlines inside quoted fields, and JSON ignores a trailing "\r".
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        try:
            if fmt == CSV:
                delimiter = "\t" if PurePath(filename).suffix.lower() == ".tsv" else ","
                columns = _parse_csv(stream, collector, delimiter)
            else:
                columns = _parse_jsonl(stream, collector)
        except UnicodeDecodeError:
            # The decoder does not know line numbers, so go back and find the first bad line.
            raise _utf8_error(path, filename) from None
    return ParsedDataset(format=fmt, columns=columns, rows=collector.finish())


class _RowCollector:
    """Collects rows, counting the blank values so one error can report them all at the end."""

    def __init__(self, filename: str, text_column: str, label_column: str | None, max_rows: int) -> None:
        self.filename = filename
        self.text_column = text_column
        self.label_column = label_column
        self.max_rows = max_rows
        self.rows: list[ParsedRow] = []
        self.empty_text_lines = _Lines()
        self.empty_label_lines = _Lines()

    def add(self, text: str, label: str | None, line: int) -> None:
        if len(self.rows) >= self.max_rows:
            raise DatasetFormatError(
                f"{self.filename} has more than {self.max_rows:,} rows, the most one dataset can hold; "
                "split it into smaller files.",
                line=line,
            )
        text = text.strip()
        label = label.strip() if label is not None and self.label_column is not None else None
        self._refuse_unsafe(text, self.text_column, line)
        if label is not None and self.label_column is not None:
            self._refuse_unsafe(label, self.label_column, line)
        if not text:
            self.empty_text_lines.add(line)
        if self.label_column is not None and not label:
            self.empty_label_lines.add(line)
        self.rows.append(ParsedRow(text=text, label=label, line=line))

    def _refuse_unsafe(self, value: str, column: str, line: int) -> None:
        problem = unsafe_character(value)
        if problem is not None:
            raise DatasetFormatError(f"{self.filename} line {line}: '{column}' {problem}", line=line, column=column)

    def finish(self) -> list[ParsedRow]:
        if self.empty_text_lines.count:
            raise self._blank_error(self.empty_text_lines, "empty text", self.text_column)
        if self.label_column is not None and self.empty_label_lines.count:
            raise self._blank_error(self.empty_label_lines, "an empty label", self.label_column)
        return self.rows

    def _blank_error(self, lines: _Lines, what: str, column: str) -> DatasetFormatError:
        rows = "1 row" if lines.count == 1 else f"{lines.count:,} rows"
        return DatasetFormatError(
            f"{self.filename} has {rows} with {what} in '{column}'; the first is on line {lines.first}. "
            "Fill in or remove those rows and upload the file again.",
            line=lines.first,
            column=column,
        )


class _Lines:
    """The first line and the number of lines with a problem; a list could grow to millions."""

    def __init__(self) -> None:
        self.first = 0
        self.count = 0

    def add(self, line: int) -> None:
        if not self.count:
            self.first = line
        self.count += 1


def csv_records(stream: Iterable[str], *, filename: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(line a record starts on, its fields) for each non-blank CSV record; the first is the header.
    Every record after it must have as many fields as the header, or the file is refused naming the line."""
    # strict=True turns a quote that is never closed into an error instead of silently
    # swallowing the rest of the file into one field.
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    width: int | None = None
    while True:
        start_line = reader.line_num + 1  # a record can span lines; report the one it starts on
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            if "field larger than field limit" in str(err):
                raise _field_too_large(filename, start_line) from None
            raise DatasetFormatError(
                f"{filename} line {start_line} could not be read as CSV ({err}); "
                "check for a missing or extra quote character.",
                line=start_line,
            ) from None
        # Blank lines, and the ",,," rows spreadsheets leave at the end, are not rows.
        if not any(field.strip() for field in fields):
            continue
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise DatasetFormatError(
                f"{filename} line {start_line} has {len(fields)} fields but the header has {width}; "
                "put quotes around values that contain a comma or a quote.",
                line=start_line,
            )
        yield start_line, fields


def _field_too_large(filename: str, line: int) -> DatasetFormatError:
    limit = csv.field_size_limit()
    return DatasetFormatError(
        f"{filename} line {line} has a field longer than {limit:,} characters, the most one CSV field may hold. "
        "Shorten that text, or check that a quote opened on that line is closed: an unclosed quote makes the "
        "rest of the file one field.",
        line=line,
    )


def unsafe_character(value: str) -> str | None:
    """Why `value` can't be stored as a text or a label (the rest of a sentence), or None if it can: a NUL
    byte (tools that read C strings cut the text there) or a bidirectional control character."""
    found = _UNSAFE.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains a NUL byte (U+0000); remove it and upload the file again."
    return (
        f"contains the invisible character U+{ord(char):04X} ({BIDI_CONTROLS[char]}), which changes the direction "
        "text is displayed in, so what a page shows would differ from what is stored; remove it and upload "
        "the file again."
    )


def _parse_csv(stream: Iterable[str], collector: _RowCollector, delimiter: str) -> list[str]:
    filename = collector.filename
    header: list[str] | None = None
    text_index = 0
    label_index: int | None = None
    for start_line, fields in csv_records(stream, filename=filename, delimiter=delimiter):
        if header is None:
            header = [name.strip() for name in fields]
            text_index = _column_index(header, collector.text_column, filename, start_line)
            if collector.label_column is not None:
                label_index = _column_index(header, collector.label_column, filename, start_line)
            continue
        label = fields[label_index] if label_index is not None else None
        collector.add(fields[text_index], label, start_line)
    if header is None:
        raise DatasetFormatError(
            f"{filename} is empty: upload a CSV file with a header row and at least one row of data."
        )
    if not collector.rows:
        raise DatasetFormatError(f"{filename} has a header but no rows: add at least one row of data.")
    return header


def _column_index(header: list[str], name: str, filename: str, line: int) -> int:
    if name in header:
        return header.index(name)
    message = f"{filename} has no column '{name}'. Columns found: {', '.join(header)}. {_MAPPING_HINT}"
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        # Excel in many locales saves "CSV" with semicolons, which reads as one long column name.
        message += " The file seems to separate values with ';' or tabs: save it with commas instead."
    raise DatasetFormatError(message, line=line, column=name)


def _parse_jsonl(stream: Iterable[str], collector: _RowCollector) -> list[str]:
    filename = collector.filename
    columns: dict[str, None] = {}  # a dict keeps first-seen order
    for line_no, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        # A whole-file JSON array is the most common mistake; say so rather than only "invalid".
        hint = ""
        if not collector.rows and line.lstrip().startswith("["):
            hint = " The file looks like one JSON array; save it as JSON Lines, one object per line."
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise DatasetFormatError(
                f"{filename} line {line_no} is not valid JSON: {err.msg} (column {err.colno}).{hint}",
                line=line_no,
            ) from None
        if not isinstance(value, dict):
            raise DatasetFormatError(
                f"{filename} line {line_no} is {json_kind(value)}, "
                f"expected an object with {_expected_keys(collector)}.{hint}",
                line=line_no,
            )
        columns.update(dict.fromkeys(value))
        text = _json_value(value, collector.text_column, line_no, filename)
        if not isinstance(text, str):
            raise DatasetFormatError(
                f"{filename} line {line_no}: '{collector.text_column}' must be a string, not {json_kind(text)}.",
                line=line_no,
                column=collector.text_column,
            )
        label: str | None = None
        if collector.label_column is not None:
            raw_label = _json_value(value, collector.label_column, line_no, filename)
            # bool is a subclass of int, but true/false is almost certainly not a class label.
            if isinstance(raw_label, bool) or not isinstance(raw_label, (str, int)):
                raise DatasetFormatError(
                    f"{filename} line {line_no}: '{collector.label_column}' must be a string or a whole "
                    f"number, not {json_kind(raw_label)}.",
                    line=line_no,
                    column=collector.label_column,
                )
            label = str(raw_label)
        collector.add(text, label, line_no)
    if not collector.rows:
        raise DatasetFormatError(f"{filename} is empty: upload a file with one JSON object per line.")
    return list(columns)


def _json_value(obj: dict[str, Any], key: str, line_no: int, filename: str) -> Any:
    if key in obj:
        return obj[key]
    found = ", ".join(obj) if obj else "none"
    raise DatasetFormatError(
        f"{filename} line {line_no} has no '{key}' key. Keys found on that line: {found}. {_MAPPING_HINT}",
        line=line_no,
        column=key,
    )


def _expected_keys(collector: _RowCollector) -> str:
    if collector.label_column is None:
        return f"'{collector.text_column}'"
    return f"'{collector.text_column}' and '{collector.label_column}'"


def json_kind(value: Any) -> str:
    """How a message names a JSON value's type: 'a string', 'a JSON array', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a JSON array"
    return "a JSON object"


def _utf8_error(path: Path, filename: str) -> DatasetFormatError:
    """Find the first line that is not UTF-8, reading the file again one line at a time."""
    line_no = 1
    with path.open("rb") as raw:
        for index, chunk in enumerate(raw):
            if index == 0:
                chunk = chunk.removeprefix(_BOM)
            # Binary reads split on "\n" only, but the parser also ends a line at a lone "\r";
            # count those too so the number matches what the other messages say.
            # (UTF-8 never uses the bytes of "\r" or "\n" inside a multi-byte character.)
            for line in chunk.removesuffix(b"\n").removesuffix(b"\r").split(b"\r"):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as err:
                    return DatasetFormatError(
                        f"{filename} line {line_no} is not valid UTF-8 (byte 0x{line[err.start]:02x} at "
                        f"position {err.start + 1}); save the file as UTF-8 and upload it again.",
                        line=line_no,
                    )
                line_no += 1
    # Only reached if the file changed between the two reads.
    return DatasetFormatError(f"{filename} is not valid UTF-8; save the file as UTF-8 and upload it again.")


def decode_utf8(data: bytes, filename: str) -> str:
    """A whole upload as text (a leading BOM dropped), or an error naming the first line that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        line_start = data.rfind(b"\n", 0, err.start) + 1
        if line == 1 and data.startswith(_BOM):
            line_start = len(_BOM)
        raise DatasetFormatError(
            f"{filename} line {line} is not valid UTF-8 (byte 0x{data[err.start]:02x} at position "
            f"{err.start - line_start + 1}); save the file as UTF-8 and upload it again.",
            line=line,
        ) from None
