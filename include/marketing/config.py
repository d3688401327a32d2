"""The one config object: every setting, read once from the environment and the `.env` file.

Each field's environment variable, default and meaning are listed in the README's config table;
`SETTINGS_DOC` below is that table's source, and a test keeps the two in step.

Settings may live in `<project>/.env` (or the file `ENV_FILE` names): every entry point reads
it (the CLI and so every make target, the DAGs through `Settings.from_env()`, the dashboard).
A variable set in the environment wins over the file, so `ATTRIBUTION_LOOKBACK_DAYS=7 make run`
is a one-off and the file is what sticks.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# (env var, default shown in the README, meaning)
SETTINGS_DOC: list[tuple[str, str, str]] = [
    ("WAREHOUSE_URL", "(unset: embedded Postgres)", "SQLAlchemy/libpq URL of the warehouse. Unset: an embedded Postgres 18 whose data lives in `WAREHOUSE_DIR`, started on demand."),
    ("WAREHOUSE_DIR", "`<project>/.warehouse`", "Data directory of the embedded warehouse (git-ignored)."),
    ("LANDING_URL", "`file://<project>/data/landing`", "Root of the landing zone; any scheme `ObjectStoragePath` understands (`s3://`, `gs://`, `file://`)."),
    ("REPORTING_CURRENCY", "`USD`", "Currency that revenue and spend are converted to with `fx_rates`."),
    ("REPORTING_TIMEZONE", "`UTC`", "Time zone that defines a conversion's and an fx rate's day."),
    ("QUARANTINE_MAX_RATE", "`0.01`", "Share of a run's lines that may be quarantined before the quality check fails."),
    ("MAX_FUTURE_HOURS", "`24`", "Events further in the future than this fail the quality check."),
    ("INGEST_SCHEDULE", "`@hourly`", "Schedule of `marketing_ingest` (cron or preset)."),
    ("OWN_DOMAINS", "(empty)", "Comma-separated domains of your own site: referrers on them count as direct."),
    ("CHANNEL_RULES_FILE", "(packaged GA4 rules)", "TOML file with a replacement channel rule set (same shape as `include/marketing/data/channel_rules.toml`)."),
    ("ATTRIBUTION_LOOKBACK_DAYS", "`30`", "Touches up to this many days before a conversion are eligible."),
    ("ATTRIBUTION_HALF_LIFE_DAYS", "`7`", "Half-life of the `time_decay` model."),
    ("ATTRIBUTION_POSITION_WEIGHTS", "`0.4,0.2,0.4`", "First, middle, last weights of `position_based`; must sum to 1."),
    ("ATTRIBUTION_DIRECT_CHANNELS", "`Direct`", "Comma-separated channels that `last_non_direct` skips."),
    ("ATTRIBUTION_UNATTRIBUTED_LABEL", "`Unattributed`", "Channel of a conversion with no eligible touch (e.g. `Direct` for GA parity)."),
    ("ATTRIBUTION_CONVERSION_TYPES", "(empty: all)", "Comma-separated conversion types that are attributed."),
    ("FINAL_CONVERSION_TYPES", "`purchase`", "Comma-separated final conversion types: `marts.roas_daily` counts attributed conversions and revenue of these only (CPA is cost per purchase); every other type is a micro-conversion."),
    ("FUNNEL_STEPS", "`view_item,add_to_cart,begin_checkout,purchase`", "Comma-separated conversion types, in order, that make the steps of `marts.funnel_daily`."),
    ("ATTRIBUTION_MARKOV_PERIOD", "`month`", "Period of one fit of the data-driven `markov` model: `month` (calendar months), `week` (from Monday) or `all` (one fit over all history); docs/data_driven.md."),
    ("CUSTOMER_CONVERSION_TYPES", "`purchase`", "Comma-separated conversion types that are purchases: they make customers and their value (docs/customers.md)."),
    ("ACQUISITION_MODEL", "`first_touch`", "Attribution model whose credits on a customer's first purchase give the acquisition channel (any model; fractional models split customers)."),
    ("COHORT_AGES_DAYS", "`30,90,180,365`", "Comma-separated ages in days at which `marts.cohort_value` gives each cohort's realised value."),
    ("CLV_HORIZON_DAYS", "`365`", "Days ahead over which expected purchases and predicted value are computed."),
    ("SESSION_TIMEOUT_MINUTES", "`30`", "Segment: a page or screen call after more than this many minutes without one starts a new session (a new touchpoint)."),
    ("GA4_CONVERSION_EVENTS", "`purchase=purchase,sign_up=signup,view_item=view_item,add_to_cart=add_to_cart,begin_checkout=begin_checkout`", "GA4 event names that are conversions, as `event_name=conversion_type` pairs."),
    ("SEGMENT_CONVERSION_EVENTS", "`Order Completed=purchase,Signed Up=signup,Product Viewed=view_item,Product Added=add_to_cart,Checkout Started=begin_checkout`", "Segment track events that are conversions, as `event=conversion_type` pairs."),
    ("ORDERS_SOURCE_URL", "(unset: no orders extract)", "libpq URL of the production database to extract conversions from. Inside Airflow the connection `orders_source` wins."),
    ("ORDERS_QUERY_FILE", "(packaged `orders.sql`: table `orders`)", "SQL file of the orders extract; it selects conversion_id, occurred_at, user_id, anonymous_id, conversion_type, revenue, currency, updated_at where `updated_at > %(since)s`."),
    ("ORDERS_OVERLAP_MINUTES", "`10`", "Each orders extract re-reads this many minutes before its watermark, for commits that land late."),
    ("DASHBOARD_WAREHOUSE_URL", "(unset: `WAREHOUSE_URL` as `marketing_reader`)", "URL the dashboard reads the marts with. Unset: the warehouse's server and database, logged in as the role `marketing_reader` that the migrations create, with `DASHBOARD_WAREHOUSE_PASSWORD`. The dashboard refuses a login that can write."),
    ("DASHBOARD_WAREHOUSE_PASSWORD", "(unset: no password)", "Password of the dashboard's login `marketing_reader`; every `migrate` sets it. Unset: the role has no password and can log in only where the server trusts the connection (the embedded warehouse's socket)."),
]
# Read from the `.env` file too, besides SETTINGS_DOC: the local tools' own knobs. Nothing else
# in the file (compose's secrets and AIRFLOW__* overrides) reaches the local processes.
LOCAL_SETTINGS = ("AIRFLOW_PORT", "MARKETING_LOG_LEVEL")
ENV_FILE = "ENV_FILE"  # names the settings file; default <project>/.env


def env_file(environ: dict[str, str] | None = None) -> Path:
    """The settings file: `ENV_FILE`, else `<project>/.env`."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(ENV_FILE) or PROJECT_ROOT / ".env")


