"""Alternative-data custom types and their catalog storage.

Importing this package registers a columnar Arrow encoder/decoder for every type with
nautilus's serializer (see `store.register_fast_arrow`).
"""

from ravebear.catalog.alt_data.store import AltDataStore, WriteResult, columns_to_table, records_to_table, register_fast_arrow
from ravebear.catalog.alt_data.types import (
    ALT_DATA_TYPES,
    Dominance,
    FundingRate,
    Liquidation,
    LongShortRatio,
    OpenInterest,
    StablecoinSupply,
    WhaleTransaction,
)

for _cls in ALT_DATA_TYPES:
    register_fast_arrow(_cls)

__all__ = [
    "ALT_DATA_TYPES",
    "AltDataStore",
    "Dominance",
    "FundingRate",
    "Liquidation",
    "LongShortRatio",
    "OpenInterest",
    "StablecoinSupply",
    "WhaleTransaction",
    "WriteResult",
    "columns_to_table",
    "records_to_table",
    "register_fast_arrow",
]
