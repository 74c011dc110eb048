"""The serving process: answers predictions for deployments with the student-first cascade.

It runs apart from the dashboard (`python -m serving`, started by `make run` next to Daphne and Celery), and
as many copies as needed can run behind a load balancer: a process keeps nothing another one must see. The
database is the truth: every request looks its key up there (so a revoked deployment or a rotated key stops
answering at once, in every process), and every decision is written there (`ServedDecision`).

How a request flows (one asyncio event loop per process; nothing blocking runs on it):

    POST /v1/deployments/<id>/predict ─▶ key lookup (micro-batched, DB thread) ─▶ 401 / 404 / 410
        ─▶ texts from the body (413 / 400) ─▶ the deployment's models, loaded once (loader thread; 503
           when the artifact no longer matches the manifest)
        ─▶ student: micro-batched forward (torch thread) ─▶ confidence = max softmax(logits / T)
        ─▶ rows under τ, and a shadow share of the kept ones: teacher, micro-batched the same way
        ─▶ decisions logged (micro-batched bulk insert, DB thread) ─▶ JSON answer

Modules: `app` (the ASGI app: routing, errors), `http` (reading and answering HTTP), `payload` (the request
body), `selectors` (the key lookup), `runtime` (models loaded per deployment), `classifier` (one model: texts
in, label and confidence out), `batching` (the micro-batcher), `cascade` (routing rows), `decision_log` (the
writes), `config` (settings from the environment), `__main__` (the server).
"""
