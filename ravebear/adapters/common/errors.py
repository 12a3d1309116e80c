"""Errors raised by the adapters' HTTP and WebSocket clients (messages never contain secrets)."""

from __future__ import annotations


class AdapterError(RuntimeError):
    """A request to an outside service that failed for good."""


class AuthError(AdapterError):
    """The service rejected the credentials; retrying cannot help."""

    def __init__(self, service: str, env_var: str | None, status: int | str, detail: str = "") -> None:
        self.service = service
        self.env_var = env_var
        self.status = status
        where = f"set {env_var} to a valid key" if env_var else "check the service's credentials"
        how = f"HTTP {status}" if isinstance(status, int) else status
        suffix = f": {detail}" if detail else ""
        super().__init__(f"{service} rejected the API key ({how}{suffix}); {where}")


class MissingCredentialError(AdapterError):
    """A required environment variable holding a secret is not set."""

    def __init__(self, service: str, env_var: str) -> None:
        self.service = service
        self.env_var = env_var
        super().__init__(f"{service} needs an API key: set the environment variable {env_var}")


class RequestFailedError(AdapterError):
    """A request that failed after every retry, or with a status that is not retried."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
