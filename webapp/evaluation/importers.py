"""Read scores of models evaluated elsewhere, so they can sit in the same tier table as ours.

Two formats: a plain CSV (model, benchmark, score and optional params, metric columns), and the
results JSON that EleutherAI's lm-evaluation-harness (v0.4.x) writes. Plain Python on purpose
(no Django), like webapp.registry.parsing: every problem is a DatasetFormatError whose message is a
full sentence shown to users, naming the file and, where it applies, the line and the column.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from webapp.registry.parsing import DatasetFormatError, csv_records, decode_utf8, json_kind

MAX_CSV_ROWS = 10_000

_BOM = b"\xef\xbb\xbf"
_REQUIRED_COLUMNS = ("model", "benchmark", "score")
_OPTIONAL_COLUMNS = ("params", "metric")
_CSV_METRIC = "score"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PARAMS = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<suffix>[kmb]?)", re.IGNORECASE)
_PARAMS_SUFFIXES = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_SCORE_HINT = "write it as a fraction between 0 and 1 (0.873) or as a percentage with a % sign (87.3%)"

# lm-evaluation-harness: one metric per task, by these preferences. A key reads "metric,filter".
_METRIC_PREFERENCE = ("acc_norm", "acc", "exact_match")
_FILTER_PREFERENCE = ("none", "strict-match", "flexible-extract")
_FRACTION_METRICS = frozenset(_METRIC_PREFERENCE)  # always between 0 and 1; others (mcc, ...) need not be


@dataclass(frozen=True)
class ExternalScore:
    model: str
    benchmark: str
    score: float  # a fraction between 0 and 1 for "score" (CSV) and the accuracy-like metrics
    params: int | None  # number of parameters, None when the file does not say
    metric: str  # "score" for CSV (unless it has a metric column), else e.g. "acc_norm", "exact_match"


def parse_external_results(data: bytes, *, filename: str, model_name: str = "") -> list[ExternalScore]:
    """Parse an uploaded results file: by extension (.csv, .json), else JSON when it starts with "{".

    `model_name` only applies to lm-evaluation-harness JSON; a CSV names the model on each row.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        return parse_results_csv(data, filename=filename)
    if suffix == ".json":
        return parse_lm_eval_json(data, filename=filename, model_name=model_name)
    if data.removeprefix(_BOM).lstrip().startswith(b"{"):
        return parse_lm_eval_json(data, filename=filename, model_name=model_name)
    return parse_results_csv(data, filename=filename)


# CSV


def parse_results_csv(data: bytes, *, filename: str, max_rows: int = MAX_CSV_ROWS) -> list[ExternalScore]:
    """Parse a CSV with columns model, benchmark, score and optionally params and metric (any case).

    A score is a fraction in [0, 1] or a percentage with a "%" sign; a bare number above 1 is refused
    rather than guessed at. params is a whole number, or one with a K, M or B suffix ("1.5B").
    Rows repeating a model and benchmark with the same score are dropped; with another score, refused.
    """
    text = decode_utf8(data, filename)
    header: list[str] | None = None
    columns: dict[str, int] = {}
    scores: list[ExternalScore] = []
    first_seen: dict[tuple[str, str], tuple[int, float]] = {}
    for line, fields in csv_records(io.StringIO(text, newline=""), filename=filename):
        if header is None:
            header = [name.strip() for name in fields]
            columns = _csv_columns(header, filename, line)
            continue
        if len(scores) >= max_rows:
            raise DatasetFormatError(
                f"{filename} has more than {max_rows:,} rows, the most one upload can hold; "
                "split it into smaller files.",
                line=line,
            )
        row = _CsvRow(fields, header, columns, filename, line)
        score = ExternalScore(
            model=row.required("model"),
            benchmark=row.required("benchmark"),
            score=row.score(),
            params=row.params(),
            metric=row.optional("metric") or _CSV_METRIC,
        )
        key = (score.model, score.benchmark)
        if key in first_seen:
            first_line, first_score = first_seen[key]
            if math.isclose(first_score, score.score, rel_tol=1e-9, abs_tol=1e-12):
                continue  # the same row twice, e.g. "0.873" and "87.3%"
            raise DatasetFormatError(
                f"{filename} line {line}, column '{header[columns['score']]}': model '{score.model}' on benchmark "
                f"'{score.benchmark}' already has score {first_score:g} on line {first_line}, and here "
                f"{score.score:g}; keep one row for each model and benchmark.",
                line=line,
                column=header[columns["score"]],
            )
        first_seen[key] = (line, score.score)
        scores.append(score)
    if header is None:
        raise DatasetFormatError(
            f"{filename} is empty: upload a CSV file with a header row (model, benchmark, score) "
            "and at least one row of scores."
        )
    if not scores:
        raise DatasetFormatError(f"{filename} has a header but no rows: add at least one row of scores.")
    return scores


