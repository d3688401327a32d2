"""The attribution models: the one list of them, and each model's rule in a file of its own.

A model's rule is `sql/models/<name>.sql`: an SQL expression for the credit that one stored path
row `p` (a row of marts.attribution_paths: one eligible touch of one conversion) gets under the
model, or null when it gets none. The credits view, the daily marts, the ROAS mart, the report,
the dashboard and the tests all take the models from `REGISTRY` below.

To add a model: write `sql/models/<name>.sql` and add one `Model(...)` line to `REGISTRY`. The next
attribution run sees that the models changed and rebuilds the marts (view included) with it.
A rule that needs more than the path row (say, a table of per-channel effects) also writes
`sql/models/<name>.join.sql`: a `left join … on …` clause beside `p`, whose relations the
expression may read; set `join=True`. The path rows are computed in one set-based pass
(`sql/attribution_paths.sql`); the rules that need a whole path (time decay, position based,
last non-direct) take their share from a column of that pass.

A model whose credits come from a fit of all the journeys (`markov`, docs/data_driven.md) is
`fitted=True`: its rule reads tables that the run's fit writes only after every path row is in
place, so the run restates its rows of the daily marts after the fit (`markov.py`) rather than
summing them with the others.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from psycopg2 import sql

from marketing.sqlfiles import SqlFiles

SQL = SqlFiles(__file__)


@dataclass(frozen=True)
class Model:
    """One attribution model: its name in the marts, its label on screen, and where its rule is."""

    name: str
    label: str
    whole: bool = False  # gives one touch per conversion the whole credit (1), the others none
    join: bool = False  # its credit also reads `sql/models/<name>.join.sql`
    fitted: bool = False  # its credits come from a fit the run makes after the path rows (markov.py)

    @property
    def credit(self) -> str:
        """The credit expression of `sql/models/<name>.sql`, without its comment lines."""
        return _expression(SQL(f"models/{self.name}"))

    @property
    def joins(self) -> str:
        """The join clause the credit reads beside the path row `p` (empty when none)."""
        return _expression(SQL(f"models/{self.name}.join")) if self.join else ""


REGISTRY: tuple[Model, ...] = (
    Model("first_touch", "First touch", whole=True),
    Model("last_touch", "Last touch", whole=True),
    Model("last_non_direct", "Last non-direct", whole=True),
    Model("linear", "Linear"),
    Model("time_decay", "Time decay"),
    Model("position_based", "Position based"),
    Model("markov", "Data-driven (Markov)", join=True, fitted=True),
)
MODELS: tuple[str, ...] = tuple(model.name for model in REGISTRY)
LABELS: dict[str, str] = {model.name: model.label for model in REGISTRY}


def _expression(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip()


def models_digest() -> str:
    """A digest of the models and their rules: a change means the marts hold stale results."""
    text = "\n".join(f"{m.name}\n{m.whole}\n{m.fitted}\n{m.credit}\n{m.joins}" for m in REGISTRY)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def summed() -> tuple[Model, ...]:
    """The models whose credits a run sums with the path rows (all but the fitted ones)."""
    return tuple(m for m in REGISTRY if not m.fitted)


def fitted(name: str) -> Model | None:
    """The fitted model of this name in the registry, or None when the registry has none."""
    return next((m for m in REGISTRY if m.fitted and m.name == name), None)


def from_paths(paths: sql.Composable, chosen: tuple[Model, ...] | None = None) -> sql.Composed:
    """`<paths> p` and the joins the rules of the `chosen` models (default: all) read beside it."""
    joins = [sql.SQL(m.joins) for m in (REGISTRY if chosen is None else chosen) if m.join]
    return sql.SQL("{} as p").format(paths) + sql.Composed([sql.SQL("\n") + j for j in joins])


def path_credits(paths: sql.Composable) -> sql.Composed:
    """A select of `paths`' rows (`p.*`) times the models that credit them: (…, model, credit).

    One row per (path row, model) whose credit is not null: the grain of the credits view.
    """
    values = sql.SQL(",\n        ").join(
        sql.SQL("({}, {})").format(sql.Literal(m.name), sql.SQL(m.credit)) for m in REGISTRY
    )
    return sql.SQL(
        "select p.*, m.model, m.credit\nfrom {}\ncross join lateral (\n    values\n        {}\n) as m (model, credit)"
        "\nwhere m.credit is not null"
    ).format(from_paths(paths), values)


def credit_sums(paths: sql.Composable) -> sql.Composed:
    """A select of `paths`' credits summed by (conversion_date, channel, campaign, conversion_type), in one pass.

    Each summed model's sums are an element of three arrays in `summed()` order: `conversions` (Σ credit),
    `revenue` (Σ revenue_credit) and `credit_rows` (how many rows it credits). A model that
    gives the whole credit sums the revenue itself: revenue_credit(revenue, 1) is the revenue.
    """
    conversions, revenue, rows = [], [], []
    for m in summed():
        credit = sql.SQL(m.credit)
        rows.append(sql.SQL("count({})").format(credit))
        if m.whole:
            conversions.append(sql.SQL("count({})::double precision").format(credit))
            revenue.append(sql.SQL("sum(p.revenue) filter (where ({}) is not null)").format(credit))
        else:
            conversions.append(sql.SQL("sum({})").format(credit))
            revenue.append(sql.SQL("sum(marts.revenue_credit(p.revenue, {}))").format(credit))
    column = sql.SQL(",\n        ")
    return sql.SQL(
        "select\n    p.conversion_date, p.channel, p.campaign, p.conversion_type,\n"
        "    array[\n        {}\n    ]::double precision[] as conversions,\n"
        "    array[\n        {}\n    ]::numeric[] as revenue,\n"
        "    array[\n        {}\n    ]::bigint[] as credit_rows\n"
        "from {}\ngroup by p.conversion_date, p.channel, p.campaign, p.conversion_type"
    ).format(column.join(conversions), column.join(revenue), column.join(rows), from_paths(paths, summed()))
