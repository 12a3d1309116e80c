"""OKX v5 JSON for the venue's records: WebSocket pushes and REST rows, every number a string as OKX sends it.

Field lists follow OKX's documentation and what nautilus 1.231 parses (docs/OKX_1231_ORDERS.md);
fields nautilus does not need are still sent when OKX sends them, so the frames look like OKX's.
"""

from __future__ import annotations

from decimal import Decimal

from ravebear.simulators.okx_venue.ledger import ZERO, Fill, Position, VenueInstrument
from ravebear.simulators.okx_venue.orders import AlgoOrder, Order


def num(value: Decimal | int | float | None) -> str:
    """A number as OKX writes it (plain decimal, no exponent); "" for None."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    return str(value)


def envelope(data: list, code: str = "0", msg: str = "") -> dict:
    """The REST response envelope."""
    return {"code": code, "msg": msg, "data": data}


def instrument_row(inst: VenueInstrument, list_time_ms: int) -> dict:
    """A `public/instruments` row of a linear USDT swap."""
    base = inst.inst_id.split("-")[0]
    return {
        "instType": "SWAP", "instId": inst.inst_id, "uly": f"{base}-USDT", "instFamily": f"{base}-USDT", "baseCcy": "", "quoteCcy": "",
        "settleCcy": "USDT", "ctVal": num(inst.ct_val), "ctMult": "1", "ctValCcy": base, "optType": "", "stk": "",
        "listTime": str(list_time_ms), "expTime": "", "lever": str(inst.max_lever), "tickSz": num(inst.tick_sz), "lotSz": num(inst.lot_sz),
        "minSz": num(inst.min_sz), "ctType": "linear", "state": "live", "ruleType": "normal", "maxLmtSz": "100000000", "maxMktSz": "12000",
        "maxLmtAmt": "20000000", "maxMktAmt": "", "maxTwapSz": "", "maxIcebergSz": "", "maxTriggerSz": "", "maxStopSz": "",
        "instIdCode": inst.inst_id_code,
    }


def order_row(order: Order, fill: Fill | None = None) -> dict:
    """An order as the `orders` channel pushes it (and orders-pending/-history return it); `fill` = this push's fill."""
    attached = [
        {
            "attachAlgoId": a.attach_algo_id, "attachAlgoClOrdId": a.attach_algo_cl_ord_id,
            "slTriggerPx": num(a.sl_trigger_px), "slOrdPx": a.sl_ord_px if a.sl_trigger_px is not None else "",
            "slTriggerPxType": a.sl_trigger_px_type if a.sl_trigger_px is not None else "",
            "tpTriggerPx": num(a.tp_trigger_px), "tpOrdPx": a.tp_ord_px if a.tp_trigger_px is not None else "",
            "tpTriggerPxType": a.tp_trigger_px_type if a.tp_trigger_px is not None else "",
            "sz": "", "amendPxOnTriggerType": "0", "failCode": "", "failReason": "",
        }
        for a in order.attached
    ]
    return {
        "instType": "SWAP", "instId": order.inst_id, "tgtCcy": "", "ccy": "USDT", "ordId": order.ord_id, "clOrdId": order.cl_ord_id,
        "algoClOrdId": order.algo_cl_ord_id, "algoId": order.algo_id, "tag": order.tag, "px": num(order.px), "pxUsd": "", "pxVol": "", "pxType": "",
        "sz": num(order.sz), "notionalUsd": "", "ordType": order.ord_type, "side": order.side, "posSide": "net", "tdMode": order.td_mode,
        "fillPx": num(fill.px) if fill else "", "tradeId": fill.trade_id if fill else "", "fillSz": num(fill.sz) if fill else "0",
        "fillPnl": num(fill.pnl) if fill else "", "fillTime": str(fill.ts) if fill else "", "fillFee": num(fill.fee) if fill else "",
        "fillFeeCcy": "USDT" if fill else "", "execType": fill.exec_type if fill else "", "accFillSz": num(order.acc_fill_sz),
        "fillNotionalUsd": "", "avgPx": num(order.avg_px) if order.acc_fill_sz else "0", "state": order.state, "lever": order.lever,
        "attachAlgoClOrdId": "", "attachAlgoOrds": attached, "tpTriggerPx": "", "tpTriggerPxType": "", "tpOrdPx": "", "slTriggerPx": "",
        "slTriggerPxType": "", "slOrdPx": "", "stpId": "", "stpMode": "cancel_maker", "feeCcy": "USDT", "fee": num(order.fee),
        "rebateCcy": "USDT", "rebate": "0", "pnl": num(order.pnl), "source": "", "cancelSource": order.cancel_source, "cancelSourceReason": "",
        "category": order.category, "uTime": str(order.u_time), "cTime": str(order.c_time), "reduceOnly": "true" if order.reduce_only else "false",
        "amendResult": "", "reqId": "", "code": "0", "msg": "", "isTpLimit": "false", "quickMgnType": "",
    }


