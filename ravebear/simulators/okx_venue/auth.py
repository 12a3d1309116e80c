"""OKX v5 request signing, checked the way OKX checks it (docs/OKX_1231_CAPTURE.md).

REST: `OK-ACCESS-SIGN = base64(HMAC_SHA256(secret, timestamp + METHOD + path_with_query + body))` with an
ISO-8601 millisecond timestamp. WebSocket login: the same HMAC over `timestamp + "GET" + "/users/self/verify"`
with the timestamp in unix seconds. OKX refuses a timestamp more than 30 s away from its clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

MAX_SKEW_S = 30.0


@dataclass(frozen=True)
class Credentials:
    """The one API key the venue accepts."""

    api_key: str
    secret: str
    passphrase: str


@dataclass(frozen=True)
class AuthFailure:
    """Why a request was refused: OKX's error code and message."""

    code: str
    msg: str


def sign(secret: str, message: str) -> str:
    """Base64 HMAC-SHA256 of `message`, OKX's signature."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_rest(creds: Credentials, headers: dict[str, str], method: str, target: str, body: str, now_s: float) -> AuthFailure | None:
    """Check a signed REST request's headers (lower-case names); None when it is genuine."""
    key = headers.get("ok-access-key", "")
    passphrase = headers.get("ok-access-passphrase", "")
    timestamp = headers.get("ok-access-timestamp", "")
    signature = headers.get("ok-access-sign", "")
    if not key:
        return AuthFailure("50103", "Request header OK-ACCESS-KEY can not be empty.")
    if not signature:
        return AuthFailure("50106", "Request header OK-ACCESS-SIGN can not be empty.")
    if not timestamp:
        return AuthFailure("50107", "Request header OK-ACCESS-TIMESTAMP can not be empty.")
    if not passphrase:
        return AuthFailure("50104", "Request header OK-ACCESS-PASSPHRASE can not be empty.")
    if key != creds.api_key:
        return AuthFailure("50111", "Invalid OK-ACCESS-KEY.")
    try:
        sent = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return AuthFailure("50112", "Invalid OK-ACCESS-TIMESTAMP.")
    if abs(now_s - sent) > MAX_SKEW_S:
        return AuthFailure("50102", "Timestamp request expired.")
    if passphrase != creds.passphrase:
        return AuthFailure("50105", "Invalid OK-ACCESS-PASSPHRASE.")
    if not hmac.compare_digest(signature, sign(creds.secret, f"{timestamp}{method.upper()}{target}{body}")):
        return AuthFailure("50113", "Invalid Sign.")
    return None


def check_login(creds: Credentials, args: dict, now_s: float) -> AuthFailure | None:
    """Check a WebSocket login frame's first argument; None when it is genuine."""
    timestamp = str(args.get("timestamp", ""))
    if args.get("apiKey") != creds.api_key:
        return AuthFailure("60005", "Invalid apiKey")
    if args.get("passphrase") != creds.passphrase:
        return AuthFailure("60024", "Wrong passphrase")
    try:
        sent = float(timestamp)
    except ValueError:
        return AuthFailure("60004", "Invalid timestamp")
    if abs(now_s - sent) > MAX_SKEW_S:
        return AuthFailure("60006", "Timestamp request expired")
    if not hmac.compare_digest(str(args.get("sign", "")), sign(creds.secret, f"{timestamp}GET/users/self/verify")):
        return AuthFailure("60007", "Invalid sign")
    return None
