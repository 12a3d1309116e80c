"""`ravebear record` against local OKX and Kraken servers replaying the shared captures in the venues' formats.

The recorder runs as a real subprocess (nautilus's OKX and Kraken clients, the real catalog); the servers
record every message they actually wrote to a socket, and the catalog is compared with that.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.orderflow_feeds import kraken_trade_messages, okx_feed
from tests.orderflow_ws_servers import KrakenReplayServer, OkxReplayServer
from tests.platform.test_backtest import REPO

OKX_ID, KRAKEN_ID = "BTC-USDT-SWAP.OKX", "BTC/USD.KRAKEN"


@pytest.fixture(scope="module")
def okx_messages() -> list:
    return okx_feed().messages


@pytest.fixture(scope="module")
def kraken_messages() -> list:
    return kraken_trade_messages()


def start_record(catalog: Path, okx: OkxReplayServer | None, kraken: KrakenReplayServer | None, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "ravebear.platform.cli", "record", "--catalog", str(catalog), "--log-seconds", "0.5", "--status-seconds", "0.1", *extra]
    if okx is not None:
        args += ["--okx", "BTC-USDT-SWAP", "--okx-http", okx.url, "--okx-ws", f"ws://127.0.0.1:{okx.port}/ws/v5/public"]
    if kraken is not None:
        args += ["--kraken", "XBT/USD", "--kraken-http", kraken.url, "--kraken-ws", f"ws://127.0.0.1:{kraken.port}/v2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait(condition, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the recorder exited early ({proc.returncode}): {out[-2000:]} {err[-2000:]}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    pytest.fail(f"timed out; recorder said: {out[-2000:]} {err[-2000:]}")


def ctrl_c(proc: subprocess.Popen) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in out + err
    assert [line for line in err.splitlines() if line.startswith("stopping")] == ["stopping on Ctrl-C: writing the buffered batches"]
    return out, err


def catalog_trades(catalog: Path, instrument_id: str) -> list:
    from nautilus_trader.model.data import TradeTick
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    return ParquetDataCatalog(str(catalog)).query(TradeTick, identifiers=[instrument_id])


def okx_sent_trades(server: OkxReplayServer) -> set[tuple]:
    return {(row["tradeId"], Decimal(row["px"]), Decimal(row["sz"]), "BUYER" if row["side"] == "buy" else "SELLER", int(row["ts"]) * 1_000_000)
            for channel, message in server.sent if channel == "trades" for row in message["data"]}  # fmt: skip


def kraken_sent_trades(server: KrakenReplayServer) -> set[tuple]:
    return {(str(row["trade_id"]), Decimal(str(row["price"])), Decimal(str(row["qty"])), "BUYER" if row["side"] == "buy" else "SELLER", row["timestamp"])
            for channel, message in server.sent if channel == "trade" for row in message["data"]}  # fmt: skip


def as_rows(ticks: list, kraken: bool = False) -> set[tuple]:
    from datetime import UTC, datetime

    def stamp(ts: int) -> int | str:
        return datetime.fromtimestamp(ts // 1_000_000_000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts % 1_000_000_000 // 1000:06d}Z" if kraken else ts

    return {(t.trade_id.value, t.price.as_decimal(), t.size.as_decimal().normalize(), t.aggressor_side.name, stamp(t.ts_event)) for t in ticks}


def normalized(rows: set[tuple]) -> set[tuple]:
    return {(a, b.normalize(), c.normalize(), d, e) for a, b, c, d, e in rows}


def rebuilt_book(catalog: Path) -> tuple[dict, dict]:
    """The catalog's book deltas applied in order to a nautilus L2 book: price -> size per side."""
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.data import OrderBookDelta
    from nautilus_trader.model.enums import BookType
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    book = OrderBook(InstrumentId.from_str(OKX_ID), BookType.L2_MBP)
    for delta in ParquetDataCatalog(str(catalog)).query(OrderBookDelta, identifiers=[OKX_ID]):
        book.apply_delta(delta)
    sides = [{level.price.as_decimal().normalize(): Decimal(f"{level.size():.2f}").normalize() for level in levels} for levels in (book.bids(), book.asks())]  # contracts: 0.01 lot
    return sides[0], sides[1]


