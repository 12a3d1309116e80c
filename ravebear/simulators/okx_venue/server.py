"""The venue's REST and WebSocket server (aiohttp on 127.0.0.1) and its price-path player.

REST under `/api/v5/...` (signed calls checked), WebSockets at `/ws/v5/public`, `/ws/v5/private` and
`/ws/v5/business`, and an operator API under `/sim/...` (status, ledger, step, pause, faults). The player
walks the price path: every price goes to the matching engine and out on `trades`, every candle on
`candle1m` once its minute is over, and the engine's order, algo and account changes go to the sockets
that subscribed to them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web
from loguru import logger

from ravebear.simulators.okx_venue import messages as m
from ravebear.simulators.okx_venue.auth import Credentials, check_login, check_rest
from ravebear.simulators.okx_venue.engine import MatchingEngine, Outcome, RequestError
from ravebear.simulators.okx_venue.faults import Fault, FaultQueue
from ravebear.simulators.okx_venue.ledger import ZERO
from ravebear.simulators.okx_venue.price_path import MINUTE_MS, PricePath

PUBLIC_CHANNELS = ("instruments", "trades", "bbo-tbt", "books", "books5", "mark-price", "index-tickers", "funding-rate", "tickers")
PRIVATE_CHANNELS = ("orders", "account", "positions", "balance_and_position", "fills")
BUSINESS_CHANNELS = ("orders-algo", "algo-advance")  # plus candle<bar>
RATE_LIMITED = {"code": "50011", "msg": "Too Many Requests", "data": []}


@dataclass
class Connection:
    """One WebSocket client."""

    kind: str  # public | private | business
    ws: web.WebSocketResponse
    number: int
    logged_in: bool = False
    subscriptions: list[dict] = field(default_factory=list)
    stalled: bool = False  # the socket stays open and gets nothing (injected)
    held: dict[str, tuple[int, list[str]]] = field(default_factory=dict)  # channel -> (batch size, pushes held) for a reorder

    def wants(self, channel: str, inst_id: str = "", inst_type: str = "SWAP") -> dict | None:
        """The subscription `arg` that covers a push, or None."""
        for arg in self.subscriptions:
            if arg.get("channel") != channel:
                continue
            if arg.get("instId") and arg["instId"] != inst_id:
                continue
            if arg.get("instType") not in (None, "", "ANY", inst_type):
                continue
            return arg
        return None


@dataclass
class PlayerSettings:
    """How the price path is played."""

    step_s: float = 1.0  # wall seconds between two minutes of the path (60 = real time)
    settle_s: float = 0.0  # also wait until no client message arrived for this long (lets a node finish reacting)
    start_on_subscribe: bool = True  # start when a client subscribes to candles or trades (else at once)
    warmup_s: float = 1.0  # wait after that subscription before the first minute


class OKXVenue:
    """The local OKX venue: engine, price path, sockets and faults."""

    def __init__(self, engine: MatchingEngine, path: PricePath, creds: Credentials, player: PlayerSettings | None = None) -> None:
        self.engine = engine
        self.path = path
        self.creds = creds
        self.player = player or PlayerSettings()
        self.faults = FaultQueue()
        self.connections: list[Connection] = []
        self.requests: list[dict] = []  # every REST call and WS op received (method/op, path, status), for the operator
        self.pushed: list[tuple[str, str, dict]] = []  # (socket kind, channel, row) of every order / algo / account push sent
        self.now_ms = path.steps[0].ts  # venue time: the price path's
        self.paused = False
        self.started = asyncio.Event()
        self.finished = asyncio.Event()
        self._last_inbound = time.monotonic()
        self._conn_numbers = 0
        self._trade_ids = 1_000_000_001
        self._player_task: asyncio.Task | None = None
        self._subscribed = asyncio.Event()
        self.refused_until: dict[str, float] = {}  # socket kind -> monotonic time until which upgrades get HTTP 503 (injected)
        self.session: Any = None  # session_player.SessionPlayer: a recorded session's trades and book (runner.build_venue)
        for inst_id, px in path.first_prices().items():
            engine.last[inst_id] = Decimal(str(px))
        engine.clock_ms = lambda: self.now_ms

    # -- app ----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/api/v5/public/instruments", self.instruments)
        r.add_get("/api/v5/public/time", self.server_time)
        r.add_get("/api/v5/account/trade-fee", self.signed(self.trade_fee))
        r.add_get("/api/v5/account/balance", self.signed(self.balance))
        r.add_get("/api/v5/account/positions", self.signed(self.positions))
        r.add_get("/api/v5/trade/orders-pending", self.signed(self.orders_pending))
        r.add_get("/api/v5/trade/orders-history", self.signed(self.orders_history))
        r.add_get("/api/v5/trade/orders-history-archive", self.signed(self.orders_history))
        r.add_get("/api/v5/trade/order", self.signed(self.order_details))
        r.add_get("/api/v5/trade/fills", self.signed(self.fills))
        r.add_get("/api/v5/trade/fills-history", self.signed(self.fills))
        for path in ("orders-algo-pending", "order-algo-pending"):
            r.add_get(f"/api/v5/trade/{path}", self.signed(self.algos_pending))
        for path in ("orders-algo-history", "order-algo-history"):
            r.add_get(f"/api/v5/trade/{path}", self.signed(self.algos_history))
        r.add_get("/api/v5/trade/order-algo", self.signed(self.algo_details))
        e, order_ack, algo_ack = self.engine, self._order_ack, self._algo_ack
        amend_order_ack, amend_algo_ack = (lambda o: {**order_ack(o), "reqId": ""}), (lambda o: {**algo_ack(o), "reqId": ""})
        actions = {  # path: (engine action, ack row, batch: many items in one call)
            "order": (e.place_order, order_ack, False),  # a bracket's attachAlgoOrds ride on it
            "batch-orders": (e.place_order, order_ack, True),
            "cancel-order": (e.cancel_order, order_ack, False),
            "cancel-batch-orders": (e.cancel_order, order_ack, True),
            "amend-order": (e.amend_order, amend_order_ack, False),
            "order-algo": (e.place_algo, algo_ack, False),  # trigger, conditional, oco, move_order_stop
            "cancel-algos": (e.cancel_algo, algo_ack, True),  # a JSON array
            "cancel-advance-algos": (e.cancel_algo, algo_ack, True),  # trailing (move_order_stop) orders
            "amend-algos": (e.amend_algo, amend_algo_ack, False),
        }
        for path, (action, ack, batch) in actions.items():
            r.add_post(f"/api/v5/trade/{path}", self.signed(self._order_action(action, ack, batch)))
        for kind in ("public", "private", "business"):
            r.add_get(f"/ws/v5/{kind}", self._ws_handler(kind))
        r.add_get("/sim/status", self.sim_status)
        r.add_get("/sim/ledger", self.sim_ledger)
        r.add_post("/sim/step", self.sim_step)
        r.add_post("/sim/pause", self.sim_pause)
        r.add_post("/sim/resume", self.sim_resume)
        r.add_post("/sim/faults", self.sim_fault)
        r.add_route("*", "/{tail:.*}", self.not_found)
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self._player_task = asyncio.get_running_loop().create_task(self._play())
        if self.session is not None:
            self.session.start()

    async def _on_cleanup(self, app: web.Application) -> None:
        if self._player_task:
            self._player_task.cancel()
        if self.session is not None:
            self.session.stop()
        for conn in list(self.connections):
            await conn.ws.close()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        self._last_inbound = time.monotonic()
        if request.path.startswith("/api/"):
            fault = self.faults.take("rest", request.path)
            if fault is not None:
                logger.warning(f"okx-sim: injected {fault.kind} on {request.method} {request.path_qs}")
                self.requests.append({"method": request.method, "path": request.path, "fault": fault.kind})
                if fault.kind == "slow":
                    await asyncio.sleep(fault.delay_s)
                elif fault.kind == "429":
                    return web.json_response(RATE_LIMITED, status=429)
                elif fault.kind in ("500", "503"):
                    return web.Response(status=int(fault.kind), text="<html><body>Internal Server Error</body></html>", content_type="text/html")
                elif fault.kind == "50011":
                    return web.json_response(RATE_LIMITED)
                elif fault.kind == "50001":
                    return web.json_response({"code": "50001", "msg": "Service temporarily unavailable. Please try again later.", "data": []})
        response = await handler(request)
        if request.path.startswith("/api/"):
            self.requests.append({"method": request.method, "path": request.path, "status": response.status})
        return response

    def signed(self, handler: Callable[[web.Request, Any], Awaitable[web.Response]]) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Wrap a handler: check the signature, parse the body, map request errors to OKX codes."""

        async def wrapped(request: web.Request) -> web.Response:
            body = await request.text()
            headers = {k.lower(): v for k, v in request.headers.items()}
            failure = check_rest(self.creds, headers, request.method, request.path_qs, body, time.time())
            if failure is not None:
                logger.warning(f"okx-sim: refused {request.method} {request.path}: {failure.code} {failure.msg}")
                return web.json_response(m.envelope([], failure.code, failure.msg), status=401)
            try:
                payload = json.loads(body) if body else None
            except json.JSONDecodeError:
                return web.json_response(m.envelope([], "50002", "Json data format error"), status=400)
            try:
                return await handler(request, payload)
            except RequestError as error:
                return web.json_response(m.envelope([], error.code, error.msg))

        return wrapped

    async def not_found(self, request: web.Request) -> web.Response:
        """OKX answers an unknown path with 404."""
        logger.warning(f"okx-sim: no such endpoint {request.method} {request.path}")
        return web.json_response({"msg": "Not Found", "code": "404"}, status=404)

    # -- public REST --------------------------------------------------------------------------

    async def instruments(self, request: web.Request) -> web.Response:
        """GET /public/instruments?instType=SWAP[&instId=]."""
        inst_type = request.query.get("instType", "")
        if inst_type != "SWAP":
            return web.json_response(m.envelope([]))
        rows = [m.instrument_row(i, 1573557408000) for i in self.engine.instruments.values() if request.query.get("instId") in (None, i.inst_id)]
        return web.json_response(m.envelope(rows))

    async def server_time(self, request: web.Request) -> web.Response:
        """GET /public/time: wall time, as OKX's clock."""
        return web.json_response(m.envelope([{"ts": str(int(time.time() * 1000))}]))

    # -- account ------------------------------------------------------------------------------

    async def trade_fee(self, request: web.Request, _: Any) -> web.Response:
        """GET /account/trade-fee: Lv1 USDT-margined contract fees."""
        inst = next(iter(self.engine.instruments.values()))
        row = {
            "level": "Lv1", "taker": m.num(-inst.taker_fee), "maker": m.num(-inst.maker_fee), "takerU": m.num(-inst.taker_fee),
            "makerU": m.num(-inst.maker_fee), "instType": request.query.get("instType", "SWAP"), "ts": str(self.now_ms),
            "delivery": "", "exercise": "", "category": "1", "takerUSDC": "", "makerUSDC": "", "ruleType": "normal", "fiat": [],
        }
        return web.json_response(m.envelope([row]))

    def account(self) -> dict:
        """The account row now."""
        e = self.engine
        upl = sum((e.ledger.upl(i, e.last.get(i.inst_id, ZERO)) for i in e.instruments.values()), ZERO)
        mmr = sum((e.ledger.maint_margin(i, e.last.get(i.inst_id, ZERO)) for i in e.instruments.values()), ZERO)
        return m.account_row(e.ledger.cash, e.equity(), e.initial_margin(), mmr, upl, e.available_equity(), self.now_ms)

    async def balance(self, request: web.Request, _: Any) -> web.Response:
        """GET /account/balance."""
        return web.json_response(m.envelope([self.account()]))

    def position_rows(self, inst_id: str | None = None) -> list[dict]:
        """Open positions as `account/positions` rows."""
        e = self.engine
        return [
            m.position_row(p, e.instruments[p.inst_id], e.last.get(p.inst_id, p.avg_px), e.ledger.leverage, self.now_ms)
            for p in e.ledger.positions.values()
            if p.pos != 0 and inst_id in (None, p.inst_id)
        ]

    async def positions(self, request: web.Request, _: Any) -> web.Response:
        """GET /account/positions."""
        return web.json_response(m.envelope(self.position_rows(request.query.get("instId"))))

    # -- order queries ------------------------------------------------------------------------

    def _order_filter(self, request: web.Request) -> Callable[[Any], bool]:
        inst_id = request.query.get("instId")
        return lambda o: inst_id in (None, "", o.inst_id)

    async def orders_pending(self, request: web.Request, _: Any) -> web.Response:
        """GET /trade/orders-pending: working regular orders, newest first."""
        keep = self._order_filter(request)
        rows = [m.order_row(o) for o in reversed(self.engine.open_orders()) if keep(o)]
        return web.json_response(m.envelope(rows[: int(request.query.get("limit", 100))]))

    async def orders_history(self, request: web.Request, _: Any) -> web.Response:
        """GET /trade/orders-history: finished regular orders, newest first."""
        keep = self._order_filter(request)
        rows = [m.order_row(o) for o in reversed(list(self.engine.orders.values())) if not o.is_open and keep(o)]
        return web.json_response(m.envelope(rows[: int(request.query.get("limit", 100))]))

    async def order_details(self, request: web.Request, _: Any) -> web.Response:
        """GET /trade/order?instId&ordId|clOrdId."""
        order = self.engine.find_order(request.query.get("ordId", ""), request.query.get("clOrdId", ""))
        if order is None:
            return web.json_response(m.envelope([], "51603", "Order does not exist"))
        return web.json_response(m.envelope([m.order_row(order)]))

    async def fills(self, request: web.Request, _: Any) -> web.Response:
        """GET /trade/fills: executions, newest first."""
        inst_id = request.query.get("instId")
        ord_id = request.query.get("ordId")
        rows = [m.fill_row(f) for f in reversed(self.engine.ledger.fills) if inst_id in (None, "", f.inst_id) and ord_id in (None, "", f.ord_id)]
        return web.json_response(m.envelope(rows[: int(request.query.get("limit", 100))]))

    def _algo_query(self, request: web.Request, working: bool) -> list[dict]:
        q = request.query
        algos = [a for a in reversed(list(self.engine.algos.values())) if a.is_open == working]  # pending: working; history: the rest
        ord_types = [t for t in q.get("ordType", "").split(",") if t]  # OKX takes "conditional,oco"
        algos = [
            a for a in algos
            if q.get("instId") in (None, "", a.inst_id) and q.get("algoId") in (None, "", a.algo_id)
            and q.get("algoClOrdId") in (None, "", a.algo_cl_ord_id) and (not ord_types or a.ord_type in ord_types)
        ]
        return [m.algo_row(a) for a in algos][: int(q.get("limit", 100))]

    async def algos_pending(self, request: web.Request, _: Any) -> web.Response:
        """GET /trade/orders-algo-pending."""
        return web.json_response(m.envelope(self._algo_query(request, working=True)))

    async def algos_history(self, request: web.Request, _: Any) -> web.Response:
        """GET /trade/orders-algo-history."""
        return web.json_response(m.envelope(self._algo_query(request, working=False)))

    async def algo_details(self, request: web.Request, _: Any) -> web.Response:
        """GET /trade/order-algo?algoId|algoClOrdId."""
        algo = self.engine.find_algo(request.query.get("algoId", ""), request.query.get("algoClOrdId", ""))
        if algo is None:
            return web.json_response(m.envelope([], "51603", "Order does not exist"))
        return web.json_response(m.envelope([m.algo_row(algo)]))

    # -- order actions (REST) -----------------------------------------------------------------

    async def _act(self, items: list[dict], action: Callable[[dict], Outcome], row: Callable[[Outcome], dict]) -> web.Response:
        results = []
        for args in items:
            try:
                outcome = action(args)
            except RequestError as error:
                if len(items) == 1:
                    raise  # OKX answers a malformed single request with the top-level code, e.g. 51000 "Parameter sz error"
                outcome = Outcome(error.code, error.msg, cl_ord_id=str(args.get("clOrdId", "")), algo_cl_ord_id=str(args.get("algoClOrdId", "")))
            results.append(outcome)
        await self.flush()
        data = [row(o) for o in results]
        if all(o.ok for o in results):
            return web.json_response(m.envelope(data))
        code = "1" if len(results) == 1 else ("2" if any(o.ok for o in results) else "1")
        msg = "All operations failed" if code == "1" else "Bulk operation partially succeeded"
        return web.json_response(m.envelope(data, code, msg))

    @staticmethod
    def _order_ack(o: Outcome) -> dict:
        return {"ordId": o.ord_id, "clOrdId": o.cl_ord_id, "tag": o.tag, "ts": str(o.ts), "sCode": o.code, "sMsg": o.msg}

    @staticmethod
    def _algo_ack(o: Outcome) -> dict:
        return {"algoId": o.algo_id, "clOrdId": "", "algoClOrdId": o.algo_cl_ord_id, "tag": o.tag, "sCode": o.code, "sMsg": o.msg}

    @staticmethod
    def _items(payload: Any) -> list[dict]:
        if isinstance(payload, dict):
            return [payload]
        if isinstance(payload, list) and all(isinstance(i, dict) for i in payload):
            return payload
        raise RequestError("50002", "Json data format error")

    def _order_action(self, action: Callable[[dict], Outcome], ack: Callable[[Outcome], dict], batch: bool) -> Callable[[web.Request, Any], Awaitable[web.Response]]:
        """A POST /trade/... handler: the body's item (or items, for a batch endpoint) through one engine action."""

        async def handler(request: web.Request, payload: Any) -> web.Response:
            items = self._items(payload)
            return await self._act(items if batch else items[:1], action, ack)

        return handler

    # -- WebSockets ---------------------------------------------------------------------------

    def _ws_handler(self, kind: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            if time.monotonic() < self.refused_until.get(kind, 0.0):
                self.requests.append({"ws": kind, "op": "connect", "status": 503})
                return web.Response(status=503, text="injected: WebSocket upgrades refused")
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            self._conn_numbers += 1
            conn = Connection(kind, ws, self._conn_numbers)
            self.connections.append(conn)
            self.requests.append({"ws": kind, "op": "connect", "conn": conn.number})
            logger.info(f"okx-sim: {kind} WebSocket c{conn.number} connected")
            try:
                async for msg in ws:
                    self._last_inbound = time.monotonic()
                    if msg.type != WSMsgType.TEXT:
                        continue
                    await self._on_frame(conn, msg.data)
            finally:
                if conn in self.connections:
                    self.connections.remove(conn)
                logger.info(f"okx-sim: {kind} WebSocket c{conn.number} closed")
            return ws

        return handler

    async def _send(self, conn: Connection, payload: dict | str) -> None:
        if conn.stalled or conn.ws.closed:
            return
        try:
            await conn.ws.send_str(payload if isinstance(payload, str) else json.dumps(payload))
        except (ConnectionResetError, RuntimeError):  # closed while sending
            pass

    async def _on_frame(self, conn: Connection, text: str) -> None:
        if text == "ping":
            await self._send(conn, "pong")
            return
        try:
            frame = json.loads(text)
            op = frame["op"]
        except (json.JSONDecodeError, KeyError, TypeError):
            await self._send(conn, {"event": "error", "code": "60012", "msg": f"Invalid request: {text[:200]}", "connId": f"c{conn.number}"})
            return
        self.requests.append({"ws": conn.kind, "op": op, "conn": conn.number})
        if op == "login":
            args = (frame.get("args") or [{}])[0]
            failure = check_login(self.creds, args, time.time())
            if failure is not None:
                logger.warning(f"okx-sim: login refused on {conn.kind}: {failure.code} {failure.msg}")
                await self._send(conn, {"event": "error", "code": failure.code, "msg": failure.msg, "connId": f"c{conn.number}"})
                return
            conn.logged_in = True
            await self._send(conn, {"event": "login", "code": "0", "msg": "", "connId": f"c{conn.number}"})
        elif op in ("subscribe", "unsubscribe"):
            await self._subscribe(conn, op, frame.get("args") or [])
        elif op in ("order", "batch-orders", "cancel-order", "batch-cancel-orders", "amend-order", "batch-amend-orders", "mass-cancel"):
            await self._order_op(conn, frame)
        else:
            await self._send(conn, {"event": "error", "code": "60012", "msg": f"Invalid request: unknown op {op}", "connId": f"c{conn.number}"})

    async def _subscribe(self, conn: Connection, op: str, args: list[dict]) -> None:
        for arg in args:
            channel = str(arg.get("channel", ""))
            allowed = {"public": PUBLIC_CHANNELS, "private": PRIVATE_CHANNELS, "business": BUSINESS_CHANNELS}[conn.kind]
            ok = channel in allowed or (conn.kind == "business" and channel.startswith("candle"))
            if not ok:
                await self._send(conn, {"event": "error", "code": "60018", "msg": f"Wrong URL or channel:{channel}, instId or instType or ccy or uly doesn't exist.", "connId": f"c{conn.number}"})
                continue
            if conn.kind in ("private",) or channel in ("orders-algo", "algo-advance"):
                if not conn.logged_in:
                    await self._send(conn, {"event": "error", "code": "60011", "msg": "Please log in", "connId": f"c{conn.number}"})
                    continue
            if op == "subscribe":
                conn.subscriptions.append(arg)
                if channel.startswith("candle") or channel in ("trades", "books"):
                    self._subscribed.set()
            else:
                conn.subscriptions = [a for a in conn.subscriptions if a != arg]
            await self._send(conn, {"event": op, "arg": arg, "connId": f"c{conn.number}"})
            if op == "subscribe" and self.session is not None:
                await self.session.on_subscribe(conn, arg)
            if op == "subscribe" and channel == "account":
                await self._send(conn, {"arg": arg, "data": [self.account()]})

    async def _order_op(self, conn: Connection, frame: dict) -> None:
        op, req_id, args = frame["op"], str(frame.get("id", "")), frame.get("args") or []
        if not conn.logged_in:
            await self._send(conn, {"id": req_id, "op": op, "code": "60011", "msg": "Please log in", "data": []})
            return
        fault = self.faults.take("ws_op", op)
        if fault is not None:
            logger.warning(f"okx-sim: injected {fault.kind} on WebSocket op {op} (id {req_id})")
            if fault.kind == "drop":
                return
            if fault.kind == "50011":
                data = [{"clOrdId": a.get("clOrdId", ""), "ordId": "", "tag": a.get("tag", ""), "ts": str(self.now_ms), "sCode": "50011", "sMsg": "Too Many Requests"} for a in args]
                await self._send(conn, {"id": req_id, "op": op, "code": "1", "msg": "", "data": data, "inTime": "", "outTime": ""})
                return
        action = {
            "order": self.engine.place_order, "batch-orders": self.engine.place_order, "cancel-order": self.engine.cancel_order,
            "batch-cancel-orders": self.engine.cancel_order, "amend-order": self.engine.amend_order, "batch-amend-orders": self.engine.amend_order,
        }.get(op)
        if action is None:  # mass-cancel
            outcomes = [self.engine.cancel_order({"instId": o.inst_id, "ordId": o.ord_id}) for o in self.engine.open_orders()]
            data = [{"result": True}]
        else:
            outcomes = []
            for a in args:
                try:
                    outcomes.append(action(a))
                except RequestError as error:
                    outcomes.append(Outcome(error.code, error.msg, cl_ord_id=str(a.get("clOrdId", ""))))
            data = [{**self._order_ack(o), "reqId": ""} for o in outcomes]
        ok = all(o.ok for o in outcomes)
        reply = {"id": req_id, "op": op, "code": "0" if ok else ("1" if len(outcomes) <= 1 else "2"), "msg": "" if ok else "All operations failed", "data": data, "inTime": "", "outTime": ""}
        if fault is not None and fault.kind == "slow":
            await self.flush()  # the venue acted; the ack is late
            await asyncio.sleep(fault.delay_s)
            await self._send(conn, reply)
            return
        await self._send(conn, reply)
        await self.flush()

    # -- pushes -------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Send the engine's pending order / algo / account changes to the sockets that subscribed to them."""
        events, self.engine.events = self.engine.events, []
        account_sent = False
        for channel, record in events:
            if channel == "account":
                if account_sent:
                    continue
                account_sent = True
                await self.push("private", "account", "", self.account())
            elif channel == "orders":
                await self.push("private", "orders", record.inst_id, m.order_row(record, record.last_fill))
            else:  # OKX pushes trailing (advance) algo orders on algo-advance, the others on orders-algo
                channel = "algo-advance" if record.ord_type == "move_order_stop" else "orders-algo"
                await self.push("business", channel, record.inst_id, m.algo_row(record))

    async def push(self, kind: str, channel: str, inst_id: str, row: Any, action: str | None = None) -> None:
        """Send one data row to every socket of `kind` subscribed to `channel` (held back while a reorder fault collects);
        `action` for `books` (snapshot | update)."""
        for conn in list(self.connections):
            if conn.kind != kind:
                continue
            arg = conn.wants(channel, inst_id)
            if arg is None:
                continue
            frame = json.dumps({"arg": arg, "action": action, "data": [row]} if action else {"arg": arg, "data": [row]})
            if channel not in ("trades", "books", "bbo-tbt") and not channel.startswith("candle"):
                self.pushed.append((kind, channel, row))
            hold = conn.held.get(channel)
            if hold is None and (fault := self.faults.take("push", channel)) is not None:
                hold = conn.held[channel] = (fault.count, [])
            if hold is None:
                await self._send(conn, frame)
                continue
            count, frames = hold
            frames.append(frame)
            if len(frames) >= count:  # the whole batch is here: send it backwards
                del conn.held[channel]
                logger.warning(f"okx-sim: sending {len(frames)} {channel} pushes in reverse order")
                for held in reversed(frames):
                    await self._send(conn, held)

    # -- the player ---------------------------------------------------------------------------

    async def _play(self) -> None:
        if self.player.start_on_subscribe:
            await self._subscribed.wait()
            await asyncio.sleep(self.player.warmup_s)
        self.started.set()
        logger.info(f"okx-sim: playing {len(self.path.steps)} minutes from {_iso(self.path.steps[0].ts)} at {self.player.step_s} s a minute")
        while not self.path.done:
            while self.paused:
                await asyncio.sleep(0.05)
            await self.step(paced=self.session is not None)
            if self.session is None:  # a paced minute took its time already
                await asyncio.sleep(self.player.step_s)
            while self.player.settle_s and time.monotonic() - self._last_inbound < self.player.settle_s:
                await asyncio.sleep(self.player.settle_s / 4)
        self.finished.set()
        logger.info(f"okx-sim: price path finished at {_iso(self.now_ms)}")

    async def step(self, paced: bool = False) -> bool:
        """Play the next minute of the path (`paced`: each price at its time within `step_s`, else at once); False at its end."""
        step = self.path.next_step()
        if step is None:
            return False
        points = [(ts, price, candle) for candle in step.candles for ts, price in candle.prices()]
        if paced:
            points.sort(key=lambda point: point[0])
            self.session.minute_started(step.ts)
        started = time.monotonic()
        for ts, price, candle in points:
            if paced:
                await asyncio.sleep(max(0.0, started + (ts - step.ts) / MINUTE_MS * self.player.step_s - time.monotonic()))
            px = Decimal(str(price))
            self.now_ms = ts
            if self.session is not None and self.session.serves(candle.inst_id):
                await self.session.path_trade(px, ts)  # the book moves to the path price, then the trade prints there
                continue
            self.engine.on_trade(candle.inst_id, px, ts)
            self._trade_ids += 1
            size = Decimal(str(round(candle.volume_contracts / 4, 2))) or Decimal("0.01")
            await self.push("public", "trades", candle.inst_id, m.trade_push(candle.inst_id, self._trade_ids, px, size, "buy", ts))
            await self.flush()
        self.now_ms = step.ts + MINUTE_MS - 1
        for candle in step.candles:
            row = m.candle_push(
                candle.ts, m.num(Decimal(str(candle.open))), m.num(Decimal(str(candle.high))), m.num(Decimal(str(candle.low))),
                m.num(Decimal(str(candle.close))), m.num(Decimal(str(candle.volume_contracts))), m.num(Decimal(str(candle.volume))),
                m.num(Decimal(str(round(candle.volume * candle.close, 2)))), confirm=True,
            )
            await self.push("business", "candle1m", candle.inst_id, row)
        return True

    # -- operator API -------------------------------------------------------------------------

    def status(self) -> dict:
        """What the venue is doing, for `/sim/status`."""
        return {
            "now": _iso(self.now_ms), "now_ms": self.now_ms, "minutes_played": self.path.position, "minutes_total": len(self.path.steps),
            "data_window": [_iso(t) for t in self.path.data_window], "time_shift_ms": self.path.shift_ms,
            "started": self.started.is_set(), "finished": self.finished.is_set(), "paused": self.paused,
            "connections": [{"kind": c.kind, "id": f"c{c.number}", "logged_in": c.logged_in, "subscriptions": c.subscriptions, "stalled": c.stalled} for c in self.connections],
            "open_orders": len(self.engine.open_orders()), "open_algo_orders": len(self.engine.open_algos()),
            "pending_faults": [f.__dict__ for f in self.faults.pending],
            "session": self.session.status() if self.session is not None else None,
        }

    def ledger_view(self) -> dict:
        """Balances, positions, fills and orders, for `/sim/ledger` and tests."""
        e = self.engine
        return {
            "account": self.account(), "positions": self.position_rows(), "fills": [m.fill_row(f) for f in e.ledger.fills],
            "orders": [m.order_row(o) for o in e.orders.values()], "algo_orders": [m.algo_row(a) for a in e.algos.values()],
            "rejections": [{"clOrdId": c, "code": code, "msg": msg} for c, code, msg in e.rejections],
            "cash": m.num(e.ledger.cash), "realized_pnl": m.num(e.ledger.realized), "fees": m.num(e.ledger.fees_paid),
        }

    async def sim_status(self, request: web.Request) -> web.Response:
        """GET /sim/status."""
        return web.json_response(self.status())

    async def sim_ledger(self, request: web.Request) -> web.Response:
        """GET /sim/ledger."""
        return web.json_response(self.ledger_view())

    async def sim_step(self, request: web.Request) -> web.Response:
        """POST /sim/step?n=1: play minutes now (also while paused)."""
        n = int(request.query.get("n", "1"))
        played = 0
        for _ in range(n):
            if not await self.step():
                break
            played += 1
        return web.json_response({"played": played, **self.status()})

    async def sim_pause(self, request: web.Request) -> web.Response:
        """POST /sim/pause: stop the clock (manual steps still work)."""
        self.paused = True
        return web.json_response(self.status())

    async def sim_resume(self, request: web.Request) -> web.Response:
        """POST /sim/resume."""
        self.paused = False
        return web.json_response(self.status())

    async def sim_fault(self, request: web.Request) -> web.Response:
        """POST /sim/faults {target, kind, match, delay_s, count}: queue a fault (socket faults act at once)."""
        try:
            fault = Fault.parse(await request.json())
        except (ValueError, TypeError, json.JSONDecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        await self.inject(fault)
        return web.json_response(self.status())

    async def inject(self, fault: Fault) -> None:
        """Queue a fault; socket faults (drop, malformed, stall, refuse, resume) act now."""
        if fault.target != "socket":
            self.faults.add(fault)
            return
        self.faults.fired.append((fault, fault.match))
        if fault.kind == "refuse":
            self.refused_until[fault.match] = time.monotonic() + fault.delay_s
        elif fault.kind == "resume":
            self.refused_until.pop(fault.match, None)
        for conn in [c for c in self.connections if c.kind == fault.match]:
            logger.warning(f"okx-sim: injected socket {fault.kind} on {conn.kind} c{conn.number}")
            if fault.kind in ("drop", "refuse"):
                await conn.ws.close(code=1011, message=b"injected drop")
            elif fault.kind == "malformed":
                await self._send(conn, '{"arg":{"channel":"orders","instType":"SWAP"},"data":[{"instId":')
            elif fault.kind == "stall":
                conn.stalled = True
            else:
                conn.stalled = False


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + " UTC"
