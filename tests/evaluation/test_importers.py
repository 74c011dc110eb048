import copy
import json
from typing import Any

import pytest

from webapp.evaluation.importers import (
    ExternalScore,
    parse_external_results,
    parse_lm_eval_json,
    parse_results_csv,
)
from webapp.registry.parsing import DatasetFormatError

R1 = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"


def csv_error(content: str | bytes, **kwargs: Any) -> DatasetFormatError:
    data = content.encode("utf-8") if isinstance(content, str) else content
    with pytest.raises(DatasetFormatError) as info:
        parse_results_csv(data, filename="scores.csv", **kwargs)
    return info.value


def csv_scores(content: str | bytes) -> list[ExternalScore]:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return parse_results_csv(data, filename="scores.csv")


# A results_<date>.json as lm-evaluation-harness 0.4.x writes it (trimmed: no samples, fewer subtasks).
LM_EVAL_RESULTS: dict[str, Any] = {
    "results": {
        "arc_easy": {
            "alias": "arc_easy",
            "acc,none": 0.6738,
            "acc_stderr,none": 0.0096,
            "acc_norm,none": 0.6246,
            "acc_norm_stderr,none": 0.0099,
        },
        "gsm8k": {
            "alias": "gsm8k",
            "exact_match,strict-match": 0.7043,
            "exact_match_stderr,strict-match": 0.0126,
            "exact_match,flexible-extract": 0.7415,
            "exact_match_stderr,flexible-extract": 0.0121,
        },
        "mmlu": {"acc,none": 0.3751, "acc_stderr,none": 0.0040, "alias": "mmlu"},
        "mmlu_humanities": {"acc,none": 0.3294, "acc_stderr,none": 0.0067, "alias": " - humanities"},
        "mmlu_formal_logic": {"alias": "  - formal_logic", "acc,none": 0.4286, "acc_stderr,none": 0.0443},
        "mmlu_stem": {"alias": " - stem"},
        "mmlu_abstract_algebra": {"alias": "  - abstract_algebra", "acc,none": 0.31, "acc_stderr,none": 0.0465},
        "boolq": {"alias": "boolq", "acc_stderr,none": "N/A", "mcc,none": -0.02, "acc,none": 0.6627},
    },
    "groups": {"mmlu": {"acc,none": 0.3751, "acc_stderr,none": 0.0040, "alias": "mmlu"}},
    "group_subtasks": {"mmlu_stem": ["mmlu_abstract_algebra"], "mmlu": ["mmlu_humanities", "mmlu_stem"]},
    "configs": {"arc_easy": {"task": "arc_easy", "dataset_path": "allenai/ai2_arc", "num_fewshot": 0}},
    "versions": {"arc_easy": 1.0, "gsm8k": 3.0, "mmlu": 2, "boolq": 2.0},
    "n-shot": {"arc_easy": 0, "gsm8k": 5, "boolq": 0},
    "higher_is_better": {"arc_easy": {"acc": True, "acc_norm": True}, "gsm8k": {"exact_match": True}},
    "n-samples": {"arc_easy": {"original": 2376, "effective": 2376}},
    "config": {
        "model": "hf",
        # Text copied from a real harness run elsewhere: the importer only reads the model name out of it.
        "model_args": f"pretrained={R1},dtype=bfloat16,trust_remote_code=True",
        "model_num_parameters": 1777088000,
        "model_dtype": "torch.bfloat16",
        "model_revision": "main",
        "model_sha": "ad9f0ae0864d7fbcd1cd905e3c6c5b069cc8b562",
        "batch_size": "auto",
        "batch_sizes": [64],
        "device": "cuda:0",
        "use_cache": None,
        "limit": None,
        "bootstrap_iters": 100000,
        "gen_kwargs": None,
        "random_seed": 0,
        "numpy_seed": 1234,
        "torch_seed": 1234,
        "fewshot_seed": 1234,
    },
    "git_hash": "8138fd52",
    "date": 1738150000.123,
    "transformers_version": "4.48.1",
    "lm_eval_version": "0.4.7",
    "max_length": 131072,
    "task_hashes": {},
    "model_source": "hf",
    "system_instruction": None,
    "chat_template": None,
    "total_evaluation_time_seconds": "1843.2",
}


def lm_eval(document: object = None, **kwargs: Any) -> list[ExternalScore]:
    document = LM_EVAL_RESULTS if document is None else document
    return parse_lm_eval_json(json.dumps(document).encode(), filename="results.json", **kwargs)


def lm_eval_error(data: object, **kwargs: Any) -> DatasetFormatError:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(DatasetFormatError) as info:
        parse_lm_eval_json(raw, filename="results.json", **kwargs)
    return info.value