def read_env_file(path: Path | None = None) -> dict[str, str]:
    """The project's settings in the `.env` file (empty when there is none); other names are left out."""
    path = env_file() if path is None else path
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    names = {name for name, _, _ in SETTINGS_DOC} | set(LOCAL_SETTINGS)
    return {k: v for k, v in dotenv_values(path).items() if k in names and v is not None}


def load_env_file(path: Path | None = None) -> dict[str, str]:
    """Put the `.env` file's settings into os.environ where the environment does not set them.

    The CLI does this first, so the processes it starts (Airflow, its DAG runs) see them too.
    Returns what it set.
    """
    added = {k: v for k, v in read_env_file(path).items() if k not in os.environ}
    os.environ.update(added)
    return added


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


GA4_CONVERSION_EVENTS = "purchase=purchase,sign_up=signup,view_item=view_item,add_to_cart=add_to_cart,begin_checkout=begin_checkout"
SEGMENT_CONVERSION_EVENTS = ("Order Completed=purchase,Signed Up=signup,Product Viewed=view_item,"
                             "Product Added=add_to_cart,Checkout Started=begin_checkout")


def _pairs(value: str, name: str) -> tuple[tuple[str, str], ...]:
    """`a=b,c=d` as ((a, b), (c, d)); names may hold spaces (`Order Completed=purchase`)."""
    pairs = []
    for part in _csv(value):
        event, sep, kind = part.partition("=")
        if not sep or not event.strip() or not kind.strip():
            raise ValueError(f"{name} must be event=conversion_type pairs, got {part!r}")
        pairs.append((event.strip(), kind.strip()))
    return tuple(pairs)


def _positive(value: str, default: float, name: str) -> float:
    number = float(value) if value else default
    if number <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return number


MARKOV_PERIODS = ("month", "week", "all")