def _csv_columns(header: list[str], filename: str, line: int) -> dict[str, int]:
    """Map each known column name (lower case) to its index; refuse a missing or repeated one."""
    columns: dict[str, int] = {}
    for name in (*_REQUIRED_COLUMNS, *_OPTIONAL_COLUMNS):
        indexes = [index for index, found in enumerate(header) if found.lower() == name]
        if len(indexes) > 1:
            raise DatasetFormatError(
                f"{filename} line {line}: the header has {len(indexes)} columns named '{name}'; keep only one.",
                line=line,
                column=name,
            )
        if indexes:
            columns[name] = indexes[0]
    missing = [name for name in _REQUIRED_COLUMNS if name not in columns]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        found = ", ".join(f"'{name}'" for name in header if name) or "none"
        message = (
            f"{filename} line {line}: the header has no {names} column{'s' if len(missing) > 1 else ''}. "
            f"Columns found: {found}. The file needs the columns model, benchmark and score "
            "(params and metric are optional)."
        )
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            message += " The file seems to separate values with ';' or tabs: save it with commas instead."
        raise DatasetFormatError(message, line=line, column=missing[0])
    return columns


class _CsvRow:
    """One data row, with the column checks that name the file, line and column when they fail."""

    def __init__(self, fields: list[str], header: list[str], columns: dict[str, int], filename: str, line: int) -> None:
        self.fields = fields
        self.header = header
        self.columns = columns
        self.filename = filename
        self.line = line

    def optional(self, name: str) -> str:
        index = self.columns.get(name)
        return "" if index is None else self.fields[index].strip()

    def required(self, name: str) -> str:
        value = self.optional(name)
        if not value:
            raise self._error(name, f"is empty; fill in the {name} or remove the row.")
        return value

    def score(self) -> float:
        raw = self.required("score")
        number, percent = raw, raw.endswith("%")
        if percent:
            number = raw[:-1].strip()
        if not _NUMBER.fullmatch(number):
            hint = " Use a dot as the decimal separator." if re.fullmatch(r"\d+,\d+", number) else ""
            raise self._error("score", f"'{raw}' is not a number; {_SCORE_HINT}.{hint}")
        value = float(number)
        if percent:
            if not 0 <= value <= 100:
                raise self._error("score", f"'{raw}' is not between 0% and 100%; {_SCORE_HINT}.")
            return value / 100
        if 1 < value <= 100:
            raise self._error(
                "score",
                f"'{raw}' is more than 1; {_SCORE_HINT}. A bare number is never read as a percentage.",
            )
        if not 0 <= value <= 1:
            raise self._error("score", f"'{raw}' is out of range; {_SCORE_HINT}.")
        return value

    def params(self) -> int | None:
        raw = self.optional("params")
        if not raw:
            return None
        match = _PARAMS.fullmatch(raw)
        count: int | None = None
        if match:
            exact = Decimal(match["number"]) * _PARAMS_SUFFIXES[match["suffix"].lower()]
            # "1.5" on its own is not a parameter count; "1.5B" is.
            if exact >= 1 and (match["suffix"] or "." not in match["number"]):
                count = int(exact.to_integral_value())
        if count is None:
            raise self._error(
                "params",
                f"'{raw}' is not a number of parameters; write a whole number (1500000000) "
                "or one with a K, M or B suffix (1.5B), or leave it empty.",
            )
        return count

    def _error(self, name: str, problem: str) -> DatasetFormatError:
        column = self.header[self.columns[name]]
        return DatasetFormatError(
            f"{self.filename} line {self.line}, column '{column}': {problem}", line=self.line, column=column
        )


# lm-evaluation-harness results JSON


