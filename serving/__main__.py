"""`python -m serving [--host 127.0.0.1] [--port 8100]`: one serving process.

The server is uvicorn with the httptools parser, running serving.app's plain ASGI application on one asyncio
event loop. Why this and not Django async views under Daphne, the dashboard's server:

- Correct concurrency is simplest on one event loop: the micro-batch queues, the model cache and the pending
  loads are touched only from the loop's thread, so they need no locks; torch and the database run in a few
  dedicated threads (serving.app) and hand results back to the loop.
- Per-request overhead sets how much of the student's speed reaches the caller. Measured on this project's
  2-core machine with an empty JSON handler and 32 keep-alive clients: uvicorn + httptools about 11,700
  requests/s, Daphne about 2,000 (its HTTP parser is pure Python). At a few milliseconds per student forward
  pass, Daphne alone would eat much of the cascade's advantage.
- Django's request handler adds nothing an API keyed by a bearer token needs (sessions, CSRF, templates), and
  Django runs sync ORM calls from async views through one shared thread; here they are batched explicitly.
- uvicorn runs the ASGI lifespan, so a stopping process finishes its requests and its last log writes first.

One process runs one event loop and one copy of each model. Scale by running more processes (e.g. one per
GPU, or per couple of CPU cores) behind a load balancer: they share nothing but the database.
"""

import argparse

import uvicorn

from webapp.config.env import env_int, env_str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=env_str("DISTILLERY_SERVING_BIND", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env_int("DISTILLERY_SERVING_PORT", 8100))
    args = parser.parse_args()
    uvicorn.run(
        "serving.asgi:application",
        host=args.host,
        port=args.port,
        http="httptools",
        loop="asyncio",
        lifespan="on",
        access_log=False,  # every decision is logged in the database instead
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