def modified(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(LM_EVAL_RESULTS)
    document.update(changes)
    return document


# CSV: good files


def test_it_parses_a_csv_of_scores() -> None:
    assert csv_scores("model,benchmark,score\nqwen-0.5b,arc_easy,0.61\nqwen-0.5b,gsm8k,0\n") == [
        ExternalScore(model="qwen-0.5b", benchmark="arc_easy", score=0.61, params=None, metric="score"),
        ExternalScore(model="qwen-0.5b", benchmark="gsm8k", score=0.0, params=None, metric="score"),
    ]


def test_it_reads_percentages_params_suffixes_and_the_optional_columns() -> None:
    content = (
        "\ufeff Model ,BENCHMARK, Score ,Params,Metric,notes\n"
        "phi-2,arc_easy,87.3%,2.7B,acc_norm,from the paper\n"
        '"phi-2",gsm8k, 1 ,2.7b,,\n'
        "tiny,arc_easy,0 %,500K,acc,\n"
        "tiny-m,arc_easy,100%,125M,,\n"
        "exact,arc_easy,.5,1500000000,,\n"
        "blank-params,arc_easy,0.25,,,\n"
    )
    scores = csv_scores(content)
    assert [(s.model, s.benchmark, s.params, s.metric) for s in scores] == [
        ("phi-2", "arc_easy", 2_700_000_000, "acc_norm"),
        ("phi-2", "gsm8k", 2_700_000_000, "score"),
        ("tiny", "arc_easy", 500_000, "acc"),
        ("tiny-m", "arc_easy", 125_000_000, "score"),
        ("exact", "arc_easy", 1_500_000_000, "score"),
        ("blank-params", "arc_easy", None, "score"),
    ]
    assert [s.score for s in scores] == pytest.approx([0.873, 1.0, 0.0, 1.0, 0.5, 0.25])


def test_it_reads_a_fractional_params_suffix_exactly() -> None:
    scores = csv_scores("model,benchmark,score,params\na,b,0.5,1.5B\nc,b,0.5,0.5k\nd,b,0.5,1.777088B\n")
    assert [s.params for s in scores] == [1_500_000_000, 500, 1_777_088_000]


def test_it_skips_blank_lines_and_accepts_crlf() -> None:
    scores = csv_scores("model,benchmark,score\r\n\r\na,b,0.5\r\n,,\r\n")
    assert [(s.model, s.score) for s in scores] == [("a", 0.5)]


def test_it_drops_a_repeated_row_with_the_same_score() -> None:
    scores = csv_scores("model,benchmark,score\na,b,0.873\na,b,87.3%\na,c,0.1\n")
    assert [(s.model, s.benchmark) for s in scores] == [("a", "b"), ("a", "c")]


# CSV: bad files


def test_it_refuses_a_file_that_is_not_utf8() -> None:
    err = csv_error(b"model,benchmark,score\nb\xe9rt,arc,0.5\n")
    assert str(err) == (
        "scores.csv line 2 is not valid UTF-8 (byte 0xe9 at position 2); save the file as UTF-8 and upload it again."
    )
    assert err.line == 2


def test_it_refuses_an_empty_file() -> None:
    assert "scores.csv is empty" in str(csv_error(""))
    assert "scores.csv is empty" in str(csv_error("\n \n"))


def test_it_refuses_a_header_without_rows() -> None:
    assert "scores.csv has a header but no rows" in str(csv_error("model,benchmark,score\n"))


def test_it_lists_the_columns_found_when_a_required_one_is_missing() -> None:
    err = csv_error("name,task,score,params\na,b,0.5,1B\n")
    assert str(err) == (
        "scores.csv line 1: the header has no 'model', 'benchmark' columns. Columns found: 'name', 'task', "
        "'score', 'params'. The file needs the columns model, benchmark and score (params and metric are optional)."
    )
    assert (err.line, err.column) == (1, "model")


def test_it_hints_at_semicolons_when_the_header_is_one_column() -> None:
    err = csv_error("model;benchmark;score\na;b;0.5\n")
    assert "Columns found: 'model;benchmark;score'" in str(err)
    assert "separate values with ';'" in str(err)


def test_it_refuses_a_repeated_column() -> None:
    err = csv_error("model,benchmark,score,Score\na,b,0.5,0.6\n")
    assert "line 1: the header has 2 columns named 'score'" in str(err)


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (" ,arc,0.5,", "Model", "is empty; fill in the model"),
        ("a,  ,0.5,", "Benchmark", "is empty; fill in the benchmark"),
        ("a,arc,,", "Score", "is empty; fill in the score"),
        ("a,arc,high,", "Score", "'high' is not a number"),
        ("a,arc,nan,", "Score", "'nan' is not a number"),
        ('a,arc,"0,873",', "Score", "Use a dot as the decimal separator."),
        ("a,arc,87.3,", "Score", "'87.3' is more than 1; write it as a fraction between 0 and 1 (0.873) or"),
        ("a,arc,100,", "Score", "A bare number is never read as a percentage."),
        ("a,arc,101,", "Score", "'101' is out of range"),
        ("a,arc,-0.1,", "Score", "'-0.1' is out of range"),
        ("a,arc,101%,", "Score", "'101%' is not between 0% and 100%"),
        ("a,arc,-1%,", "Score", "'-1%' is not between 0% and 100%"),
        ("a,arc,0.5,lots", "Params", "'lots' is not a number of parameters"),
        ("a,arc,0.5,1.5", "Params", "'1.5' is not a number of parameters"),
        ("a,arc,0.5,1.5T", "Params", "write a whole number (1500000000) or one with a K, M or B suffix (1.5B)"),
        ("a,arc,0.5,0", "Params", "'0' is not a number of parameters"),
        ("a,arc,0.5,-3M", "Params", "'-3M' is not a number of parameters"),
    ],
)
def test_it_names_the_line_and_column_of_a_bad_value(row: str, column: str, words: str) -> None:
    err = csv_error(f"Model,Benchmark,Score,Params\nok,arc,0.5,1B\n{row}\n")
    assert str(err).startswith(f"scores.csv line 3, column '{column}': ")
    assert words in str(err)
    assert (err.line, err.column) == (3, column)


