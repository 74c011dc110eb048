"""A small synthetic ticket-routing dataset, generated so a first-time user can click through
every step without data of their own. Every page that shows it labels it as synthetic."""

import json
import random
import zlib

INTENTS: dict[str, list[str]] = {
    "card_lost": [
        "I lost my {card} {when}",
        "my {card} was stolen {when}, please block it",
        "can't find my {card} anywhere",
        "someone took my {card} {when}, what do I do",
    ],
    "refund_request": [
        "I want a refund for {item}",
        "please give me my money back for {item}",
        "how do I get refunded for {item} {when}",
        "{item} was charged twice, refund please",
    ],
    "password_reset": [
        "I forgot my password for the {app}",
        "can't log in {when}, need to reset my password",
        "the password reset email never arrived {when}",
        "how do I change my password on the {app}",
    ],
    "delivery_status": [
        "where is my {card}, it has not arrived",
        "my new {card} still hasn't been delivered {when}",
        "how long does delivery of a {card} take",
        "tracking for my {card} shows nothing {when}",
    ],
    "cancel_subscription": [
        "cancel my {plan} plan",
        "I want to stop my {plan} subscription {when}",
        "how do I end the {plan} membership",
        "please close my {plan} account {when}",
    ],
    "billing_question": [
        "why was I charged for {item}",
        "what is this fee on my {plan} bill",
        "my invoice for {item} looks wrong",
        "explain the charge from {when}",
    ],
}
SLOTS = {
    "card": ["card", "debit card", "credit card", "virtual card", "bank card"],
    "when": ["yesterday", "today", "last week", "this morning", "two days ago", "on Monday"],
    "item": ["my order", "the subscription", "a hotel booking", "the last payment", "a train ticket"],
    "app": ["app", "website", "mobile app", "web portal"],
    "plan": ["premium", "family", "basic", "business", "student"],
}


def _fill(template: str, rng: random.Random) -> str:
    text = template.format(**{key: rng.choice(values) for key, values in SLOTS.items()})
    if rng.random() < 0.3:
        text = text.capitalize()
    if rng.random() < 0.3:
        text += rng.choice(["?", "!", " thanks", " asap", " pls"])
    return text


def _pool(text: str) -> str:
    """Each possible text belongs to one pool, so the demo's train, validation and test sets never share
    a text (a tenth each for validation and test)."""
    bucket = zlib.crc32(text.lower().encode()) % 10
    return {0: "validation", 5: "test"}.get(bucket, "train")


def demo_rows(*, per_intent: int, seed: int, pool: str = "train", ambiguous: float = 0.0) -> list[dict[str, str]]:
    """Up to `per_intent` distinct texts per intent, drawn from one pool ("train", "validation", "test").

    A share `ambiguous` of them asks for two things at once and carries either intent's label at random, as
    real tickets do: without them every model is certain of every row (confidence 1.0 in float32), so the
    demo's threshold, calibration and certificate would have nothing to show."""
    rng = random.Random(seed)
    rows = []
    for intent, templates in INTENTS.items():
        seen: set[str] = set()
        # A quota, not a coin per row: the plain texts of a small pool run out long before the mixed ones do.
        quota = {False: per_intent - round(ambiguous * per_intent), True: round(ambiguous * per_intent)}
        for _ in range(per_intent * 50):  # bounded: a small template space may run out of new texts
            if not any(quota.values()):
                break
            text, label = _fill(rng.choice(templates), rng), intent
            mixed = ambiguous > 0 and rng.random() < ambiguous  # no draw at 0: the plain sets stay as they were
            if mixed:
                other = rng.choice([name for name in INTENTS if name != intent])
                second = _fill(rng.choice(INTENTS[other]), rng)
                text = f"{text}{rng.choice([' and ', ', also ', '. Also '])}{second[0].lower()}{second[1:]}"
                label = rng.choice([intent, other])
            if quota[mixed] and _pool(text) == pool and text.lower() not in seen:
                seen.add(text.lower())
                quota[mixed] -= 1
                rows.append({"text": text, "label": label})
    rng.shuffle(rows)
    return rows


def demo_jsonl(*, per_intent: int, seed: int, pool: str = "train", ambiguous: float = 0.0) -> bytes:
    rows = demo_rows(per_intent=per_intent, seed=seed, pool=pool, ambiguous=ambiguous)
    return "".join(json.dumps(row) + "\n" for row in rows).encode()
