"""Whale Alert: parsing, the shared adapter contract (REST polling and WebSocket alerts), and history downloads.

The fixtures and the local server follow the documented Whale Alert format
(shared/data/API_FORMATS.md), not a live capture.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from ravebear.adapters.common.errors import AuthError
from ravebear.adapters.common.http import RetryPolicy
from ravebear.adapters.common.rate_limit import reset_shared_rate_limiters
from ravebear.adapters.whale_alert import parsing
from ravebear.adapters.whale_alert.config import DEFAULT_EXCHANGE_LABELS, WhaleAlertDataClientConfig
from ravebear.adapters.whale_alert.factories import WhaleAlertLiveDataClientFactory
from ravebear.adapters.whale_alert.history import download_whale_alert_history
from ravebear.adapters.whale_alert.http import WhaleAlertHttpClient
from ravebear.catalog.alt_data import AltDataStore, WhaleTransaction
from tests.adapters.contract import AdapterContract
from tests.adapters.harness import ClientRun
from tests.adapters.local_server import Fault, LocalServer
from tests.adapters.whale_alert_server import LABELS, WhaleAlertServer, fixture

S = 1_000_000_000
TIERS = (1e6, 1e7, 5e7)
KEY = "rb-secret-7Hq2xWv9KpL4"


# -- parsing ------------------------------------------------------------------------------


def test_parse_transactions_page_keeps_every_documented_field():
    page = parsing.parse_transactions(fixture("http_get_transactions.json"), TIERS)
    assert not page.errors and page.cursor == "3a0fd3c1-3a0fd3c1-68f5a2d1" and page.count == 3
    first = page.records[0]
    assert (first.transaction_id, first.blockchain, first.symbol, first.transaction_type) == ("2618304721", "ethereum", "usdt", "transfer")
    assert first.hash.startswith("0x5f1c") and first.amount == 25_000_000 and first.amount_usd == 25003750.5
    assert (first.from_owner, first.from_owner_type, first.to_owner, first.to_owner_type) == ("binance", "exchange", "", "unknown")
    assert first.from_address == "0x28c6c06298d514db089934071355e5743bf21d60"
    assert first.ts_event == 1767225650 * S and first.source == "rest"


def test_transfers_are_classified_by_tier_and_exchange_flow():
    records = parsing.parse_transactions(fixture("http_get_transactions.json"), TIERS).records
    assert [(r.tier, r.flow) for r in records] == [(2, "exchange_outflow"), (3, "exchange_inflow"), (1, "exchange_inflow")]
    assert parsing.tier_of(999_999.99, TIERS) == 0 and parsing.tier_of(1e6, TIERS) == 1 and parsing.tier_of(5e7, TIERS) == 3
    assert parsing.tier_of(2e6, (5e6, 1e6)) == 1  # tiers need not be sorted
    assert parsing.flow_of("exchange", "exchange") == "exchange_internal"
    assert parsing.flow_of("unknown", "other") == "none"


def test_parse_transaction_with_a_missing_field_skips_it_and_names_the_field():
    raw = fixture("http_get_transactions.json")
    del raw["transactions"][1]["amount_usd"]
    del raw["transactions"][2]["to"]["owner_type"]
    page = parsing.parse_transactions(raw, TIERS)
    assert [r.transaction_id for r in page.records] == ["2618304721"]
    assert page.errors == [
        "transaction 1 (id 2618304733): missing field 'amount_usd'",
        "transaction 2 (id 2618304790): missing field 'to.owner_type'",
    ]


def test_parse_transactions_error_envelope_and_last_page():
    assert parsing.parse_transactions({"result": "error", "message": "invalid api_key"}, TIERS).errors == [
        "transactions: result is 'error': invalid api_key",
    ]
    last = parsing.parse_transactions(fixture("http_get_transactions_last_page.json"), TIERS)
    assert last.records == [] and last.errors == [] and last.count == 0


def test_parse_websocket_alert_classifies_labels():
    result = parsing.parse_alert(fixture("ws_alert.json"), TIERS, DEFAULT_EXCHANGE_LABELS)
    (alert,) = result.records
    assert (alert.blockchain, alert.symbol, alert.amount, alert.amount_usd) == ("tron", "usdt", 50_000_000, 50006500.0)
    assert (alert.from_owner, alert.from_owner_type, alert.to_owner, alert.to_owner_type) == ("Binance", "exchange", "", "unknown")
    assert (alert.tier, alert.flow, alert.source, alert.ts_event) == (3, "exchange_outflow", "websocket", 1767225812 * S)
    again = parsing.parse_alert(fixture("ws_alert.json"), TIERS, DEFAULT_EXCHANGE_LABELS).records[0]
    assert again.transaction_id == alert.transaction_id  # a replayed alert has the same id


def test_parse_websocket_alert_with_two_amounts_gives_two_transfers():
    records = parsing.parse_alert(fixture("ws_alert_multiple_amounts.json"), TIERS, DEFAULT_EXCHANGE_LABELS).records
    assert [(r.symbol, r.amount_usd, r.tier, r.flow) for r in records] == [("eth", 14280000.0, 2, "exchange_inflow"), ("usdc", 2499750.0, 1, "exchange_inflow")]
    assert records[0].transaction_id != records[1].transaction_id


def test_parse_websocket_alert_with_a_missing_field_names_it():
    alert = fixture("ws_alert_multiple_amounts.json")
    del alert["amounts"][1]["value_usd"]
    result = parsing.parse_alert(alert, TIERS, DEFAULT_EXCHANGE_LABELS)
    assert len(result.records) == 1 and result.errors == ["alert amounts[1]: missing field 'amounts[].value_usd'"]
    broken = fixture("ws_alert.json")
    del broken["timestamp"]
    assert parsing.parse_alert(broken, TIERS, DEFAULT_EXCHANGE_LABELS).errors == ["alert: missing field 'timestamp'"]


def test_websocket_messages_are_told_apart():
    assert parsing.message_kind(fixture("ws_subscribed_alerts.json")) == "subscribed"
    assert parsing.message_kind(fixture("ws_alert.json")) == "alert"
    assert parsing.message_kind(fixture("ws_error_invalid_key.json")) == "error"
    assert parsing.message_kind({"channel_id": "x", "timestamp": 1, "blockchain": "x", "text": "t", "urls": []}) == "social"


# -- the contract ---------------------------------------------------------------------------


class TestWhaleAlertRestContract(AdapterContract):
    env_var = "WHALE_ALERT_API_KEY"
    client_name = "WHALE_ALERT"
    factory = WhaleAlertLiveDataClientFactory
    data_types = (WhaleTransaction,)
    fault_path = "/transactions"

    def make_server(self) -> LocalServer:
        return WhaleAlertServer()

    def make_config(self, server: LocalServer, **overrides: Any) -> WhaleAlertDataClientConfig:
        settings: dict[str, Any] = {
            "base_url": server.url, "ws_url": server.url.replace("http", "ws") + "/ws", "use_websocket": False,
            "poll_interval_s": 0.1, "lookback_s": 1800, "page_limit": 25, "timeout_s": 0.5, "backoff_s": 0.05,
            "max_retries": 3, "rate_limit_calls": 1000, "rate_limit_period_s": 1.0, "reconnect_delay_s": 0.1,
        }  # fmt: skip
        return WhaleAlertDataClientConfig(**{**settings, **overrides})

    def enough(self, run: ClientRun) -> bool:
        return len(run.of(WhaleTransaction)) >= 20

    def check_records(self, run: ClientRun, server: LocalServer) -> None:
        by_id = {tx["id"]: tx for tx in server.transactions}  # type: ignore[attr-defined]
        records = run.of(WhaleTransaction)
        assert len({r.transaction_id for r in records}) == len(records)  # no repeats across polls and pages
        for record in records:
            tx = by_id[record.transaction_id]
            assert (record.amount_usd, record.hash, record.ts_event) == (tx["amount_usd"], tx["hash"], tx["timestamp"] * S)
            assert record.amount_usd >= 1e6 and record.tier == parsing.tier_of(record.amount_usd, TIERS)
        expected = [tx["id"] for tx in server.transactions if tx["amount_usd"] >= 1e6 and tx["timestamp"] >= records[0].ts_event // S]  # type: ignore[attr-defined]
        assert [r.transaction_id for r in records] == expected[: len(records)]  # in time order, none missed

    def break_one_record(self, server: LocalServer) -> str:
        def drop(body: Any) -> Any:
            del body["transactions"][0]["amount"]
            return body

        server.mutate_next("/transactions", drop)
        return "amount"

    def probe_history(self, server: LocalServer, log: Any) -> None:
        import tempfile

        server.fail_next("/transactions", Fault("500"))
        http = WhaleAlertHttpClient(server.url, log, RetryPolicy(timeout_s=1, backoff_s=0.05), calls=1000, period_s=1.0)

        async def download() -> None:
            store = AltDataStore(Path(tempfile.mkdtemp()))
            try:
                await download_whale_alert_history(store, http, int(time.time()) - 1800, log=log)
                server.reject_all_keys = True
                await download_whale_alert_history(store, http, int(time.time()) - 1800, log=log)
            except AuthError as exc:
                log.error(str(exc))
            finally:
                await http.close()
                server.reject_all_keys = False

        asyncio.run(download())


class TestWhaleAlertWebSocketContract(TestWhaleAlertRestContract):
    fault_path = "/ws"
    websocket = True

    def make_config(self, server: LocalServer, **overrides: Any) -> WhaleAlertDataClientConfig:
        return super().make_config(server, **{"use_websocket": True, **overrides})

    def enough(self, run: ClientRun) -> bool:
        return len(run.of(WhaleTransaction)) >= 4

    def check_records(self, run: ClientRun, server: LocalServer) -> None:
        records = run.of(WhaleTransaction)
        assert all(r.source == "websocket" and r.amount_usd >= 1e6 for r in records)
        assert len({r.transaction_id for r in records}) == len(records)
        for record in records:
            index = int(round(record.amount_usd)) % 1000  # the server adds the alert's index to its USD value
            sender, receiver = LABELS[index % len(LABELS)]
            assert (record.from_owner or "unknown wallet", record.to_owner or "unknown wallet") == (sender, receiver)
            flows = {("Binance", "unknown wallet"): "exchange_outflow", ("unknown wallet", "Coinbase"): "exchange_inflow",
                     ("OKX", "Kraken"): "exchange_internal", ("Tether Treasury", "unknown wallet"): "none"}  # fmt: skip
            assert record.flow == flows[(sender, receiver)]
        assert server.subscriptions[0] == {"type": "subscribe_alerts", "min_value_usd": 1_000_000.0}  # type: ignore[attr-defined]

    def break_one_record(self, server: LocalServer) -> str:
        def drop(alert: Any) -> Any:
            del alert["blockchain"]
            return alert

        server.mutate_next("/ws", drop)
        return "blockchain"

    def drop_websockets(self, server: LocalServer) -> None:
        server.drop_all()  # type: ignore[attr-defined]

    def websocket_connections(self, server: LocalServer) -> int:
        return len([hit for hit in server.hits_to("/ws") if hit.status == 101])

    def test_persistent_failure_is_logged_and_polling_goes_on(self, server: LocalServer):
        server.fail_next(self.fault_path, *[Fault("500")] * 3)
        run = self.run(server, timeout_s=8.0)
        assert sum("handshake failed: HTTP 500; reconnecting" in m for m in run.warnings()) == 3
        assert self.enough(run)

    def test_subscription_carries_the_configured_filters(self, server: LocalServer):
        run = self.run(server, blockchains=("tron",), symbols=("usdt",), transaction_types=("transfer",), min_value_usd=50_000.0)
        assert server.subscriptions[0] == {  # type: ignore[attr-defined]
            "type": "subscribe_alerts", "min_value_usd": 100_000.0, "blockchains": ["tron"], "symbols": ["usdt"], "tx_types": ["transfer"],
        }  # fmt: skip
        assert run.of(WhaleTransaction)


# -- history ---------------------------------------------------------------------------------


@pytest.fixture
def whale(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WHALE_ALERT_API_KEY", KEY)
    reset_shared_rate_limiters()
    with WhaleAlertServer(api_key=KEY) as server:
        yield server
    reset_shared_rate_limiters()


def download(server: WhaleAlertServer, catalog: Path, start_s: int, **kwargs: Any):
    from loguru import logger

    async def go():
        http = WhaleAlertHttpClient(server.url, logger, RetryPolicy(timeout_s=2, backoff_s=0.01, max_retries=kwargs.pop("max_retries", 3)), calls=1000, period_s=1.0)
        try:
            return await download_whale_alert_history(AltDataStore(catalog), http, start_s, log=logger, **kwargs)
        finally:
            await http.close()

    return asyncio.run(go())


def test_history_pages_through_the_cursor_and_a_rerun_writes_nothing(whale: WhaleAlertServer, tmp_path: Path):
    start = int(time.time()) - 3000
    result = download(whale, tmp_path, start, min_value_usd=1e6, page_limit=40)
    expected = [tx for tx in whale.transactions if tx["timestamp"] >= start and tx["amount_usd"] >= 1e6]
    assert result.written == len(expected) and result.pages == -(-len(expected) // 40) + (len(expected) % 40 == 0)
    stored = AltDataStore(tmp_path).read(WhaleTransaction)
    assert [r.transaction_id for r in stored] == [tx["id"] for tx in expected]
    assert {r.tier for r in stored} == {1, 2, 3}
    cursors = [h.query.get("cursor") for h in whale.hits_to("/transactions")]
    assert cursors[0] is None and all(cursors[1:])
    again = download(whale, tmp_path, start, min_value_usd=1e6, page_limit=40)
    assert again.written == 0 and again.start_s == stored[-1].ts_event // S  # resumed at the newest stored transfer


def test_interrupted_history_resumes_where_it_stopped(whale: WhaleAlertServer, tmp_path: Path):
    start = int(time.time()) - 3000
    whale.fail_next("/transactions", Fault("ok"), Fault("500"), Fault("500"))
    with pytest.raises(Exception, match="failed after 2 attempts: HTTP 500"):
        download(whale, tmp_path, start, min_value_usd=1e6, page_limit=30, max_retries=1)
    assert len(AltDataStore(tmp_path).read(WhaleTransaction)) == 30
    download(whale, tmp_path, start, min_value_usd=1e6, page_limit=30)
    stored = AltDataStore(tmp_path).read(WhaleTransaction)
    expected = [tx["id"] for tx in whale.transactions if tx["timestamp"] >= start and tx["amount_usd"] >= 1e6]
    assert [r.transaction_id for r in stored] == expected


def test_history_with_one_symbol_asks_the_server_to_filter(whale: WhaleAlertServer, tmp_path: Path):
    result = download(whale, tmp_path, int(time.time()) - 3600, symbols=("btc",))
    assert whale.hits_to("/transactions")[0].query["currency"] == "btc"
    assert result.written > 0 and all(r.symbol == "btc" for r in AltDataStore(tmp_path).read(WhaleTransaction))


def test_history_with_a_bad_key_raises_naming_the_variable(whale: WhaleAlertServer, tmp_path: Path):
    whale.reject_all_keys = True
    with pytest.raises(AuthError, match="WHALE_ALERT_API_KEY"):
        download(whale, tmp_path, int(time.time()) - 3600)