def test_it_refuses_a_repeated_pair_with_another_score() -> None:
    err = csv_error("model,benchmark,score\na,arc,0.5\nb,arc,0.5\na,arc,0.6\n")
    assert str(err) == (
        "scores.csv line 4, column 'score': model 'a' on benchmark 'arc' already has score 0.5 on line 2, "
        "and here 0.6; keep one row for each model and benchmark."
    )
    assert (err.line, err.column) == (4, "score")


def test_it_refuses_a_row_with_too_many_fields() -> None:
    err = csv_error("model,benchmark,score\na,arc,0,5\n")
    assert "scores.csv line 2 has 4 fields but the header has 3" in str(err)


def test_it_refuses_an_unclosed_quote() -> None:
    err = csv_error('model,benchmark,score\n"a,arc,0.5\n')
    assert "scores.csv line 2 could not be read as CSV" in str(err)


def test_it_refuses_more_than_the_most_rows() -> None:
    rows = "".join(f"m{i},arc,0.5\n" for i in range(10_001))
    err = csv_error("model,benchmark,score\n" + rows)
    assert str(err) == (
        "scores.csv has more than 10,000 rows, the most one upload can hold; split it into smaller files."
    )
    assert err.line == 10_002
    assert len(csv_scores("model,benchmark,score\n" + rows[: rows.index("m10000")])) == 10_000


# lm-evaluation-harness JSON


def test_it_keeps_one_preferred_metric_per_task() -> None:
    scores = {s.benchmark: s for s in lm_eval()}
    assert {name: (s.metric, s.score) for name, s in scores.items()} == {
        "arc_easy": ("acc_norm", 0.6246),  # acc_norm before acc
        "gsm8k": ("exact_match", 0.7043),  # strict-match before flexible-extract
        "mmlu": ("acc", 0.3751),  # a group with a score of its own is kept
        "mmlu_humanities": ("acc", 0.3294),
        "mmlu_formal_logic": ("acc", 0.4286),
        "mmlu_abstract_algebra": ("acc", 0.31),  # mmlu_stem has no numbers, so it is skipped
        "boolq": ("acc", 0.6627),  # acc before mcc; the "N/A" stderr is ignored
    }
    assert {(s.model, s.params) for s in scores.values()} == {(R1, 1_777_088_000)}


def test_it_prefers_the_none_filter_and_falls_back_to_other_metrics() -> None:
    document = modified(
        results={
            "gsm8k_cot": {
                "exact_match,flexible-extract": 0.5,
                "exact_match,custom": 0.6,
                "exact_match,none": 0.4,
                "exact_match,strict-match": 0.45,
            },
            "cola": {"alias": "cola", "mcc,none": -0.25, "mcc_stderr,none": 0.03},
            "squad": {"f1,none": 0.8, "contains,none": 0.7},
            "old_format": {"acc": 0.5, "acc_stderr": 0.01},
        }
    )
    assert [(s.benchmark, s.metric, s.score) for s in lm_eval(document)] == [
        ("gsm8k_cot", "exact_match", 0.4),
        ("cola", "mcc", -0.25),
        ("squad", "f1", 0.8),
        ("old_format", "acc", 0.5),
    ]


def test_the_model_name_argument_comes_first() -> None:
    scores = lm_eval(modified(model_name="someone/else"), model_name="  my-model ")
    assert {s.model for s in scores} == {"my-model"}


