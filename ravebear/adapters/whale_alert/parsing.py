"""Whale Alert JSON -> `WhaleTransaction`. Pure functions; a malformed transfer is skipped with an error naming the field."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from ravebear.adapters.common.parsing import ParseResult as BaseParseResult
from ravebear.adapters.common.parsing import RecordError
from ravebear.adapters.whale_alert.constants import FLOW_INFLOW, FLOW_INTERNAL, FLOW_NONE, FLOW_OUTFLOW
from ravebear.catalog.alt_data.types import WhaleTransaction
from ravebear.time_units import NS_PER_SECOND

EXCHANGE = "exchange"
UNKNOWN = "unknown"
OTHER = "other"


@dataclass
class ParseResult(BaseParseResult):
    """Transfers parsed from one message, one error per skipped transfer, and the next page's cursor."""

    cursor: str | None = None
    count: int = 0  # transactions the page said it holds (REST)


def tier_of(amount_usd: float, tiers_usd: tuple[float, ...]) -> int:
    """Return the 1-based index of the largest tier threshold reached (0 below the first)."""
    return sum(1 for threshold in sorted(tiers_usd) if amount_usd >= threshold)


def flow_of(from_owner_type: str, to_owner_type: str) -> str:
    """Classify a transfer as exchange inflow, outflow, internal (exchange to exchange) or none."""
    from_exchange, to_exchange = from_owner_type == EXCHANGE, to_owner_type == EXCHANGE
    if from_exchange and to_exchange:
        return FLOW_INTERNAL
    if to_exchange:
        return FLOW_INFLOW
    if from_exchange:
        return FLOW_OUTFLOW
    return FLOW_NONE


def owner_type_of_label(label: str, exchange_labels: tuple[str, ...]) -> str:
    """Return the owner type a WebSocket label implies: exchange, unknown or other."""
    text = label.strip().lower()
    if not text or text.startswith("unknown"):
        return UNKNOWN
    known = {name.lower() for name in exchange_labels}
    if text in known or any(text.startswith(f"{name} ") for name in known):
        return EXCHANGE
    return OTHER


def _field(record: Any, name: str, where: str = "") -> Any:
    if not isinstance(record, dict):
        raise RecordError(f"'{where.rstrip('.') or 'record'}' is not an object: {record!r}")
    if name not in record or record[name] is None:
        raise RecordError(f"missing field '{where}{name}'")
    return record[name]


