"""Helpers for the platform tests: valid test identity numbers, files, a tiny XLSX writer."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any
from xml.sax.saxutils import escape

from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum import luhn


def personnummer(index: int, *, coordination: bool = False, twelve: bool = True) -> str:
    """A valid (check-digit correct) test number; born 1990–2009, serial from ``index``.

    Numbers are made only to exercise validation; the demo never uses any.
    """
    birth = dt.date(1990, 1, 1) + dt.timedelta(days=(index * 37) % 7300)
    day = birth.day + (60 if coordination else 0)
    short = f"{birth:%y%m}{day:02d}{index % 1000:03d}"
    number = short + luhn.calc_check_digit(short)
    if twelve:
        return f"{birth.year // 100}{number[:6]}-{number[6:]}"
    return f"{number[:6]}-{number[6:]}"


def wrong_check_digit(number: str) -> str:
    """The same number with its check digit changed."""
    last = int(number[-1])
    return number[:-1] + str((last + 1) % 10)


def upload(name: str, content: bytes | str, encoding: str = "utf-8") -> SimpleUploadedFile:
    data = content.encode(encoding) if isinstance(content, str) else content
    return SimpleUploadedFile(name, data)


def csv_text(header: list[str], rows: list[list[Any]], delimiter: str = ",") -> str:
    lines = [delimiter.join(header)] + [delimiter.join(str(c) for c in row) for row in rows]
    return "\n".join(lines) + "\n"


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    """A minimal one-sheet XLSX (inline strings, numbers; dates as ISO text)."""

    def cell(ref: str, value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    def column(index: int) -> str:
        name = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        return name

    sheet_rows = "".join(
        f'<row r="{r + 1}">'
        + "".join(cell(f"{column(c)}{r + 1}", v) for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows)
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{sheet_rows}</sheetData></worksheet>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def xlsx_fill(template: bytes, rows: list[list[str]]) -> bytes:
    """The template workbook with rows typed under its header (inline strings)."""
    source = zipfile.ZipFile(io.BytesIO(template))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                added = "".join(
                    f'<row r="{r + 2}">'
                    + "".join(
                        f'<c r="{chr(65 + c)}{r + 2}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                        for c, v in enumerate(row)
                    )
                    + "</row>"
                    for r, row in enumerate(rows)
                )
                end = re.search(r"<row r=\"1\".*?</row>", text, flags=re.S).end()
                text = text[:end] + added + text[end:]
                data = text.encode("utf-8")
            target.writestr(item, data)
    return out.getvalue()


def totp_code(user) -> str:
    """The user's current TOTP code (the used-code cache and the spent codes are cleared:
    tests sign often)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )
    from allauth.mfa.utils import decrypt
    from django.core.cache import cache

    from utfall.platform.organisations.models import SecondFactorCodeUse

    cache.clear()
    SecondFactorCodeUse.objects.filter(user=user).delete()
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(authenticator.data["secret"])
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


# A contract no code of the platform knows: households, home visits (any declared table).
UNKNOWN_CONTRACT = """\
id: a-contract-nobody-knows
title: Ett kontrakt ingen kod känner till
version: "1"
currency: SEK
parties:
  - {id: town, name: Staden, role: commissioner}
  - {id: helper, name: Hjälparen, role: provider}
periods:
  contract: {start: 2024-01-01, end: 2026-12-31}
parameters:
  price_sek: {type: money, default: 1000}
data:
  participants:
    label: {sv: Hushåll, en: Households}
    unit: {sv: hushåll, en: household}
    identity: [reference]
    inclusion: joined
    end: left
    import: [provider]
    columns:
      joined: {type: date, label: {sv: Anslöt, en: Joined}}
      left: {type: date, required: false, label: {sv: Lämnade, en: Left}}
      district:
        type: choice
        required: false
        label: {sv: Stadsdel, en: District}
        choices: {north: {sv: Norr, en: North}, south: {sv: Söder, en: South}}
  tables:
    visits:
      kind: events
      label: {sv: Hembesök, en: Home visits}
      date: visited
      key: [visited]
      import: [provider, commissioner]
      columns:
        visited: {type: date, label: {sv: Besöksdag, en: Visit day}}
        minutes: {type: integer, min: 0, unit: minutes, label: {sv: Minuter, en: Minutes}}
        kept: {type: boolean, label: {sv: Genomfört, en: Kept}, synonyms: [genomfort]}
evaluations:
  kept_visits:
    label: {sv: Genomförda besök, en: Visits kept}
    method: aggregate
    table: visits
    where: {kept: true}
    options: {statistic: count}
inputs:
  visits_kept: {type: count, evaluate: kept_visits, take: value}
  bonus_sek: {type: money, min: 0, description: A bonus the parties agree on}
outputs:
  paid_sek: {type: money, formula: "visits_kept * price_sek + bonus_sek"}
payments:
  - {id: pay, from: town, to: helper, label: Ersättning, amount: paid_sek}
tests:
  - name: two visits and a bonus
    inputs: {visits_kept: 2, bonus_sek: 500}
    expect: {outputs: {paid_sek: "2500.00"}}
"""


def login_with_second_factor(client, user):
    """Log the client in as if through allauth with password and TOTP: the session records
    both steps (the admin asks for the second, decision 0600)."""
    import time

    client.force_login(user)
    session = client.session
    now = time.time()
    session["account_authentication_methods"] = [
        {"method": "password", "at": now, "username": user.get_username()},
        {"method": "mfa", "at": now, "type": "totp"},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


def browser_sign_in(page, base: str, username: str, code=None) -> None:
    """Sign in through the login page in Chromium (password ``pw-test-123``); ``code``, a
    function giving the current TOTP code, answers the second-factor step when asked."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", "pw-test-123")
    page.click("main form button[type=submit]")
    if code is not None:
        page.wait_for_selector("#id_code")
        page.fill("#id_code", code())
        page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=signed-in-as]")