def parse_lm_eval_json(data: bytes, *, filename: str, model_name: str = "") -> list[ExternalScore]:
    """Parse the results JSON of lm-evaluation-harness v0.4.x: one score per task in "results".

    The model is `model_name` if given, else the file's "model_name", else the pretrained= (or model=)
    value of config.model_args. Each task keeps one metric: acc_norm, then acc, then exact_match, then
    the first other number; among filters "none", then "strict-match", then "flexible-extract".
    Group entries without numbers of their own are skipped. The benchmark is the task key.
    """
    text = decode_utf8(data, filename)
    if not text.strip():
        raise DatasetFormatError(
            f"{filename} is empty: upload the results_*.json file that lm-evaluation-harness wrote."
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetFormatError(
            f"{filename} line {err.lineno} is not valid JSON: {err.msg} (column {err.colno}). "
            "Upload the results_*.json file that lm-evaluation-harness wrote, unchanged.",
            line=err.lineno,
        ) from None
    if not isinstance(document, dict):
        raise DatasetFormatError(
            f"{filename} holds {json_kind(document)}, not an lm-evaluation-harness results object; "
            "upload the results_*.json file that lm-evaluation-harness wrote, or a CSV of scores."
        )
    results = document.get("results")
    if not isinstance(results, dict):
        raise DatasetFormatError(
            f'{filename} has no "results" object, so it is not an lm-evaluation-harness results file; '
            "upload the results_*.json file it wrote (not the samples file), or a CSV of scores."
        )
    if not results:
        raise DatasetFormatError(f'{filename} has an empty "results" object: it holds no scores to import.')
    config = document.get("config")
    config = config if isinstance(config, dict) else {}
    model = _lm_eval_model(document, config, filename, model_name)
    params = _lm_eval_params(config)
    scores: list[ExternalScore] = []
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            raise DatasetFormatError(
                f"{filename}: results entry '{task}' is {json_kind(metrics)}, expected an object of metrics; "
                "upload the file as lm-evaluation-harness wrote it."
            )
        chosen = _choose_metric(task, metrics, filename)
        if chosen is not None:
            metric, value = chosen
            scores.append(ExternalScore(model=model, benchmark=task, score=value, params=params, metric=metric))
    if not scores:
        raise DatasetFormatError(f'{filename} has no numeric metrics in "results": it holds no scores to import.')
    return scores


def _lm_eval_model(document: Mapping[str, Any], config: Mapping[str, Any], filename: str, given: str) -> str:
    if given.strip():
        return given.strip()
    named = document.get("model_name")
    if isinstance(named, str) and named.strip():
        return named.strip()
    model_args = _model_args(config.get("model_args"))
    for key in ("pretrained", "model"):  # "model=" is what the API-backed model types take
        value = model_args.get(key, "").strip()
        if value:
            return value
    raise DatasetFormatError(
        f'{filename} does not say which model was evaluated (no "model_name", and no pretrained= in '
        "config.model_args); enter the model name and upload it again."
    )


def _model_args(raw: object) -> dict[str, str]:
    """config.model_args is "pretrained=org/name,dtype=bfloat16", or already an object in newer versions."""
    if isinstance(raw, dict):
        return {str(key): value for key, value in raw.items() if isinstance(value, str)}
    if not isinstance(raw, str):
        return {}
    args: dict[str, str] = {}
    for part in raw.split(","):
        key, sep, value = part.partition("=")
        if sep:
            args.setdefault(key.strip(), value)
    return args


def _lm_eval_params(config: Mapping[str, Any]) -> int | None:
    raw = config.get("model_num_parameters")
    # Some model types write -1 for "unknown"; a float like 1.5e9 is accepted when it is whole.
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        return None
    if raw < 1 or raw != int(raw):
        return None
    return int(raw)


def _choose_metric(task: str, metrics: Mapping[str, Any], filename: str) -> tuple[str, float] | None:
    """The preferred (metric, value) of one task, or None for a group entry with no numbers of its own."""
    best: tuple[tuple[int, int, int], str, float] | None = None
    for position, (key, value) in enumerate(metrics.items()):
        metric, _, filter_name = key.partition(",")
        if key == "alias" or metric.endswith("_stderr"):
            continue
        # Skip "N/A" and the like (lm-eval writes that for a stderr it could not compute); bool is not a score.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if metric in _FRACTION_METRICS and not 0 <= value <= 1:
            raise DatasetFormatError(
                f"{filename}: task '{task}' has {key} = {value:g}, but {metric} is a fraction between 0 and 1; "
                "upload the file as lm-evaluation-harness wrote it."
            )
        rank = (_rank(metric, _METRIC_PREFERENCE), _rank(filter_name or "none", _FILTER_PREFERENCE), position)
        if best is None or rank < best[0]:
            best = (rank, metric, float(value))
    return None if best is None else (best[1], best[2])


def _rank(name: str, preference: tuple[str, ...]) -> int:
    return preference.index(name) if name in preference else len(preference)
