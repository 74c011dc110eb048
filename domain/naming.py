"""Names for the models jobs make. Short, so a name fits a table cell, a chart legend and a dropdown at
1280 px; what a name leaves out (the base's full description, the teacher layers kept, the package a preset
comes from) stays on the model's row and its job, one click away."""

# A generated name stays under this; a longer one a user typed is shortened for display (see `shorten`).
NAME_LIMIT = 48


def shorten(name: str, limit: int = NAME_LIMIT) -> str:
    """`name` cut at a word boundary to at most `limit` characters, with an ellipsis when cut."""
    name = " ".join(name.split())
    if len(name) <= limit:
        return name
    cut = name[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:  # a word boundary not too far back: cut there rather than mid-word
        cut = cut[:space]
    return cut.rstrip(" ,;:·-(") + "…"


def finetuned_teacher_name(base_name: str, job_id: int) -> str:
    """ "all-MiniLM-L6-v2 fine-tuned (job 2)"."""
    return f"{shorten(base_name, 24)} fine-tuned (job {job_id})"


def student_name(construction: str, layers: int, job_id: int, *, pretrained_name: str = "") -> str:
    """ "2-layer truncated student (job 4)"; a pretrained student is named after its model."""
    if construction == "pretrained" and pretrained_name:
        return f"{shorten(pretrained_name, 24)} student (job {job_id})"
    kind = {"truncated": "truncated", "scratch": "from-scratch"}.get(construction, construction)
    return f"{layers}-layer {kind} student (job {job_id})"


def quantized_name(student_name: str, method: str = "int8") -> str:
    return f"{shorten(student_name, NAME_LIMIT - 7)} · {method}"