def server_book(server: OkxReplayServer) -> tuple[dict, dict]:
    return tuple({Decimal(px).normalize(): Decimal(level[1]).normalize() for px, level in server.book[side].items()} for side in ("bids", "asks"))  # type: ignore[return-value]


def gaps(catalog: Path) -> list[dict]:
    path = catalog / "recorder" / "gaps.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_recorded_trades_and_book_equal_what_the_servers_sent(tmp_path, okx_messages, kraken_messages):
    catalog = tmp_path / "catalog"
    with OkxReplayServer(messages=okx_messages[:3000], rate=3000) as okx, KrakenReplayServer(messages=kraken_messages[:1500], rate=1500) as kraken:
        proc = start_record(catalog, okx, kraken, "--batch-items", "20000")
        wait(lambda: okx.finished.is_set() and kraken.finished.is_set(), proc)
        time.sleep(1.0)  # the last pushes cross the sockets
        out, err = ctrl_c(proc)
    okx_trades, kraken_trades = okx_sent_trades(okx), kraken_sent_trades(kraken)
    assert len(okx_trades) > 500 and len(kraken_trades) == 1500
    assert normalized(as_rows(catalog_trades(catalog, OKX_ID))) == normalized(okx_trades)
    assert normalized(as_rows(catalog_trades(catalog, KRAKEN_ID), kraken=True)) == normalized(kraken_trades)
    bids, asks = rebuilt_book(catalog)
    assert (bids, asks) == server_book(okx) and len(bids) > 500  # every level of the replayed book, after ~2,000 updates
    assert f"{OKX_ID} trades: {len(okx_trades):,} trades received" in out
    assert "no gaps" in out
    assert "rec 0:00:0" in err and "BTC/USD.KRAKEN trades" in err  # the status line (a log line when not on a terminal)


def test_a_disconnect_is_recorded_as_a_gap_and_recording_continues(tmp_path, okx_messages, kraken_messages):
    catalog = tmp_path / "catalog"
    with OkxReplayServer(messages=okx_messages[:6000], rate=1500) as okx, KrakenReplayServer(messages=kraken_messages[:3000], rate=750) as kraken:
        proc = start_record(catalog, okx, kraken)
        wait(lambda: okx.played >= 2500 and kraken.played >= 1200, proc)
        okx.drop_connections()
        kraken.drop_connections()
        wait(lambda: okx.finished.is_set() and kraken.finished.is_set(), proc)
        time.sleep(1.0)
        out, _ = ctrl_c(proc)
    played_ids = [int(m["data"][0]["trade_id"]) for _, _, m in kraken_messages[:3000]]
    sent_ids = {int(row[0]) for row in kraken_sent_trades(kraken)}
    lost = [trade_id for trade_id in played_ids if trade_id not in sent_ids]
    assert lost and max(sent_ids) == played_ids[-1]  # trades were lost while the socket was down, and recording went on after
    # nothing papered over: the catalog holds exactly what was sent, the book restarted from the new snapshot
    assert normalized(as_rows(catalog_trades(catalog, KRAKEN_ID), kraken=True)) == normalized(kraken_sent_trades(kraken))
    assert normalized(as_rows(catalog_trades(catalog, OKX_ID))) == normalized(okx_sent_trades(okx))
    assert rebuilt_book(catalog) == server_book(okx)
    found = gaps(catalog)
    kraken_gaps = [g for g in found if g["instrument_id"] == KRAKEN_ID]
    naming_ids = [g for g in kraken_gaps if g["detail"].endswith(f"ids {lost[0]}..{lost[-1]} ({len(lost)} trades) not received")]
    assert len(naming_ids) == 1  # exactly the ids lost, once (on the socket-down gap when the poll saw it first)
    assert all(g["reason"] in ("trade ids skipped", "socket down") for g in kraken_gaps)
    okx_book = [g for g in found if g["instrument_id"] == OKX_ID and g["kind"] == "book"]
    assert okx_book and all(g["to_ns"] > g["from_ns"] > 0 for g in okx_book)
    assert any(g["reason"] in ("book re-snapshot", "socket down") for g in okx_book)
    assert f"{len(found)} gaps recorded" in out and f"({len(lost)} trades) not received" in out


