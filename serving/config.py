"""The serving process's settings, read once from the environment (the same helpers as the web settings)."""

from dataclasses import dataclass

from webapp.config.env import env_int, env_str

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServingConfig:
    # Rows per forward pass. 1 turns micro-batching off: every request's text gets a forward pass of its own.
    max_batch: int = 32
    # How long the first row of a batch may wait for company when the model is idle. Under load batches
    # fill while the previous one runs, so this only adds latency to a lone request.
    max_wait_ms: int = 2
    max_body_bytes: int = MIB
    max_texts: int = 256
    # Deployments whose models one process keeps loaded; the least recently used is dropped beyond this.
    max_deployments: int = 8
    device: str = "auto"  # "auto", "cpu" or "cuda[:N]" (workers.ml.device.pick_device)

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_texts < 1 or self.max_deployments < 1 or self.max_body_bytes < 1:
            raise ValueError("Serving limits must be positive.")
        if self.max_wait_ms < 0:
            raise ValueError("DISTILLERY_SERVING_MAX_WAIT_MS can't be negative.")


def config_from_env() -> ServingConfig:
    defaults = ServingConfig()
    return ServingConfig(
        max_batch=env_int("DISTILLERY_SERVING_MAX_BATCH", defaults.max_batch),
        max_wait_ms=env_int("DISTILLERY_SERVING_MAX_WAIT_MS", defaults.max_wait_ms),
        max_body_bytes=env_int("DISTILLERY_SERVING_MAX_BODY_BYTES", defaults.max_body_bytes),
        max_texts=env_int("DISTILLERY_SERVING_MAX_TEXTS", defaults.max_texts),
        max_deployments=env_int("DISTILLERY_SERVING_MAX_DEPLOYMENTS", defaults.max_deployments),
        device=env_str("DISTILLERY_SERVING_DEVICE", defaults.device),
    )
