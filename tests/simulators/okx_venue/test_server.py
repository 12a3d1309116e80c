"""The venue's REST and WebSocket surface: OKX's signature scheme, its error codes, and the operator API."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import aiohttp
import pytest

from ravebear.simulators.okx_venue.auth import Credentials, check_login, check_rest, sign
from tests.platform.live.harness import CREDS, start_venue

# Captured from nautilus 1.231's OKX clients with secret test-secret-456 (docs/OKX_1231_CAPTURE.md): independent references
CAPTURED = Credentials("test-key-123", "test-secret-456", "test-pass-789")


def test_the_signatures_nautilus_sent_are_accepted_and_tampering_is_refused():
    ts = "2026-11-21T04:36:04.052Z"
    headers = {"ok-access-key": "test-key-123", "ok-access-passphrase": "test-pass-789", "ok-access-timestamp": ts,
               "ok-access-sign": "zvnWpxF/OKnEc/30f7+99b5Y4M5DEzaYsy3GFVvqCZg="}  # fmt: skip
    now = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    assert check_rest(CAPTURED, headers, "GET", "/api/v5/account/trade-fee?instType=SWAP", "", now) is None
    assert check_rest(CAPTURED, headers, "GET", "/api/v5/account/trade-fee?instType=SPOT", "", now).code == "50113"
    assert check_rest(CAPTURED, headers, "GET", "/api/v5/account/trade-fee?instType=SWAP", "", now + 31).code == "50102"
    assert check_rest(CAPTURED, {**headers, "ok-access-passphrase": "x"}, "GET", "/api/v5/account/trade-fee?instType=SWAP", "", now).code == "50105"
    login = {"apiKey": "test-key-123", "passphrase": "test-pass-789", "timestamp": "1795235764", "sign": "Fa0Ryk0JDBtlI8PLPW6myJ3GuiXUbZneCfYq6IGdNuM="}
    assert check_login(CAPTURED, login, 1795235764.0) is None
    assert check_login(CAPTURED, {**login, "timestamp": "1795235765"}, 1795235764.0).msg == "Invalid sign"


def signed(method: str, target: str, body: str = "", creds: Credentials = CREDS, skew_s: float = 0.0) -> dict[str, str]:
    ts = datetime.fromtimestamp(time.time() + skew_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {"OK-ACCESS-KEY": creds.api_key, "OK-ACCESS-PASSPHRASE": creds.passphrase, "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-SIGN": sign(creds.secret, f"{ts}{method}{target}{body}"), "Content-Type": "application/json"}  # fmt: skip


def call(base: str, method: str, target: str, body: str = "", headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + target, data=body.encode() if body else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def venue():
    thread = start_venue(minutes=30)
    yield thread
    thread.stop()


def test_private_calls_need_a_valid_signature(venue):
    base = venue.base_url_http
    assert call(base, "GET", "/api/v5/account/balance") == (401, {"code": "50103", "msg": "Request header OK-ACCESS-KEY can not be empty.", "data": []})
    wrong = Credentials(CREDS.api_key, "not-the-secret", CREDS.passphrase)
    assert call(base, "GET", "/api/v5/account/balance", headers=signed("GET", "/api/v5/account/balance", creds=wrong))[1]["msg"] == "Invalid Sign."
    assert call(base, "GET", "/api/v5/account/balance", headers=signed("GET", "/api/v5/account/balance", skew_s=-120))[1]["code"] == "50102"
    status, balance = call(base, "GET", "/api/v5/account/balance", headers=signed("GET", "/api/v5/account/balance"))
    assert status == 200 and balance["data"][0]["details"][0]["cashBal"] == "10000" and len(balance["data"][0]["details"][0]) == 41


def test_bad_requests_get_okx_error_codes(venue):
    base = venue.base_url_http
    broken = '{"instId": "BTC-USDT-SWAP", "side": '
    assert call(base, "POST", "/api/v5/trade/order", broken, signed("POST", "/api/v5/trade/order", broken))[1]["code"] == "50002"
    body = json.dumps({"instId": "BTC-USDT-SWAP", "side": "sell", "ordType": "trigger", "triggerPx": "60000"})
    assert call(base, "POST", "/api/v5/trade/order-algo", body, signed("POST", "/api/v5/trade/order-algo", body))[1] == {"code": "51000", "msg": "Parameter sz error", "data": []}
    assert call(base, "GET", "/api/v5/trade/no-such-thing") == (404, {"msg": "Not Found", "code": "404"})
    status, answer = call(base, "POST", "/sim/faults", json.dumps({"target": "rest", "kind": "418"}))
    assert status == 400 and answer["error"] == "fault kind '418' for rest: use one of ['429', '500', '503', '50011', '50001', 'slow']"


def test_an_algo_order_round_trip_over_rest(venue):
    base = venue.base_url_http
    body = json.dumps({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "trigger", "sz": "0.01", "algoClOrdId": "rt-1", "triggerPx": "99999", "orderPx": "-1"})
    status, placed = call(base, "POST", "/api/v5/trade/order-algo", body, signed("POST", "/api/v5/trade/order-algo", body))
    assert status == 200 and placed["data"][0]["sCode"] == "0" and placed["data"][0]["algoClOrdId"] == "rt-1"
    target = "/api/v5/trade/orders-algo-pending?ordType=trigger&instType=SWAP"
    pending = call(base, "GET", target, headers=signed("GET", target))[1]["data"]
    assert [(a["algoId"], a["state"], a["triggerPx"]) for a in pending] == [(placed["data"][0]["algoId"], "live", "99999")]
    cancel = json.dumps([{"instId": "BTC-USDT-SWAP", "algoId": placed["data"][0]["algoId"]}])
    assert call(base, "POST", "/api/v5/trade/cancel-algos", cancel, signed("POST", "/api/v5/trade/cancel-algos", cancel))[1]["code"] == "0"
    again = call(base, "POST", "/api/v5/trade/cancel-algos", cancel, signed("POST", "/api/v5/trade/cancel-algos", cancel))[1]
    assert again["code"] == "1" and (again["data"][0]["sCode"], again["data"][0]["sMsg"]) == ("51401", "Cancellation failed as the order is already canceled.")


def test_websocket_login_and_private_channels(venue):
    async def session() -> list[dict]:
        frames = []
        async with aiohttp.ClientSession() as http, http.ws_connect(venue.base_url_ws.replace("/public", "/private")) as ws:
            await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]}))  # before login
            frames.append(json.loads((await ws.receive()).data))
            ts = str(int(time.time()))
            bad = {"apiKey": CREDS.api_key, "passphrase": CREDS.passphrase, "timestamp": ts, "sign": sign("wrong", f"{ts}GET/users/self/verify")}
            await ws.send_str(json.dumps({"op": "login", "args": [bad]}))
            frames.append(json.loads((await ws.receive()).data))
            good = {**bad, "sign": sign(CREDS.secret, f"{ts}GET/users/self/verify")}
            await ws.send_str(json.dumps({"op": "login", "args": [good]}))
            frames.append(json.loads((await ws.receive()).data))
            await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "account"}]}))
            frames.append(json.loads((await ws.receive()).data))
            frames.append(json.loads((await ws.receive()).data))  # the account snapshot
            await ws.send_str("ping")
            frames.append({"text": (await ws.receive()).data})
        return frames

    frames = asyncio.run(session())
    assert (frames[0]["event"], frames[0]["code"], frames[0]["msg"]) == ("error", "60011", "Please log in")
    assert (frames[1]["event"], frames[1]["code"]) == ("error", "60007")
    assert (frames[2]["event"], frames[2]["code"]) == ("login", "0")
    assert frames[3] == {"event": "subscribe", "arg": {"channel": "account"}, "connId": frames[2]["connId"]}
    assert frames[4]["arg"] == {"channel": "account"} and frames[4]["data"][0]["totalEq"]
    assert frames[5] == {"text": "pong"}