def test_a_broken_book_sequence_is_a_gap_and_the_stored_book_restarts_from_the_new_snapshot(tmp_path, okx_messages):
    messages = list(okx_messages[:4000])
    books = [index for index, item in enumerate(messages) if item[1] == "books"]
    stamp, channel, message = messages[books[300]]
    row = {**message["data"][0], "prevSeqId": 12345}  # OKX's chain broken: this update does not follow the last one
    messages[books[300]] = (stamp, channel, {**message, "data": [row]})
    catalog = tmp_path / "catalog"
    with OkxReplayServer(messages=messages, rate=2000) as okx:
        proc = start_record(catalog, okx, None)
        wait(lambda: okx.finished.is_set(), proc)
        time.sleep(1.0)
        ctrl_c(proc)
    assert okx.connects == 2  # no reconnect: nautilus re-subscribed the book on the same socket
    assert sum(1 for channel, message in okx.sent if channel == "books" and message.get("action") == "snapshot") == 2
    book_gaps = [g for g in gaps(catalog) if g["kind"] == "book"]
    assert [g["reason"] for g in book_gaps] == ["book re-snapshot"] and book_gaps[0]["to_ns"] > book_gaps[0]["from_ns"] > 0
    assert rebuilt_book(catalog) == server_book(okx)  # the CLEAR stored before the new snapshot reset the book


def test_ctrl_c_mid_stream_leaves_whole_files_and_a_restart_appends_without_duplicates(tmp_path, okx_messages, kraken_messages):
    catalog = tmp_path / "catalog"
    with KrakenReplayServer(messages=kraken_messages[:4000], rate=1000) as first:
        proc = start_record(catalog, None, first, "--batch-items", "200")  # many small batches: SIGINT lands among writes
        wait(lambda: first.played >= 1500, proc)
        out, _ = ctrl_c(proc)
    for path in (catalog / "data").rglob("*.parquet"):
        assert pq.read_metadata(path).num_rows > 0  # every file whole (a cut one has no footer)
    assert not [p for p in (catalog / ".staging").rglob("*") if p.is_file()]  # nothing staged and left behind
    kept = {row[0] for row in as_rows(catalog_trades(catalog, KRAKEN_ID), kraken=True)}
    received = int(re.search(r"BTC/USD.KRAKEN trades: ([\d,]+) trades received", out).group(1).replace(",", ""))
    sent_in_order = [str(row["trade_id"]) for channel, message in first.sent if channel == "trade" for row in message["data"]]
    assert received >= 1000 and kept == set(sent_in_order[:received])  # every trade received before the stop was written, no hole
    first_sent = kept  # what the socket still carried while the recorder stopped was never received

    with KrakenReplayServer(messages=kraken_messages[1000:2500], rate=1500) as second:  # the venue sends recent trades again
        proc = start_record(catalog, None, second, "--batch-items", "200")
        wait(lambda: second.finished.is_set(), proc)
        time.sleep(1.0)
        out, _ = ctrl_c(proc)
    ids = [t.trade_id.value for t in catalog_trades(catalog, KRAKEN_ID)]
    assert len(ids) == len(set(ids))
    assert set(ids) == first_sent | {row[0] for row in kraken_sent_trades(second)}
    assert "repeats dropped" in out and " 0 repeats dropped" not in out
    assert any(g["reason"] == "recorder not running" and g["instrument_id"] == KRAKEN_ID for g in gaps(catalog))