def algo_row(algo: AlgoOrder) -> dict:
    """An algo order as the `orders-algo` channel pushes it (and order-algo-pending/-history return it)."""
    return {
        "instType": "SWAP", "instId": algo.inst_id, "ccy": "", "ordId": algo.ord_id, "ordIdList": [algo.ord_id] if algo.ord_id else [],
        "algoId": algo.algo_id, "clOrdId": algo.cl_ord_id, "algoClOrdId": algo.algo_cl_ord_id, "sz": num(algo.sz), "closeFraction": "",
        "ordType": algo.ord_type, "side": algo.side, "posSide": "net", "tdMode": algo.td_mode, "tgtCcy": "", "lever": algo.lever,
        "state": algo.state, "tpTriggerPx": num(algo.tp_trigger_px), "tpTriggerPxType": "last" if algo.tp_trigger_px is not None else "",
        "tpOrdPx": algo.tp_ord_px if algo.tp_trigger_px is not None else "", "slTriggerPx": num(algo.sl_trigger_px),
        "slTriggerPxType": "last" if algo.sl_trigger_px is not None else "", "slOrdPx": algo.sl_ord_px if algo.sl_trigger_px is not None else "",
        "triggerPx": num(algo.trigger_px), "triggerPxType": algo.trigger_px_type if algo.trigger_px is not None else "",
        "ordPx": algo.order_px if algo.ord_type == "trigger" else "", "actualSz": num(algo.actual_sz) if algo.actual_sz is not None else "0",
        "actualPx": num(algo.actual_px), "actualSide": algo.actual_side, "tag": algo.tag, "notionalUsd": "",
        "triggerTime": str(algo.trigger_time) if algo.trigger_time else "", "reduceOnly": "true" if algo.reduce_only else "false",
        "callbackRatio": num(algo.callback_ratio), "callbackSpread": num(algo.callback_spread), "activePx": num(algo.active_px),
        "moveTriggerPx": num(algo.move_trigger_px), "failCode": algo.fail_code, "amendPxOnTriggerType": "0", "last": "",
        "cTime": str(algo.c_time), "uTime": str(algo.u_time), "pTime": str(algo.u_time), "isTradeBorrowMode": "",
        "chaseType": "", "chaseVal": "", "maxChaseType": "", "maxChaseVal": "", "advanceOrdType": "",
    }


def fill_row(fill: Fill) -> dict:
    """A `trade/fills` row."""
    return {
        "instType": "SWAP", "instId": fill.inst_id, "tradeId": fill.trade_id, "ordId": fill.ord_id, "clOrdId": fill.cl_ord_id,
        "billId": fill.bill_id, "subType": "1" if fill.side == "buy" else "2", "tag": fill.tag, "fillPx": num(fill.px), "fillSz": num(fill.sz),
        "fillIdxPx": "", "fillPnl": num(fill.pnl), "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "", "fillMarkPx": "",
        "side": fill.side, "posSide": "net", "execType": fill.exec_type, "feeCcy": "USDT", "fee": num(fill.fee), "ts": str(fill.ts),
        "fillTime": str(fill.ts),
    }


