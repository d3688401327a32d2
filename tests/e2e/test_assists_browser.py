"""The "Assists and paths" view in a real headless Chromium: log in to a local Airflow, open
Marketing from the navigation, switch to the view, and read what it shows from demo data
(docs/assists.md). Same fixtures as test_dashboard_browser (Debian's chromium and chromium-driver)."""

# ruff: noqa: F811 - the fixtures imported below are pytest fixtures, taken by the tests as arguments

from __future__ import annotations

import re

import psycopg2
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from e2e.test_dashboard_browser import (  # noqa: F401 - fixtures
    END,
    START,
    airflow,
    browser,
    chart,
    demo,
    js,
    log_in,
    open_marketing,
    page_state,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.airflow]


def warehouse_rows(url: str, statement: str, params=()) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def table(browser, table_id: str) -> list[list[str]]:
    """The text of each body row's cells."""
    return js(browser, "return [...document.querySelectorAll(`#${arguments[0]} tbody tr`)]"
                       ".map(tr => [...tr.cells].map(td => td.textContent));", table_id)


def test_marketer_reads_assists_paths_and_the_funnel_in_the_airflow_ui(airflow, browser, warehouse_url, tmp_path):
    log_in(browser, airflow)
    open_marketing(browser)
    page_state(browser, "ready")
    js(browser, "document.getElementById('start').value = arguments[0];"
                "document.getElementById('end').value = arguments[1];", START.isoformat(), END.isoformat())
    Select(browser.find_element(By.ID, "model")).select_by_value("last_non_direct")
    browser.find_element(By.XPATH, "//nav//a[normalize-space()='Assists and paths']").click()
    page_state(browser, "ready")
    wait_for(browser, lambda d: table(d, "funnel"), "the funnel table stayed empty")
    assert browser.find_element(By.ID, "error").get_attribute("hidden") is not None
    # The ROAS panels give way to the view's own.
    assert not browser.find_element(By.ID, "campaigns").is_displayed()
    assert browser.find_element(By.ID, "assists").is_displayed()

    # Assisted conversions: per channel, last-touch and assisted purchases as the warehouse sums them.
    expected = dict((channel, (last, assisted)) for channel, last, assisted in warehouse_rows(warehouse_url, """
        select channel, sum(last_touch_conversions), sum(assisted_conversions) from marts.assisted_conversions_daily
        where date between %s and %s and conversion_type = 'purchase' group by channel""", (START, END)))
    shown = {row[0]: (int(row[1].replace(",", "")), int(row[3].replace(",", ""))) for row in table(browser, "assists")}
    assert shown == expected and len(shown) >= 5
    bars = chart(browser, "assists-chart")
    assert bars["ink"] > 10_000, "the assists chart is blank"
    assert [d["label"] for d in bars["datasets"]] == ["Last-touch conversions", "Assisted conversions"]
    assert js(browser, "return document.querySelector('#assists caption').textContent") == (
        "Conversions of type purchase")

    # Top paths: the most frequent first, labels with merged repeats, averages as numbers.
    paths = table(browser, "paths")
    counts = [int(p[1].replace(",", "")) for p in paths]
    assert paths and counts == sorted(counts, reverse=True)
    assert any("×" in p[0] for p in paths) or any(" > " in p[0] for p in paths)
    (top,) = warehouse_rows(warehouse_url, """
        select path, sum(conversions) from marts.conversion_paths_daily
        where date between %s and %s and conversion_type = 'purchase'
        group by path order by 2 desc, sum(revenue) desc, path limit 1""", (START, END))
    assert (paths[0][0], counts[0]) == top

    # The funnel: a column per step, each after the first with its rate from the step before.
    headings = js(browser, "return [...document.querySelectorAll('#funnel th')].map(th => th.textContent);")
    assert headings == ["Channel", "view item", "add to cart", "begin checkout", "purchase"]
    funnel = table(browser, "funnel")
    assert all("of view item" in row[2] and "of begin checkout" in row[4] for row in funnel)
    # Credited conversions (fractions under the model) all read to one decimal, whole ones too, so a column lines up.
    counts = js(browser, "return [...document.querySelectorAll('#funnel tbody td.num')].map(td => td.firstChild.textContent);")
    assert counts and all(re.fullmatch(r"[0-9,]+\.[0-9]", text) for text in counts), counts

    browser.switch_to.default_content()
    browser.save_screenshot(str(tmp_path / "assists.png"))
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe[title='Marketing']"))

    # Another conversion type: the micro-conversions' assists.
    Select(browser.find_element(By.ID, "conversion-type")).select_by_value("view_item")
    wait_for(browser, lambda d: js(d, "return document.querySelector('#assists caption').textContent")
             == "Conversions of type view_item", "the view did not switch to view_item")
    page_state(browser, "ready")
    assert "conversion_type=view_item" in js(browser, "return window.location.search")

    # The view works under the page's Content-Security-Policy: nothing it does was refused.
    refused = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert not refused, refused
