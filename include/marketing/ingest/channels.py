"""Channel grouping: one channel per touch from (source, medium, campaign, referrer).

Touchpoints and ad spend are classified by this same function so that spend and attributed
revenue meet on the same channel key. The rules are data (a TOML file, see
data/channel_rules.toml for the language); the default set is GA4's default channel group.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEFAULT_RULES_FILE = DATA_DIR / "channel_rules.toml"
DEFAULT_SOURCE_CATEGORIES_FILE = DATA_DIR / "ga4_source_categories.csv"

# Touch values repeat heavily across millions of rows, so a bounded memo pays off.
_CACHE_SIZE = 65536
_FIELDS = ("source", "medium", "campaign")
_OPERATORS = ("in", "contains", "ends_with", "matches")
_TOP_LEVEL_KEYS = {"source_categories", "fallback_channel", "patterns", "rule"}
# Second-level labels of two-part public suffixes (google.co.kr, ebay.com.au); a small heuristic
# rather than the full public suffix list, which is enough to find a host's main label.
_SECOND_LEVEL_SUFFIX_LABELS = frozenset({"co", "com", "org", "net", "ac", "gov", "edu"})
# Google's list prefixes every category; rule files say just SEARCH, SOCIAL, ...
_CATEGORY_PREFIX = "SOURCE_CATEGORY_"
# A referrer from a host in this category is an organic search visit (docs/channels.md).
_SEARCH_CATEGORY = "SEARCH"
_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Classified:
    """A touch's normalised source, medium and campaign, and the channel they fall in."""

    source: str | None
    medium: str | None
    campaign: str | None
    channel: str


class _Touch(NamedTuple):
    """The lowercased values a rule looks at."""

    source: str | None
    medium: str | None
    campaign: str | None
    category: str | None


_Predicate = Callable[[_Touch], bool]


class _RuleError(Exception):
    """A problem inside one rule; the loader adds the file name and rule index."""


@dataclass(frozen=True)
class _CompileContext:
    patterns: Mapping[str, re.Pattern[str]]
    categories: frozenset[str]


