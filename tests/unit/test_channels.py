"""Channel grouping (docs/channels.md): normalisation, host matching and the GA4 rules."""

import re

import pytest

from marketing.ingest.channels import ChannelClassifier, Classified


@pytest.fixture(scope="module")
def clf() -> ChannelClassifier:
    return ChannelClassifier.load()


# Every row of "Examples" in docs/channels.md, verbatim.
SPEC_EXAMPLES = [
    ("google", "cpc", "brand", None, "Paid Search"),
    ("facebook", "paid_social", "spring", None, "Paid Social"),
    ("newsletter", "email", "weekly", None, "Email"),
    (None, None, None, None, "Direct"),
    (None, None, None, "https://www.google.com/", "Organic Search"),
    (None, None, None, "https://blog.example.org/post", "Referral"),
    (None, None, None, "https://m.facebook.com/", "Organic Social"),
    ("criteo", "display", "retarget", None, "Display"),
    ("partner", "affiliate", None, None, "Affiliates"),
    ("youtube", "cpv", "launch", None, "Paid Video"),
    ("amazon", "cpc", "shoes_shopping", None, "Paid Shopping"),
    ("GOOGLE", "CPC", None, None, "Paid Search"),
]


@pytest.mark.parametrize(
    ("source", "medium", "campaign", "referrer", "channel"),
    SPEC_EXAMPLES,
    ids=[f"{i}-{row[-1]}" for i, row in enumerate(SPEC_EXAMPLES, start=1)],
)
def test_spec_example_gets_its_channel(clf, source, medium, campaign, referrer, channel):
    assert clf.classify(source, medium, campaign, referrer).channel == channel


# At least one touch per numbered rule of docs/channels.md, several where a rule has alternatives.
RULE_CASES = [
    (1, "(direct)", "(none)", None, "Direct"),
    (1, "(DIRECT)", "(not set)", None, "Direct"),
    (2, "google", "cpc", "summer cross-network", "Cross-network"),
    (3, "amazon", "ppc", None, "Paid Shopping"),
    (3, "partner", "paid", "shop", "Paid Shopping"),
    (3, "partner", "retargeting", "summer-shopping", "Paid Shopping"),
    (4, "bing", "ppc", None, "Paid Search"),
    (4, "www.google.co.kr", "cpc", None, "Paid Search"),
    (5, "m.facebook.com", "cpc", None, "Paid Social"),
    (6, "vimeo", "paid_video", None, "Paid Video"),
    (7, "criteo", "banner", None, "Display"),
    (7, "criteo", "cpm", None, "Display"),
    (7, "google", "display", None, "Display"),
    (8, "partner", "retargeting", "spring", "Paid Other"),
    (8, "partner", "cpa", None, "Paid Other"),
    (9, "amazon", "referral", None, "Organic Shopping"),
    (9, "newsletter", "email", "black friday shopping", "Organic Shopping"),
    (10, "facebook", "referral", None, "Organic Social"),
    (10, "forum", "social network", None, "Organic Social"),
    (10, "forum", "sm", None, "Organic Social"),
    (11, "youtube", "referral", None, "Organic Video"),
    (11, "partner", "in-video", None, "Organic Video"),
    (12, "google", "organic", None, "Organic Search"),
    (12, "partner", "organic", None, "Organic Search"),
    (13, "partner", "link", None, "Referral"),
    (13, "partner", "app", None, "Referral"),
    (14, "e_mail", "newsletter", None, "Email"),
    (14, "newsletter", "e mail", None, "Email"),
    (15, "partner", "affiliate", None, "Affiliates"),
    (16, "podcastco", "audio", None, "Audio"),
    (17, "sms", None, None, "SMS"),
    (17, "twilio", "sms", None, "SMS"),
    (18, "app", "web_push", None, "Mobile Push Notifications"),
    (18, "app", "mobile", None, "Mobile Push Notifications"),
    (18, "app", "in_app_notification", None, "Mobile Push Notifications"),
    (18, "firebase", None, None, "Mobile Push Notifications"),
]


@pytest.mark.parametrize(
    ("rule", "source", "medium", "campaign", "channel"),
    RULE_CASES,
    ids=[f"rule{r}-{s}-{m}" for r, s, m, _, _ in RULE_CASES],
)
def test_each_rule_gives_its_channel(clf, rule, source, medium, campaign, channel):
    assert clf.classify(source, medium, campaign, None).channel == channel


