"""Config fields every RaveBear data adapter shares (timeouts, retries, rate limit); secrets are not among them."""

from __future__ import annotations

from nautilus_trader.config import LiveDataClientConfig

from ravebear.adapters.common.http import RetryPolicy


class AltDataClientConfig(LiveDataClientConfig, frozen=True, forbid_unknown_fields=True):
    """Shared settings of an alternative-data client; API keys come from environment variables only."""

    base_url: str = ""  # REST base URL (each adapter sets its default); tests point it at 127.0.0.1
    timeout_s: float = 30.0  # per HTTP request, connect to last byte
    max_retries: int = 5  # retries after the first attempt (429, 5xx, timeouts, non-JSON bodies)
    backoff_s: float = 1.0  # first retry wait in seconds; doubles per retry
    max_backoff_s: float = 60.0  # cap of the doubling retry wait, seconds
    max_retry_after_s: float = 300.0  # cap of a server's Retry-After, seconds
    rate_limit_calls: int = 60  # call units allowed per rate_limit_period_s (shared process-wide per service)
    rate_limit_period_s: float = 60.0  # seconds

    def retry_policy(self) -> RetryPolicy:
        """Return the retry policy these settings describe."""
        return RetryPolicy(
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
            max_backoff_s=self.max_backoff_s,
            max_retry_after_s=self.max_retry_after_s,
        )