def position_row(position: Position, inst: VenueInstrument, mark: Decimal, leverage: int, now_ms: int) -> dict:
    """An `account/positions` row (net mode, cross margin)."""
    upl = (mark - position.avg_px) * position.pos * inst.ct_val if position.pos else ZERO
    notional = abs(position.pos) * inst.ct_val * mark
    return {
        "adl": "1", "availPos": "", "avgPx": num(position.avg_px), "baseBal": "", "baseBorrowed": "", "baseInterest": "", "bePx": "",
        "bizRefId": "", "bizRefType": "", "cTime": str(position.c_time), "ccy": "USDT", "clSpotInUseAmt": "", "closeOrderAlgo": [],
        "deltaBS": "", "deltaPA": "", "fee": num(position.fee), "fundingFee": "0", "gammaBS": "", "gammaPA": "", "idxPx": num(mark),
        "imr": num(notional / leverage), "instId": inst.inst_id, "instType": "SWAP", "interest": "", "last": num(mark), "lever": str(leverage),
        "liab": "", "liabCcy": "", "liqPenalty": "0", "liqPx": "", "margin": "", "markPx": num(mark), "maxSpotInUseAmt": "", "mgnMode": "cross",
        "mgnRatio": "", "mmr": num(notional * inst.maint_margin), "notionalUsd": num(notional), "optVal": "", "pendingCloseOrdLiabVal": "",
        "pnl": num(position.realized_pnl), "pos": num(position.pos), "posCcy": "", "posId": str(position.pos_id), "posSide": "net",
        "quoteBal": "", "quoteBorrowed": "", "quoteInterest": "", "realizedPnl": num(position.realized_pnl + position.fee), "spotInUseAmt": "",
        "spotInUseCcy": "", "thetaBS": "", "thetaPA": "", "tradeId": position.trade_id, "uTime": str(position.u_time), "upl": num(upl),
        "uplLastPx": num(upl), "uplRatio": "", "uplRatioLastPx": "", "usdPx": "", "vegaBS": "", "vegaPA": "", "nonSettleAvgPx": "",
        "settledPnl": "",
    }


_DETAIL_KEYS = (
    "accAvgPx", "availBal", "availEq", "borrowFroz", "cashBal", "ccy", "clSpotInUseAmt", "crossLiab", "disEq", "eq", "eqUsd", "fixedBal",
    "frozenBal", "imr", "interest", "isoEq", "isoLiab", "isoUpl", "liab", "maxLoan", "maxSpotInUseAmt", "mgnRatio", "mmr", "notionalLever",
    "openAvgPx", "ordFrozen", "rewardBal", "smtSyncEq", "spotBal", "spotCopyTradingEq", "spotInUseAmt", "spotIsoBal", "spotUpl",
    "spotUplRatio", "stgyEq", "totalPnl", "totalPnlRatio", "twap", "uTime", "upl", "uplLiab",
)


def account_row(cash: Decimal, equity: Decimal, imr: Decimal, mmr: Decimal, upl: Decimal, available: Decimal, now_ms: int) -> dict:
    """The `account/balance` row (and `account` channel push) of a USDT-only cross-margin account."""
    detail = dict.fromkeys(_DETAIL_KEYS, "")
    detail.update(
        ccy="USDT", cashBal=num(cash), eq=num(equity), eqUsd=num(equity), disEq=num(equity), availBal=num(available), availEq=num(available),
        frozenBal=num(max(ZERO, equity - available)), imr=num(imr), mmr=num(mmr), upl=num(upl), ordFrozen="0", uTime=str(now_ms),
        isoEq="0", crossLiab="0", liab="0", interest="0", notionalLever="",
    )
    return {
        "adjEq": num(equity), "availEq": num(available), "borrowFroz": "", "details": [detail], "imr": num(imr), "isoEq": "0",
        "mgnRatio": num(equity / mmr) if mmr else "", "mmr": num(mmr), "notionalUsd": "", "notionalUsdForBorrow": "", "notionalUsdForFutures": "",
        "notionalUsdForOption": "", "notionalUsdForSwap": "", "ordFroz": "", "totalEq": num(equity), "uTime": str(now_ms), "upl": num(upl),
    }


def trade_push(inst_id: str, trade_id: int, px: Decimal, sz: Decimal, side: str, ts: int) -> dict:
    """A `trades` channel row."""
    return {"instId": inst_id, "tradeId": str(trade_id), "px": num(px), "sz": num(sz), "side": side, "count": "1", "ts": str(ts)}


def candle_push(ts: int, o: str, h: str, l: str, c: str, vol: str, vol_ccy: str, vol_quote: str, confirm: bool) -> list[str]:  # noqa: E741
    """A `candle1m` row: [ts, o, h, l, c, vol (contracts), volCcy (base), volCcyQuote, confirm]."""
    return [str(ts), o, h, l, c, vol, vol_ccy, vol_quote, "1" if confirm else "0"]