class ChannelClassifier:
    """Classifies touches into channels by a loaded rule set (first matching rule wins)."""

    def __init__(
        self,
        rules: tuple[tuple[str, _Predicate], ...],
        fallback_channel: str,
        source_categories: Mapping[str, str],
        own_domains: frozenset[str],
        rules_digest: str,
    ) -> None:
        """Build from an already compiled rule set; use `ChannelClassifier.load` instead."""
        self._rules = rules
        self._fallback_channel = fallback_channel
        self._source_categories = source_categories
        self._own_domains = own_domains
        self.rules_digest = rules_digest
        # Per-instance caches: a module-level cache would mix results of different rule sets.
        self._classify_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._classify_uncached)
        self._category_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._category_uncached)

    @classmethod
    def load(
        cls, rules_file: str | Path | None = None, own_domains: Iterable[str] = ()
    ) -> ChannelClassifier:
        """Load a rules TOML file (default: the packaged GA4 rules) for a site's own domains."""
        path = Path(rules_file) if rules_file is not None else DEFAULT_RULES_FILE
        rules_bytes = path.read_bytes()
        try:
            document = tomllib.loads(rules_bytes.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: not a valid TOML file: {exc}") from exc

        unknown = set(document) - _TOP_LEVEL_KEYS
        if unknown:
            raise ValueError(f"{path}: unknown top-level keys {sorted(unknown)}")

        categories_path = _source_categories_path(path, document.get("source_categories"))
        categories_bytes = categories_path.read_bytes()
        source_categories = _parse_source_categories(categories_path, categories_bytes)

        fallback_channel = document.get("fallback_channel", "Unassigned")
        if not isinstance(fallback_channel, str) or not fallback_channel.strip():
            raise ValueError(f"{path}: fallback_channel must be a non-empty string")

        context = _CompileContext(
            patterns=_compile_patterns(path, document.get("patterns", {})),
            categories=frozenset(source_categories.values()),
        )
        rules = _compile_rules(path, document.get("rule"), context)

        domains = frozenset(filter(None, (_normalise_domain(d) for d in own_domains)))
        digest = hashlib.sha256()
        for part in (rules_bytes, categories_bytes, "\n".join(sorted(domains)).encode()):
            digest.update(part)
            digest.update(b"\0")
        return cls(
            rules, fallback_channel.strip(), source_categories, domains, digest.hexdigest()[:16]
        )

    def classify(
        self,
        source: str | None,
        medium: str | None,
        campaign: str | None = None,
        referrer: str | None = None,
    ) -> Classified:
        """Normalise one touch's values and give it the channel of the first matching rule."""
        return self._classify_cached(source, medium, campaign, referrer)

    def source_category(self, source: str | None) -> str | None:
        """The category (e.g. SEARCH, SOCIAL) of a source name or host, or None if unlisted."""
        text = _clean(source)
        return self._category_cached(text.lower()) if text is not None else None

    def _classify_uncached(
        self, source: str | None, medium: str | None, campaign: str | None, referrer: str | None
    ) -> Classified:
        source = _lower(source)
        medium = _lower(medium)
        campaign = _clean(campaign)
        if source is None and medium is None:
            source, medium = self._from_referrer(referrer)
        touch = _Touch(
            source=source,
            medium=medium,
            campaign=campaign.lower() if campaign is not None else None,
            category=self._category_cached(source) if source is not None else None,
        )
        for channel, matches in self._rules:
            if matches(touch):
                return Classified(source, medium, campaign, channel)
        return Classified(source, medium, campaign, self._fallback_channel)

    def _from_referrer(self, referrer: str | None) -> tuple[str, str]:
        host = _referrer_host(referrer)
        if host is None or self._is_own_host(host):
            return "(direct)", "(none)"
        source = host.removeprefix("www.")
        medium = "organic" if self._category_cached(source) == _SEARCH_CATEGORY else "referral"
        return source, medium

    def _is_own_host(self, host: str) -> bool:
        return any(host == d or host.endswith("." + d) for d in self._own_domains)

    def _category_uncached(self, name: str) -> str | None:
        for candidate in _host_candidates(name):
            category = self._source_categories.get(candidate)
            if category is not None:
                return category
        return None


def _clean(value: str | None) -> str | None:
    """Trimmed text, with empty or blank values counted as absent."""
    if value is None:
        return None
    text = value.strip()
    return text or None


def _lower(value: str | None) -> str | None:
    text = _clean(value)
    return text.lower() if text is not None else None


def _normalise_domain(domain: str) -> str | None:
    # "www.shop.com" in config should also cover a referrer from "shop.com".
    text = _lower(domain)
    return text.rstrip(".").removeprefix("www.") if text is not None else None


def _referrer_host(referrer: str | None) -> str | None:
    text = _clean(referrer)
    if text is None:
        return None
    if not _HAS_SCHEME.match(text) and not text.startswith("//"):
        # Some trackers store referrers without a scheme ("www.bing.com/search?q=...").
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        # An unparsable referrer (e.g. a broken IPv6 literal) says nothing about the visit.
        return None
    host = (host or "").rstrip(".")
    return host or None


def _host_candidates(name: str) -> Iterable[str]:
    """Names to look up for a source or host, most specific first."""
    yield name
    labels = name.split(".")
    if len(labels) < 2:
        return
    two_part_suffix = (
        len(labels) >= 3 and labels[-2] in _SECOND_LEVEL_SUFFIX_LABELS and len(labels[-1]) == 2
    )
    main = len(labels) - (3 if two_part_suffix else 2)
    # Drop leading labels down to the registrable name (google.co.kr), never to a bare suffix.
    for start in range(1, main + 1):
        yield ".".join(labels[start:])
    yield labels[main]


def _source_categories_path(rules_path: Path, value: object) -> Path:
    if value is None:
        return DEFAULT_SOURCE_CATEGORIES_FILE
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{rules_path}: source_categories must be a file path string")
    return rules_path.parent / value.strip()


def _parse_source_categories(path: Path, data: bytes) -> dict[str, str]:
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: not a readable CSV file: {exc}") from exc
    if not {"source", "source_category"} <= set(reader.fieldnames or ()):
        raise ValueError(f"{path}: needs the columns source and source_category")
    categories: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        source = _lower(row["source"])
        category = (row["source_category"] or "").strip().upper().removeprefix(_CATEGORY_PREFIX)
        if source is None or not category:
            raise ValueError(f"{path}: line {line}: empty source or source_category")
        categories[source] = category
    return categories


def _compile_patterns(path: Path, patterns: object) -> dict[str, re.Pattern[str]]:
    if not isinstance(patterns, dict):
        raise ValueError(f"{path}: [patterns] must be a table of name = regex")
    compiled = {}
    for name, regex in patterns.items():
        if not isinstance(regex, str):
            raise ValueError(f"{path}: pattern {name!r} must be a string")
        try:
            compiled[name] = re.compile(regex, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{path}: pattern {name!r} is not a valid regex: {exc}") from exc
    return compiled


def _compile_rules(
    path: Path, rules: object, context: _CompileContext
) -> tuple[tuple[str, _Predicate], ...]:
    if not isinstance(rules, list) or not rules:
        raise ValueError(f"{path}: needs at least one [[rule]]")
    compiled = []
    # Rule indexes are 1-based, like the numbered table in the spec and the comments in the file.
    for index, rule in enumerate(rules, start=1):
        try:
            if not isinstance(rule, dict):
                raise _RuleError("must be a table")
            conditions = dict(rule)
            channel = conditions.pop("channel", None)
            if not isinstance(channel, str) or not channel.strip():
                raise _RuleError("needs channel = \"<name>\"")
            compiled.append((channel.strip(), _compile_all(conditions, context)))
        except _RuleError as exc:
            raise ValueError(f"{path}: rule {index}: {exc}") from None
    return tuple(compiled)


def _compile_all(conditions: object, context: _CompileContext) -> _Predicate:
    """One predicate that holds when every condition of a table holds."""
    if not isinstance(conditions, dict) or not conditions:
        raise _RuleError("needs at least one condition")
    return _all_of([_compile_condition(key, value, context) for key, value in conditions.items()])


# Combinators chain plain `and`/`or` calls: classify runs per touchpoint, and this is several
# times faster than all()/any() over a generator.
def _all_of(predicates: list[_Predicate]) -> _Predicate:
    first, *rest = predicates
    if not rest:
        return first
    others = _all_of(rest)
    return lambda touch: first(touch) and others(touch)


def _any_of(predicates: list[_Predicate]) -> _Predicate:
    first, *rest = predicates
    if not rest:
        return first
    others = _any_of(rest)
    return lambda touch: first(touch) or others(touch)


def _compile_condition(key: str, value: object, context: _CompileContext) -> _Predicate:
    if key == "any":
        if not isinstance(value, list) or not value:
            raise _RuleError("any must be a non-empty list of inline tables")
        return _any_of([_compile_all(table, context) for table in value])

    if key == "source_category":
        category = _text(key, value).upper().removeprefix(_CATEGORY_PREFIX)
        if category not in context.categories:
            raise _RuleError(
                f"source_category {category!r} is not in the source list "
                f"(known: {', '.join(sorted(context.categories))})"
            )
        return lambda touch: touch.category == category

    field, _, operator = key.partition("_")
    if field not in _FIELDS or operator not in _OPERATORS:
        raise _RuleError(f"unknown condition {key!r}")
    get = attrgetter(field)

    if operator == "in":
        if not isinstance(value, list) or not value:
            raise _RuleError(f"{key} must be a non-empty list of strings")
        allowed = frozenset(_text(key, item).lower() for item in value)
        return lambda touch: get(touch) in allowed
    if operator == "contains":
        needle = _text(key, value).lower()
        return lambda touch: (text := get(touch)) is not None and needle in text
    if operator == "ends_with":
        suffix = _text(key, value).lower()
        return lambda touch: (text := get(touch)) is not None and text.endswith(suffix)
    name = _text(key, value)
    pattern = context.patterns.get(name)
    if pattern is None:
        raise _RuleError(f"{key} names pattern {name!r}, which is not defined in [patterns]")
    return lambda touch: (text := get(touch)) is not None and pattern.search(text) is not None


def _text(key: str, value: object) -> str:
    """A condition's non-empty, trimmed string value."""
    if not isinstance(value, str) or not value.strip():
        raise _RuleError(f"{key} needs a non-empty string, got {value!r}")
    return value.strip()