def test_every_numbered_rule_is_exercised():
    assert {case[0] for case in RULE_CASES} == set(range(1, 19))


def test_touch_matching_no_rule_is_unassigned(clf):
    assert clf.classify("partner", "print", None, None).channel == "Unassigned"


def test_first_matching_rule_wins_cross_network_before_paid_search(clf):
    assert clf.classify("google", "cpc", "cross-network", None).channel == "Cross-network"


def test_values_are_trimmed_and_compared_case_insensitively(clf):
    c = clf.classify("  GOOGLE ", " CPC ", "  Brand Spring ", None)
    assert c == Classified("google", "cpc", "Brand Spring", "Paid Search")


def test_campaign_is_matched_case_insensitively_but_returned_in_original_case(clf):
    c = clf.classify("google", "cpc", " Summer CROSS-NETWORK ", None)
    assert (c.channel, c.campaign) == ("Cross-network", "Summer CROSS-NETWORK")


def test_empty_and_blank_values_count_as_absent(clf):
    assert clf.classify("", "  ", "", "") == Classified("(direct)", "(none)", None, "Direct")


def test_no_referrer_is_direct(clf):
    assert clf.classify(None, None, "spring", None) == Classified(
        "(direct)", "(none)", "spring", "Direct"
    )


def test_referrer_on_search_engine_is_organic_search(clf):
    c = clf.classify(None, None, None, "https://www.google.co.kr/search?q=shoes")
    assert c == Classified("google.co.kr", "organic", None, "Organic Search")


def test_referrer_source_drops_www_but_keeps_other_subdomains(clf):
    assert clf.classify(None, None, None, "https://www.example.org/").source == "example.org"
    blog = clf.classify(None, None, None, "https://blog.example.org/post")
    assert blog.source == "blog.example.org"


def test_referrer_on_social_site_has_referral_medium(clf):
    c = clf.classify(None, None, None, "https://m.facebook.com/")
    assert (c.source, c.medium) == ("m.facebook.com", "referral")


def test_referrer_without_scheme_or_with_port_uses_its_host(clf):
    assert clf.classify(None, None, None, "www.bing.com/search?q=x").source == "bing.com"
    assert clf.classify(None, None, None, "HTTPS://WWW.Google.com:443/").source == "google.com"


def test_unparsable_referrer_is_direct(clf):
    assert clf.classify(None, None, None, "http://[broken").channel == "Direct"


def test_referrer_ignored_when_utm_medium_present(clf):
    c = clf.classify(None, "cpc", None, "https://www.google.com/")
    assert c == Classified(None, "cpc", None, "Paid Other")


def test_referrer_ignored_when_utm_source_present(clf):
    c = clf.classify("newsletter", None, None, "https://www.google.com/")
    assert c == Classified("newsletter", None, None, "Unassigned")


def test_own_domain_referrer_is_direct():
    clf = ChannelClassifier.load(own_domains=["shop.example"])
    assert clf.classify(None, None, None, "https://shop.example/cart").channel == "Direct"
    assert clf.classify(None, None, None, "https://www.shop.example/").source == "(direct)"


def test_own_domain_subdomain_referrer_is_direct():
    clf = ChannelClassifier.load(own_domains=[" WWW.Shop.Example "])
    c = clf.classify(None, None, None, "https://checkout.shop.example/pay")
    assert (c.source, c.medium, c.channel) == ("(direct)", "(none)", "Direct")


def test_domain_merely_ending_like_own_domain_is_referral():
    clf = ChannelClassifier.load(own_domains=["shop.example"])
    assert clf.classify(None, None, None, "https://myshop.example/").channel == "Referral"


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("google", "SEARCH"),  # bare name
        ("Google Shopping", "SHOPPING"),  # listed with capitals and a space
        ("m.facebook.com", "SOCIAL"),  # full name
        ("shopads.facebook.com", "SOCIAL"),  # leading label dropped -> facebook.com
        ("www.google.com", "SEARCH"),  # main label -> google
        ("www.google.co.kr", "SEARCH"),  # main label before a two-part suffix
        ("images.google.com.au", "SEARCH"),
        ("zz.search.yahoo.com", "SEARCH"),  # two labels dropped -> yahoo.com
        ("groups.google.com", "SOCIAL"),  # the full name wins over the main label
        ("blog.example.org", None),
        ("partner", None),
        (None, None),
    ],
)
def test_source_category_matches_host_then_parents_then_main_label(clf, name, category):
    assert clf.source_category(name) == category