def ravebear(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "ravebear.platform.cli", *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "error: nothing to record: give --okx INSTID and/or --kraken PAIR (e.g. --okx BTC-USDT-SWAP --kraken BTC/USD)"),
        (("--okx", "btcusdt"), "error: --okx 'btcusdt': not an OKX instId (e.g. BTC-USDT-SWAP, BTC-USDT, BTC-USD-250926)"),
        (("--kraken", "XBTUSD"), "error: --kraken 'XBTUSD': not a Kraken spot pair (e.g. BTC/USD, ETH/USD)"),
        (("--okx", "BTC-USDT-SWAP", "--okx-ws", "127.0.0.1:1"), "error: --okx-ws '127.0.0.1:1': not a URL (http(s):// for REST, ws(s):// for WebSockets)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    done = ravebear("record", "--catalog", str(tmp_path / "c"), *args, cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, message)


def test_an_unwritable_catalog_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = ravebear("record", "--okx", "BTC-USDT-SWAP", "--catalog", str(blocker / "catalog"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: --catalog: cannot write to the catalog folder {blocker / 'catalog'}: {blocker} is a file, not a folder"


def test_an_instrument_the_venue_does_not_list_is_one_line_and_exit_2(tmp_path, okx_messages):
    with OkxReplayServer(messages=okx_messages[:10]) as okx:
        done = ravebear("record", "--catalog", str(tmp_path / "c"), "--okx", "BTC-USDT-SWAP", "--okx", "PEPE-USDT-SWAP", "--okx-http", okx.url,
                        "--okx-ws", f"ws://127.0.0.1:{okx.port}/ws/v5/public", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip() == "error: --okx PEPE-USDT-SWAP: OKX lists no such instrument"


def test_a_kraken_pair_the_venue_does_not_list_is_one_line_and_exit_2(tmp_path):
    with KrakenReplayServer(messages=[]) as kraken:
        done = ravebear("record", "--catalog", str(tmp_path / "c"), "--kraken", "XBT/USD", "--kraken", "ETH/USD", "--kraken-http", kraken.url,
                        "--kraken-ws", f"ws://127.0.0.1:{kraken.port}/v2", cwd=tmp_path)  # fmt: skip
    assert (done.returncode, done.stderr.strip()) == (2, "error: --kraken ETH/USD: Kraken lists no such instrument")


def test_the_status_line_shows_rates_ages_batches_and_gaps():
    from ravebear.platform.recorder.actor import RecorderState, Series
    from ravebear.platform.recorder.gaps import DISCONNECTED, Gap
    from ravebear.platform.recorder.status import status_line
    from ravebear.platform.recorder.writer import WriterStats

    state = RecorderState(started=100.0)
    state.series[(OKX_ID, "trades")] = Series("OKX", OKX_ID, "trades", rate=12.4, last_wall=3_823.5)
    state.series[(OKX_ID, "book")] = Series("OKX", OKX_ID, "book", rate=2_501.0, last_wall=3_823.9)
    state.series[(KRAKEN_ID, "trades")] = Series("KRAKEN", KRAKEN_ID, "trades")
    state.gaps.append(Gap("OKX", OKX_ID, "book", DISCONNECTED, 1, 2))
    line = status_line(state, WriterStats(batches=1_204, queued=2), now=3_824.0)
    assert line == ("rec 1:02:04 | BTC-USDT-SWAP.OKX trades 12/s (0.5s) book 2,501/s (0.1s) | BTC/USD.KRAKEN trades 0/s (-)"
                    " | batches 1,204 (queued 2) | gaps 1")  # fmt: skip


def test_a_venue_that_does_not_answer_fails_with_one_line(tmp_path):
    from tests.redis_server import free_port

    port = free_port()  # nothing listens
    done = ravebear("record", "--catalog", str(tmp_path / "c"), "--kraken", "BTC/USD", "--kraken-http", f"http://127.0.0.1:{port}",
                    "--kraken-ws", f"ws://127.0.0.1:{port}/v2", "--timeout", "3", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        "error: the KRAKEN client did not connect (check the venue URLs and the network); nothing recorded",
    ]


def test_record_help(tmp_path):
    done = ravebear("record", "--help", cwd=tmp_path)
    assert done.returncode == 0
    for option in ("--okx", "--kraken", "--batch-seconds", "--batch-items", "--catalog"):
        assert option in done.stdout
