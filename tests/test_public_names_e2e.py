"""A category's name is the one thing of the config's own words every public answer repeats:
named with markup and a spreadsheet formula, it stays text on the results page, in its SVG
charts, in the CSV (never a formula) and in the Open311 XML and JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree, html

from tests.conftest import CATEGORIES, Town
from tests.flows import file_request

EN = '=HYPERLINK("http://x","<b>Lamps</b> &")'
ZH = "<script>alert(1)</script>路灯"
KEY = "k" * 40


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"categories": [{"code": "lamps", "zh": ZH, "en": EN}, *CATEGORIES[1:]],
            "web": {"listen": "127.0.0.1:0", "open311": {
                "enabled": True, "clients": [{"id": "hotline", "name": "12345", "key": KEY}]}}}


@pytest.fixture
async def client(town: Town) -> AsyncIterator[TestClient[Any, Any]]:
    services = town.bot.services
    assert services is not None
    async with TestClient(TestServer(services.web.application())) as test_client:
        yield test_client


async def test_a_category_named_with_markup_and_a_formula_stays_text(
        town: Town, client: TestClient[Any, Any]) -> None:
    await file_request(town.citizen, category=EN)
    for lang, name in (("en", EN), ("zh", ZH)):
        page = await (await client.get(f"/results?lang={lang}")).text()
        assert "<script>" not in page and "<b>Lamps" not in page
        document = html.fromstring(page)
        assert name in document.xpath("//table[@id='categories']//th[@scope='row']/text()")
        assert document.xpath("//svg//text()[contains(., 'alert(1)') or contains(., 'Lamps')]")
        data = (await (await client.get(f"/results.csv?lang={lang}")).read()).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(data)))
        named = {row[2] for row in rows[1:] if "alert" in row[2] or "Lamps" in row[2]}
        assert named == {("'" + name) if name.startswith("=") else name}
    for locale, name in (("en", EN), ("zh", ZH)):
        services = json.loads(await (await client.get(
            f"/open311/v2/services.json?locale={locale}")).text())
        assert services[0]["service_name"] == name
        document = etree.fromstring(await (await client.get(
            f"/open311/v2/requests.xml?locale={locale}")).read())
        assert document.findtext("request/service_name") == name