def test_replacement_rules_file_is_used(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        """
fallback_channel = "Other"

[patterns]
paid = '^paid$'

[[rule]]
channel = "Paid"
medium_matches = "paid"

[[rule]]
channel = "Search"
source_category = "SEARCH"
"""
    )
    clf = ChannelClassifier.load(rules)
    assert clf.classify("google", "PAID", None, None).channel == "Paid"
    assert clf.classify("google", "cpc", None, None).channel == "Search"
    assert clf.classify("newsletter", "email", None, None).channel == "Other"
    assert clf.rules_digest != ChannelClassifier.load().rules_digest


def test_replacement_rules_file_can_bring_its_own_source_list(tmp_path):
    (tmp_path / "sources.csv").write_text("source,source_category\nacme.example,PARTNER\n")
    rules = tmp_path / "rules.toml"
    rules.write_text(
        'source_categories = "sources.csv"\n'
        '[[rule]]\nchannel = "Partners"\nsource_category = "PARTNER"\n'
    )
    clf = ChannelClassifier.load(str(rules))
    assert clf.classify(None, None, None, "https://www.acme.example/").channel == "Partners"
    assert clf.classify("google", "cpc", None, None).channel == "Unassigned"


VALID_RULE = '[[rule]]\nchannel = "Search"\nsource_category = "SEARCH"\n'


@pytest.mark.parametrize(
    ("second_rule", "message"),
    [
        ('[[rule]]\nmedium_in = ["email"]\n', "needs channel"),
        ('[[rule]]\nchannel = "Email"\n', "needs at least one condition"),
        ('[[rule]]\nchannel = "Email"\nmedium_is = "email"\n', "unknown condition 'medium_is'"),
        ('[[rule]]\nchannel = "Paid"\nmedium_matches = "paid"\n', "pattern 'paid'"),
        ('[[rule]]\nchannel = "Podcasts"\nsource_category = "PODCAST"\n', "'PODCAST'"),
        ('[[rule]]\nchannel = "Email"\nmedium_in = "email"\n', "non-empty list"),
        ('[[rule]]\nchannel = "Email"\nany = []\n', "any must be"),
        ('[[rule]]\nchannel = "Email"\nany = [{ medium_in = [3] }]\n', "medium_in"),
    ],
)
def test_malformed_rule_names_file_and_rule_index(tmp_path, second_rule, message):
    rules = tmp_path / "broken_rules.toml"
    rules.write_text(VALID_RULE + second_rule)
    with pytest.raises(ValueError, match=rf"broken_rules\.toml: rule 2: .*{re.escape(message)}"):
        ChannelClassifier.load(rules)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rule]\nchannel = "x"\n', "not a valid TOML file"),
        ('fallback_channel = "Other"\n', "needs at least one [[rule]]"),
        ("[patterns]\nbad = '('\n" + VALID_RULE, "pattern 'bad' is not a valid regex"),
        ('rules_file = "x"\n' + VALID_RULE, "unknown top-level keys"),
    ],
)
def test_malformed_rules_file_names_the_file(tmp_path, text, message):
    rules = tmp_path / "broken_rules.toml"
    rules.write_text(text)
    with pytest.raises(ValueError, match=rf"broken_rules\.toml: .*{re.escape(message)}"):
        ChannelClassifier.load(rules)


def test_rules_digest_is_short_hex_and_depends_on_own_domains():
    plain = ChannelClassifier.load()
    assert re.fullmatch(r"[0-9a-f]{16}", plain.rules_digest)
    assert ChannelClassifier.load().rules_digest == plain.rules_digest
    assert ChannelClassifier.load(own_domains=["shop.example"]).rules_digest != plain.rules_digest


def test_repeated_touches_give_equal_results(clf):
    first = clf.classify("Google", "CPC", "Brand", None)
    assert clf.classify("Google", "CPC", "Brand", None) is first