@dataclass(frozen=True)
class AttributionParams:
    """Model parameters; recorded with the results, a change forces a full recompute."""

    lookback_days: int = 30
    half_life_days: float = 7.0
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4)
    direct_channels: tuple[str, ...] = ("Direct",)
    unattributed_label: str = "Unattributed"
    conversion_types: tuple[str, ...] = ()  # empty: every type
    reporting_timezone: str = "UTC"
    final_conversion_types: tuple[str, ...] = ("purchase",)  # what ROAS and CPA count
    funnel_steps: tuple[str, ...] = ("view_item", "add_to_cart", "begin_checkout", "purchase")
    markov_period: str = "month"  # the period of one Markov fit: month | week | all (docs/data_driven.md)

    def __post_init__(self) -> None:
        if self.markov_period not in MARKOV_PERIODS:
            raise ValueError(f"ATTRIBUTION_MARKOV_PERIOD must be one of {', '.join(MARKOV_PERIODS)}, got {self.markov_period!r}")
        if self.lookback_days < 0:
            raise ValueError(f"ATTRIBUTION_LOOKBACK_DAYS must be >= 0, got {self.lookback_days}")
        if self.half_life_days <= 0:
            raise ValueError(f"ATTRIBUTION_HALF_LIFE_DAYS must be > 0, got {self.half_life_days}")
        weights = self.position_weights
        if len(weights) != 3 or any(w < 0 for w in weights) or abs(sum(weights) - 1) > 1e-9:
            raise ValueError(f"ATTRIBUTION_POSITION_WEIGHTS must be three weights >= 0 summing to 1, got {weights}")
        ZoneInfo(self.reporting_timezone)  # raises on an unknown zone
        if not self.final_conversion_types:
            raise ValueError("FINAL_CONVERSION_TYPES must name at least one conversion type")
        if not self.funnel_steps or len(set(self.funnel_steps)) != len(self.funnel_steps):
            raise ValueError(f"FUNNEL_STEPS must be distinct conversion types, at least one, got {self.funnel_steps}")

    def as_json(self) -> str:
        """Canonical JSON, the form stored with the results."""
        return json.dumps(asdict(self), sort_keys=True)

    def describe(self) -> str:
        """The parameters in words, as the report and the dashboard show them."""
        return describe_params(asdict(self))

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.as_json().encode()).hexdigest()[:16]


def describe_params(params: dict) -> str:
    """Model parameters (as stored with the marts) in words."""
    weights = "/".join(f"{float(w):g}" for w in params.get("position_weights") or ())
    types = ", ".join(params.get("conversion_types") or ()) or "all"
    return (f"lookback {params.get('lookback_days')} days, time-decay half-life {float(params.get('half_life_days', 0)):g}"
            f" days, position weights {weights}, direct channels {', '.join(params.get('direct_channels') or ())},"
            f" unattributed label {params.get('unattributed_label')}, conversion types {types},"
            f" time zone {params.get('reporting_timezone')}, Markov period {params.get('markov_period', 'month')}")