def _number(record: Any, name: str, where: str = "") -> float:
    value = _field(record, name, where)
    if isinstance(value, bool):
        raise RecordError(f"field '{where}{name}' is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecordError(f"field '{where}{name}' is not a number: {value!r}") from None
    if math.isnan(number) or math.isinf(number):
        raise RecordError(f"field '{where}{name}' is not finite: {value!r}")
    return number


def parse_transaction(tx: Any, tiers_usd: tuple[float, ...], ts_init: int | None = None) -> WhaleTransaction:
    """Parse one v1 REST transaction."""
    sender, receiver = _field(tx, "from"), _field(tx, "to")
    from_type = str(_field(sender, "owner_type", "from."))
    to_type = str(_field(receiver, "owner_type", "to."))
    amount_usd = _number(tx, "amount_usd")
    tx_hash = str(_field(tx, "hash"))
    ts_event = int(_number(tx, "timestamp")) * NS_PER_SECOND
    return WhaleTransaction(
        transaction_id=str(tx.get("id") or tx_hash),
        blockchain=str(_field(tx, "blockchain")),
        symbol=str(_field(tx, "symbol")).lower(),
        transaction_type=str(tx.get("transaction_type", "transfer")),
        hash=tx_hash,
        amount=_number(tx, "amount"),
        amount_usd=amount_usd,
        from_address=str(sender.get("address") or ""),
        from_owner=str(sender.get("owner") or ""),
        from_owner_type=from_type,
        to_address=str(receiver.get("address") or ""),
        to_owner=str(receiver.get("owner") or ""),
        to_owner_type=to_type,
        tier=tier_of(amount_usd, tiers_usd),
        flow=flow_of(from_type, to_type),
        source="rest",
        ts_event=ts_event,
        ts_init=ts_init or ts_event,
    )


def parse_transactions(raw: Any, tiers_usd: tuple[float, ...], ts_init: int | None = None) -> ParseResult:
    """Parse a v1 `/transactions` page: `{result, cursor, count, transactions:[...]}`."""
    result = ParseResult()
    if not isinstance(raw, dict):
        result.errors.append(f"transactions: expected an object, got {type(raw).__name__}")
        return result
    if raw.get("result") != "success":
        result.errors.append(f"transactions: result is {raw.get('result')!r}: {raw.get('message', '')}")
        return result
    result.cursor = raw.get("cursor") or None
    transactions = raw.get("transactions") or []
    result.count = int(raw.get("count", len(transactions)) or 0)
    if not isinstance(transactions, list):
        result.errors.append("transactions: field 'transactions' is not a list")
        return result
    for index, tx in enumerate(transactions):
        try:
            result.records.append(parse_transaction(tx, tiers_usd, ts_init))
        except RecordError as exc:
            ident = tx.get("id") if isinstance(tx, dict) else None
            result.errors.append(f"transaction {index}{f' (id {ident})' if ident else ''}: {exc}")
    return result


def alert_id(alert: dict[str, Any]) -> str:
    """Return a stable id for a WebSocket alert (alerts carry no transaction id): a digest of its content."""
    canonical = json.dumps({k: alert.get(k) for k in ("timestamp", "blockchain", "transaction_type", "from", "to", "amounts")}, sort_keys=True)
    return "ws-" + hashlib.sha1(canonical.encode()).hexdigest()[:20]


def parse_alert(
    alert: Any, tiers_usd: tuple[float, ...], exchange_labels: tuple[str, ...], ts_init: int | None = None,
) -> ParseResult:  # fmt: skip
    """Parse one WebSocket alert event into one transfer per entry of `amounts`."""
    result = ParseResult()
    try:
        timestamp = int(_number(alert, "timestamp"))
        blockchain = str(_field(alert, "blockchain"))
        sender, receiver = str(_field(alert, "from")), str(_field(alert, "to"))
        amounts = _field(alert, "amounts")
        if not isinstance(amounts, list):
            raise RecordError("field 'amounts' is not a list")
    except RecordError as exc:
        result.errors.append(f"alert: {exc}")
        return result
    from_type, to_type = owner_type_of_label(sender, exchange_labels), owner_type_of_label(receiver, exchange_labels)
    identifier = alert_id(alert)
    for index, entry in enumerate(amounts):
        try:
            amount_usd = _number(entry, "value_usd", "amounts[].")
            result.records.append(
                WhaleTransaction(
                    transaction_id=f"{identifier}-{index}",
                    blockchain=blockchain,
                    symbol=str(_field(entry, "symbol", "amounts[].")).lower(),
                    transaction_type=str(alert.get("transaction_type", "transfer")),
                    hash="",
                    amount=_number(entry, "amount", "amounts[]."),
                    amount_usd=amount_usd,
                    from_address="",
                    from_owner="" if from_type == UNKNOWN else sender,
                    from_owner_type=from_type,
                    to_address="",
                    to_owner="" if to_type == UNKNOWN else receiver,
                    to_owner_type=to_type,
                    tier=tier_of(amount_usd, tiers_usd),
                    flow=flow_of(from_type, to_type),
                    source="websocket",
                    ts_event=timestamp * NS_PER_SECOND,
                    ts_init=ts_init or timestamp * NS_PER_SECOND,
                ),
            )
        except RecordError as exc:
            result.errors.append(f"alert amounts[{index}]: {exc}")
    return result


def message_kind(message: Any) -> str:
    """Tell WebSocket messages apart: subscribed, error, alert, social or unknown (alerts have no `type`)."""
    if not isinstance(message, dict):
        return "unknown"
    if "error" in message:
        return "error"
    kind = message.get("type")
    if kind in ("subscribed_alerts", "subscribed_socials"):
        return "subscribed"
    if kind is None and "amounts" in message:
        return "alert"
    if kind is None and "urls" in message:
        return "social"
    return "unknown"
