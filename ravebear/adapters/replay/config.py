"""Config of the catalog replay data client."""

from nautilus_trader.config import LiveDataClientConfig

ORDER_FLOW_KINDS = ("trades", "book", "quotes")  # `data:` kinds besides bars that a replay serves


class ReplayDataClientConfig(LiveDataClientConfig, frozen=True, kw_only=True):
    """What to replay and how fast (units in the comments)."""

    catalog_path: str
    venue: str = "OKX"  # the venue whose subscriptions this client serves
    instrument_ids: tuple[str, ...] = ()
    start_ns: int | None = None  # UNIX ns, inclusive
    end_ns: int | None = None  # UNIX ns, inclusive
    speed: float = 0.0  # 0: as fast as the node takes it (each item fully handled first); N: N x real time
    max_gap_secs: float = 5.0  # longest wall-clock wait for a gap in the data, seconds
    custom_data: tuple[str, ...] = ()  # "module:Class" custom data types to interleave by time (alt data)
    custom_client_id: str = "ALTDATA"  # client id strategies subscribe custom data from
    # the run file's `data:` entries in their order, (kind, instrument id, start ns | None, end ns | None): kinds
    # trades / book / quotes are served whole over their own range (as a backtest streams them, whether subscribed
    # or not: the sandbox fills on them); the bars entries only order bars that tie in time, as a backtest does
    entries: tuple[tuple[str, str, int | None, int | None], ...] = ()