@dataclass(frozen=True)
class CustomerParams:
    """Settings of customer value (docs/customers.md); stored with each run."""

    conversion_types: tuple[str, ...] = ("purchase",)
    acquisition_model: str = "first_touch"
    cohort_ages_days: tuple[int, ...] = (30, 90, 180, 365)
    clv_horizon_days: int = 365

    def __post_init__(self) -> None:
        if not self.conversion_types:
            raise ValueError("CUSTOMER_CONVERSION_TYPES must name at least one conversion type")
        if not self.acquisition_model:
            raise ValueError("ACQUISITION_MODEL must name an attribution model")
        ages = self.cohort_ages_days
        if not ages or any(a <= 0 for a in ages) or len(set(ages)) != len(ages):
            raise ValueError(f"COHORT_AGES_DAYS must be distinct whole days > 0, got {ages}")
        if self.clv_horizon_days <= 0:
            raise ValueError(f"CLV_HORIZON_DAYS must be > 0, got {self.clv_horizon_days}")

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Settings:
    """Every setting of the platform; build it with `Settings.from_env()`."""

    warehouse_url: str | None = None
    warehouse_dir: Path = PROJECT_ROOT / ".warehouse"
    landing_url: str = (PROJECT_ROOT / "data" / "landing").as_uri()
    reporting_currency: str = "USD"
    reporting_timezone: str = "UTC"
    quarantine_max_rate: float = 0.01
    max_future_hours: float = 24.0
    ingest_schedule: str = "@hourly"
    own_domains: tuple[str, ...] = ()
    channel_rules_file: Path | None = None
    attribution: AttributionParams = field(default_factory=AttributionParams)
    customers: CustomerParams = field(default_factory=CustomerParams)
    dashboard_warehouse_url: str | None = None
    session_timeout_minutes: float = 30.0
    ga4_conversion_events: tuple[tuple[str, str], ...] = _pairs(GA4_CONVERSION_EVENTS, "GA4_CONVERSION_EVENTS")
    segment_conversion_events: tuple[tuple[str, str], ...] = _pairs(SEGMENT_CONVERSION_EVENTS, "SEGMENT_CONVERSION_EVENTS")
    orders_source_url: str | None = field(default=None, repr=False)  # may carry a password: never in logs
    orders_query_file: Path | None = None
    orders_overlap_minutes: float = 10.0
    dashboard_warehouse_password: str | None = field(default=None, repr=False)  # a secret: never in logs

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        """Read every setting from the environment over the `.env` file (or from the mapping given)."""
        env = {**read_env_file(), **os.environ} if env is None else dict(env)
        get = lambda name: (env.get(name) or "").strip()  # noqa: E731 - empty counts as unset
        defaults = cls()
        base = AttributionParams()
        tz = get("REPORTING_TIMEZONE") or defaults.reporting_timezone
        weights = _csv(get("ATTRIBUTION_POSITION_WEIGHTS"))
        try:
            attribution = AttributionParams(
                lookback_days=int(get("ATTRIBUTION_LOOKBACK_DAYS") or base.lookback_days),
                half_life_days=float(get("ATTRIBUTION_HALF_LIFE_DAYS") or base.half_life_days),
                position_weights=tuple(float(w) for w in weights) if weights else base.position_weights,
                direct_channels=_csv(get("ATTRIBUTION_DIRECT_CHANNELS")) or base.direct_channels,
                unattributed_label=get("ATTRIBUTION_UNATTRIBUTED_LABEL") or base.unattributed_label,
                conversion_types=_csv(get("ATTRIBUTION_CONVERSION_TYPES")),
                reporting_timezone=tz,
                final_conversion_types=_csv(get("FINAL_CONVERSION_TYPES")) or base.final_conversion_types,
                funnel_steps=_csv(get("FUNNEL_STEPS")) or base.funnel_steps,
                markov_period=get("ATTRIBUTION_MARKOV_PERIOD") or base.markov_period,
            )
            ages = _csv(get("COHORT_AGES_DAYS"))
            customers = CustomerParams(
                conversion_types=_csv(get("CUSTOMER_CONVERSION_TYPES")) or CustomerParams.conversion_types,
                acquisition_model=get("ACQUISITION_MODEL") or CustomerParams.acquisition_model,
                cohort_ages_days=tuple(sorted(int(a) for a in ages)) if ages else CustomerParams.cohort_ages_days,
                clv_horizon_days=int(get("CLV_HORIZON_DAYS") or CustomerParams.clv_horizon_days),
            )
            return cls(
                warehouse_url=get("WAREHOUSE_URL") or None,
                warehouse_dir=Path(get("WAREHOUSE_DIR") or defaults.warehouse_dir),
                landing_url=get("LANDING_URL") or defaults.landing_url,
                reporting_currency=(get("REPORTING_CURRENCY") or defaults.reporting_currency).upper(),
                reporting_timezone=tz,
                quarantine_max_rate=float(get("QUARANTINE_MAX_RATE") or defaults.quarantine_max_rate),
                max_future_hours=float(get("MAX_FUTURE_HOURS") or defaults.max_future_hours),
                ingest_schedule=get("INGEST_SCHEDULE") or defaults.ingest_schedule,
                own_domains=tuple(d.lower() for d in _csv(get("OWN_DOMAINS"))),
                channel_rules_file=Path(get("CHANNEL_RULES_FILE")) if get("CHANNEL_RULES_FILE") else None,
                attribution=attribution,
                customers=customers,
                dashboard_warehouse_url=get("DASHBOARD_WAREHOUSE_URL") or None,
                session_timeout_minutes=_positive(get("SESSION_TIMEOUT_MINUTES"), defaults.session_timeout_minutes,
                                                  "SESSION_TIMEOUT_MINUTES"),
                ga4_conversion_events=_pairs(get("GA4_CONVERSION_EVENTS") or GA4_CONVERSION_EVENTS,
                                             "GA4_CONVERSION_EVENTS"),
                segment_conversion_events=_pairs(get("SEGMENT_CONVERSION_EVENTS") or SEGMENT_CONVERSION_EVENTS,
                                                 "SEGMENT_CONVERSION_EVENTS"),
                orders_source_url=get("ORDERS_SOURCE_URL") or None,
                orders_query_file=Path(get("ORDERS_QUERY_FILE")) if get("ORDERS_QUERY_FILE") else None,
                orders_overlap_minutes=float(get("ORDERS_OVERLAP_MINUTES") or defaults.orders_overlap_minutes),
                dashboard_warehouse_password=get("DASHBOARD_WAREHOUSE_PASSWORD") or None,
            )
        except ValueError as exc:
            raise ValueError(f"invalid setting: {exc}") from exc

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.reporting_timezone)
