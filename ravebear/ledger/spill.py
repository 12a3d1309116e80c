"""The writer's spill file: queued items it could not write, one JSON object a line (`{"insert": table, "rows": [...]}`
or `{"update": row_id, "values": {...}, "table": name}`, times as ISO text), appended and fsynced, read back on the next start."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from ravebear.ledger.batches import SHAPES, Insert, Item, TableShape, Update, size
from ravebear.ledger.models import LevelTouch


def append(path: Path, items: Iterable[Item]) -> int:
    """Append `items` to the file at `path` (created with its folder); returns the rows written."""
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for item in items:
            if isinstance(item, Insert):
                record = {"insert": item.table.name, "rows": item.rows}
            else:
                record = {"update": item.touch_id, "values": item.values, "table": item.table_name}
            out.write(json.dumps(record, default=_json_default) + "\n")
            rows += size(item)
        out.flush()
        os.fsync(out.fileno())
    return rows


def read(path: Path) -> list[Item]:
    """The items of a spill file; a last line cut short by a kill is skipped, the rest kept."""
    items: list[Item] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("insert") in SHAPES:
            shape = SHAPES[record["insert"]]
            items.append(Insert(shape, [_from_json(shape, row) for row in record["rows"]]))
        elif "update" in record:
            table = record.get("table", LevelTouch.__tablename__)
            items.append(Update(record["update"], _from_json(SHAPES[table], record["values"]), table))
    return items


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # a value of a type the database refused: kept as text rather than lost


def _from_json(shape: TableShape, row: dict[str, Any]) -> dict[str, Any]:
    for name in shape.datetimes & row.keys():
        if isinstance(row[name], str):
            try:
                row[name] = datetime.fromisoformat(row[name])
            except ValueError:
                pass  # not a time: the database refuses it again and the row is set aside
    return row