def test_the_top_level_model_name_comes_before_model_args() -> None:
    assert {s.model for s in lm_eval(modified(model_name="org/from-top-level"))} == {"org/from-top-level"}


def test_a_blank_model_name_falls_back_to_model_args() -> None:
    assert {s.model for s in lm_eval(modified(model_name=""), model_name=" ")} == {R1}


def test_model_args_can_be_an_object_or_name_an_api_model() -> None:
    config = {**LM_EVAL_RESULTS["config"], "model_args": {"pretrained": "org/as-dict", "dtype": "auto"}}
    assert {s.model for s in lm_eval(modified(config=config))} == {"org/as-dict"}
    config = {**LM_EVAL_RESULTS["config"], "model": "local-completions", "model_args": "model=gpt-x,base_url=u"}
    assert {s.model for s in lm_eval(modified(config=config))} == {"gpt-x"}


def test_it_asks_for_a_model_name_when_the_file_has_none() -> None:
    config = {**LM_EVAL_RESULTS["config"], "model_args": "dtype=bfloat16"}
    err = lm_eval_error(modified(config=config))
    assert str(err) == (
        'results.json does not say which model was evaluated (no "model_name", and no pretrained= in '
        "config.model_args); enter the model name and upload it again."
    )
    assert {s.model for s in lm_eval(modified(config=config), model_name="named")} == {"named"}
    assert lm_eval_error(modified(config=None)).message == str(err)


@pytest.mark.parametrize("value", [None, -1, 0, "1.7B", True, 1.5])
def test_params_are_none_unless_a_positive_whole_number(value: object) -> None:
    config = {**LM_EVAL_RESULTS["config"], "model_num_parameters": value}
    assert {s.params for s in lm_eval(modified(config=config))} == {None}


def test_params_may_be_a_whole_float() -> None:
    config = {**LM_EVAL_RESULTS["config"], "model_num_parameters": 1.5e9}
    assert {s.params for s in lm_eval(modified(config=config))} == {1_500_000_000}


def test_it_refuses_a_file_that_is_not_json() -> None:
    err = lm_eval_error(b'{"results": {\n  "arc_easy": {"acc,none": 0.5,}\n}}')
    assert str(err).startswith("results.json line 2 is not valid JSON: ")
    assert err.line == 2


def test_it_refuses_an_empty_or_non_utf8_file() -> None:
    assert str(lm_eval_error(b"  \n")).startswith("results.json is empty")
    assert lm_eval_error(b'{"model_name": "\xff"}').line == 1


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ([1, 2], "results.json holds a JSON array, not an lm-evaluation-harness results object"),
        ({"samples": []}, 'results.json has no "results" object'),
        ({"results": []}, 'results.json has no "results" object'),
        ({"results": {}}, 'results.json has an empty "results" object'),
        ({"results": {"mmlu": {"alias": "mmlu"}}}, 'results.json has no numeric metrics in "results"'),
        ({"results": {"arc_easy": 0.5}}, "results entry 'arc_easy' is a number, expected an object of metrics"),
    ],
)
def test_it_refuses_a_file_without_results(document: object, words: str) -> None:
    assert words in str(lm_eval_error(document, model_name="m"))


@pytest.mark.parametrize(
    ("key", "value"),
    [("acc,none", 67.38), ("acc_norm,none", -0.1), ("exact_match,flexible-extract", 1.5)],
)
def test_it_refuses_an_accuracy_outside_0_and_1(key: str, value: float) -> None:
    document = copy.deepcopy(LM_EVAL_RESULTS)
    document["results"]["arc_easy"][key] = value
    err = lm_eval_error(document)
    assert str(err).startswith(f"results.json: task 'arc_easy' has {key} = {value:g}, but ")
    assert "is a fraction between 0 and 1" in str(err)


# dispatch


def test_it_dispatches_by_extension() -> None:
    csv_data = b"model,benchmark,score\na,arc,0.5\n"
    json_data = json.dumps(LM_EVAL_RESULTS).encode()
    assert parse_external_results(csv_data, filename="Scores.CSV")[0].metric == "score"
    assert parse_external_results(json_data, filename="results_2025-01-29.json", model_name="x")[0].model == "x"
    with pytest.raises(DatasetFormatError, match="not valid JSON"):
        parse_external_results(csv_data, filename="scores.json")


def test_it_sniffs_json_by_the_first_brace() -> None:
    json_data = b"\xef\xbb\xbf \n" + json.dumps(LM_EVAL_RESULTS).encode()
    assert parse_external_results(json_data, filename="upload")[0].model == R1
    assert parse_external_results(b"model,benchmark,score\na,arc,0.5\n", filename="upload.txt")[0].model == "a"
