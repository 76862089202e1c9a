"""The text test's instrument: crawl the site as one person, extract what a reader sees,
and find what a reader should not see (issue 15).

* :func:`crawl` follows GET links from the home page with the Django test client (same
  site only; no logout, language switch, admin, API, static files or downloads), at most
  :data:`PER_PATTERN` (or a given cap) pages per URL pattern (a URL pattern is the resolved route and the
  names of the query parameters, so ``?page=`` floods count once).
* :func:`visible_text` is the text a reader sees: text nodes, a page's title and the
  ``title``, ``placeholder``, ``aria-label`` and ``alt`` attributes and the labels of
  buttons, one line per block element. ``script``, ``style`` and ``template`` are not
  read; nor is anything inside an element marked ``data-code`` (a formula a page shows
  on purpose) or ``data-hash`` (a hash or fingerprint shown to be compared). Inside
  ``<code>`` the number checks are off (references, fingerprints), the others are not.
* :func:`english_strings` is the English a Swedish page must not show: every string the
  platform marks for translation (templates and Python, two words or more) unless its
  Swedish is the same, and every msgid of the catalogues without a translation.
* :func:`findings` applies the checks of one language and returns (kind, snippet) pairs.

Allow-lists are module-level sets below, each entry with the reason it is allowed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[3]
CATALOGUES = sorted((ROOT / "src" / "utfall" / "platform").rglob("sv/LC_MESSAGES/django.po"))

PER_PATTERN = 2
"""Pages per URL pattern and person and language (the first ones found)."""
WIDE = 8
"""Pages per URL pattern for the person who reads every contract (see the text test)."""
MAX_PAGES = 250
"""Pages per person and language at most (a guard; the demo has fewer)."""
PER_PAGE = 8
"""Findings listed per page in the failure message (the count says how many more)."""

SKIP_PREFIXES = (
    "/accounts/logout/",  # would end the session
    "/i18n/",  # the language switch (the test sets the language itself)
    "/admin/",  # Django's admin is an operator's tool with its own (Django's) texts
    "/api/",  # JSON and the OpenAPI page, not pages a person reads
    "/static/",
    "/media/",
)
SKIP_SUFFIXES = (
    # A PDF is a document, not a page: the crawl reads no text in it, and each one is
    # rendered on request (the reports' own tests read the PDFs' text).
    ".pdf",
)

# --- allow-lists -----------------------------------------------------------------------

# Phrases that are not English text on a Swedish page, each with its reason.
ALLOWED_ENGLISH: set[str] = {
    # An organisation's own name (the intermediary of the fund and Hässelby contracts).
    "RISE Research Institutes of Sweden (Social & Health Impact Center)",
    "RISE Research Institutes of Sweden",
}
ALLOWED_IDENTIFIERS: set[str] = {
    "demo.utfall.invalid",  # the demo users' e-mail domain (a reserved .invalid name)
}
# Add a figure with the reason it is shown in that form (none yet).
ALLOWED_NUMBERS: set[str] = set()

# --- the catalogues --------------------------------------------------------------------


def untranslated_msgids() -> set[str]:
    """English msgids of our catalogues without a Swedish translation (empty or fuzzy).

    A msgstr equal to its msgid is taken as translated on purpose: every such entry in
    the catalogues is a word Swedish shares with English (Status, Version, Pseudonym …).
    Placeholders split a msgid; its literal fragments of three words or more count.
    """
    from babel.messages.pofile import read_po

    found: set[str] = set()
    for path in CATALOGUES:
        with path.open("rb") as handle:
            catalogue = read_po(handle)
        for message in catalogue:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not any(strings):
                for msgid in ids:
                    for fragment in re.split(r"%\(\w+\)[sd]|%[sd]|\{\w*\}", msgid):
                        fragment = fragment.strip(" .,:;()")
                        if len(fragment.split()) >= 3 or (
                            fragment == msgid.strip(" .,:;()") and len(fragment) >= 4
                        ):
                            found.add(fragment)
    return found


_SOURCE_STRING = re.compile(
    r"""\{%\s*(?:translate|trans)\s+(?P<q>["'])(?P<t>.+?)(?P=q)"""  # {% translate "…" %}
    r"""|\b(?:_|gettext|gettext_lazy|pgettext|pgettext_lazy)\((?:\s*"[^"]*",)?\s*"""
    r"""(?P<p>["'])(?P<u>[^"'\n]+?)(?P=p)\s*[,)]"""  # _("…"), pgettext("ctx", "…")
)


def source_strings() -> set[str]:
    """Every English string of two words or more the platform marks for translation
    (templates and Python), whether or not a catalogue has it yet."""
    found: set[str] = set()
    platform = ROOT / "src" / "utfall" / "platform"
    for path in [*platform.rglob("*.html"), *platform.rglob("*.py")]:
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _SOURCE_STRING.finditer(text):
            string = match.group("t") or match.group("u") or ""
            for fragment in re.split(r"%\(\w+\)[sd]|%[sd]|\{\w*\}", string):
                fragment = fragment.strip(" .,:;()")
                if len(fragment.split()) >= 2 and re.search(r"\b[a-z]{3,}\b", fragment):
                    found.add(fragment)
    return found


def english_strings() -> set[str]:
    """English text that must not appear on a Swedish page: the untranslated msgids, and
    every marked source string (two words or more) whose Swedish differs from it."""
    from babel.messages.pofile import read_po

    same: set[str] = set()
    for path in CATALOGUES:
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id and not message.fuzzy and message.string == message.id:
                    same.add(message.id)
    return untranslated_msgids() | (source_strings() - same)


# --- visible text ----------------------------------------------------------------------

BLOCK = {
    "address", "article", "aside", "blockquote", "br", "button", "caption", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "label", "legend", "li", "main", "nav",
    "ol", "optgroup", "option", "p", "pre", "section", "select", "summary", "table",
    "tbody", "td", "textarea", "tfoot", "th", "thead", "title", "tr", "ul",
    "text", "tspan",  # SVG: each label of a chart is its own line
}  # fmt: skip
SKIP = {"script", "style", "template", "noscript"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


@dataclass
class Line:
    """One line of visible text; ``code`` when it is inside ``<code>``."""

    text: str
    code: bool = False


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[Line] = []
        self._buffer: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self._code = 0
        self.links: list[str] = []

    def _hidden(self) -> bool:
        return any(hides for _, hides in self._stack)

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        if text:
            self.lines.append(Line(text, code=self._code > 0))
        self._buffer = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href") is not None and "download" not in values:
            self.links.append(values["href"] or "")
        hides = tag in SKIP or "data-code" in values or "data-hash" in values
        if tag in BLOCK or tag == "code":
            self._flush()
        if not self._hidden() and not hides:
            for name in READ_ATTRIBUTES:
                if values.get(name):
                    self.lines.append(Line(" ".join((values[name] or "").split())))
            button = tag == "input" and values.get("type") in {"submit", "button", "reset"}
            if button and values.get("value"):
                self.lines.append(Line(values["value"] or ""))
        if tag in VOID:
            return
        self._stack.append((tag, hides))
        if tag == "code":
            self._code += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not any(t == tag for t, _ in self._stack):
            return
        if tag in BLOCK or tag == "code":
            self._flush()
        while self._stack:
            name, _ = self._stack.pop()
            if name == "code":
                self._code -= 1
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def parse(html: str) -> tuple[list[Line], list[str]]:
    """The visible lines of a page and the targets of its links."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.lines, parser.links


def visible_text(html: str) -> list[Line]:
    """The visible lines of a page (see the module docstring for what counts)."""
    return parse(html)[0]


# --- the checks ------------------------------------------------------------------------

# English words that are not Swedish words (so "by", "for", "in", "is", "man", "all"
# are left out); matched as whole words, any case.
ENGLISH_WORDS = (
    "the", "and", "of", "not", "with", "without", "are", "was", "were", "been", "from",
    "which", "this", "that", "these", "those", "has", "have", "must", "cannot", "should",
    "would", "will", "your", "you", "yet", "there", "their", "what", "when", "where",
    "how", "or", "only", "than", "into", "each", "every", "does", "here", "please",
    "any", "shown", "click", "enter", "choose", "upload", "download", "signed", "sign in",
    "settlement", "settlements", "contract", "contracts", "payment", "payments",
    "outcome", "outcomes", "evaluation", "evaluator", "provider", "financier",
    "commissioner", "intermediary", "participants", "applications", "reviewer",
    "dashboard", "meeting", "knowledge", "drawdowns", "costs", "statement", "save",
    "cancel", "next", "previous", "back", "home", "none", "yes", "open", "criminal",
    "justice", "welfare", "training", "employment", "children", "young", "people",
    "family", "families", "health", "education", "housing", "pupils", "share", "target",
    "group", "baseline", "report", "reports", "rows", "row", "table", "tables", "value",
    "values", "file", "files", "error", "errors", "warning", "missing", "required",
    "invalid", "unknown", "expected", "found", "date", "year", "years",
    "month", "months", "week", "weeks", "day", "days", "ago", "today", "new", "old",
)  # fmt: skip
_ENGLISH = re.compile(r"(?<![\w-])(" + "|".join(ENGLISH_WORDS) + r")(?![\w-])", re.IGNORECASE)

_EMAIL_OR_URL = re.compile(r"\S+@\S+|\bhttps?://\S+|\bwww\.\S+")
# The name of a file a person uploaded is theirs to choose (the demo's are table names).
_UPLOADED_FILE = re.compile(r"[\w.-]+\.(?:csv|xlsx|xls|tsv|txt)\b", re.IGNORECASE)
_SNAKE = re.compile(r"(?<![\w.-])_*[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w-])")
_DOTTED = re.compile(r"(?<![\w.])[a-z][a-z_]{2,}(?:\.[a-z_]{3,})+(?![\w(])")
_FILE = re.compile(r"[\w-]+\.(?:parquet|ya?ml|py|pyc|toml|ipynb)\b", re.IGNORECASE)
_REPR = re.compile(
    r"\{'|\['|\('|Decimal\(|datetime\.\w+\(|<\w+ object at|object at 0x|Traceback"
    r"|(?<![\w-])(?:None|True|False)(?![\w-])(?!\s+[a-z])"  # not "None of …" in English
)
_PATH = re.compile(r"(?:/work/|/home/|/tmp/|/usr/|site-packages|\.venv\b|src/utfall)")

_DECIMAL_POINT = re.compile(r"(?<![\w.,])\d+(?:\.\d+)+(?![\w]|\.\d)")
_COMMA_GROUPS = re.compile(r"(?<![\w.,])[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?(?![\d,])")
_LONG_DIGITS = re.compile(r"(?<![\w.,:/\u2212+-])\d{5,}(?![\w]|[-/]\d)")
_DECIMAL_COMMA = re.compile(r"(?<![\w.,])\d+,\d{1,2}(?![\d,])")
_SPACE_GROUPS = re.compile(r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d,.])")


def _snippet(text: str, start: int, end: int) -> str:
    left = max(0, start - 30)
    return ("…" if left else "") + text[left : end + 30] + ("…" if end + 30 < len(text) else "")


def findings(
    lines: Iterable[Line],
    language: str,
    english: set[str],
    usernames: Iterable[str] = (),
) -> Iterator[tuple[str, str]]:
    """(kind, snippet) for everything on the page a reader of ``language`` should not see.

    ``usernames`` are taken out of the text first: a username is what its owner chose
    (the demo's are role names such as ``commissioner`` and ``fund_admin``). An English
    word is reported once per line (the line says the rest)."""
    names = sorted(usernames, key=len, reverse=True)
    own = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w-])")
    lines = list(lines)
    if language == "sv":
        # One search per string over the whole page, then the lines that hold it.
        page = "\n".join(line.text for line in lines)
        for string in sorted(english - ALLOWED_ENGLISH):
            if string in page:
                text = next(line.text for line in lines if string in line.text)
                at = text.find(string)
                yield "English string", _snippet(text, at, at + len(string))
    previous = ""
    for line in lines:
        after_version, previous = bool(re.search("version", previous, re.I)), line.text
        text = own.sub("·", line.text) if names else line.text
        scrubbed = _UPLOADED_FILE.sub(" ", _EMAIL_OR_URL.sub(" ", text))
        if language == "sv":
            prose = scrubbed
            for allowed in sorted(ALLOWED_ENGLISH, key=len, reverse=True):
                prose = prose.replace(allowed, "·")
            for match in _ENGLISH.finditer(prose):
                yield "English word", _snippet(prose, *match.span())
                break
        for kind, pattern in (
            ("identifier", _SNAKE),
            ("event name", _DOTTED),
            ("file name", _FILE),
            ("Python repr", _REPR),
            ("server path", _PATH),
        ):
            for match in pattern.finditer(scrubbed):
                if kind == "event name" and _FILE.fullmatch(match.group(0)):
                    continue  # reported as a file name
                if match.group(0) not in ALLOWED_IDENTIFIERS:
                    yield kind, _snippet(scrubbed, *match.span())
        if line.code:
            continue
        # A contract document's own version ("1.0") under its heading is not a decimal.
        yield from _number_findings(scrubbed, language, after_version)


def _number_findings(
    text: str, language: str, after_version: bool = False
) -> Iterator[tuple[str, str]]:
    checks: tuple[tuple[str, re.Pattern[str]], ...]
    if language == "sv":
        checks = (
            ("decimal point", _DECIMAL_POINT),
            ("comma grouping", _COMMA_GROUPS),
            ("ungrouped digits", _LONG_DIGITS),
        )
    else:
        checks = (("decimal comma", _DECIMAL_COMMA), ("space grouping", _SPACE_GROUPS))
    for kind, pattern in checks:
        for match in pattern.finditer(text):
            figure = match.group(0)
            if figure in ALLOWED_NUMBERS:
                continue
            if (
                kind == "decimal point"
                and (
                    figure.count(".") >= 2  # a version, an IP address or a dotted date
                    or after_version
                    or re.search(r"(?:v|version|§)\s*$", text[: match.start()], re.IGNORECASE)
                    or re.match(r"\d+ \($", text[: match.start()])  # "1 (1.0)": number (version)
                )
            ):
                continue
            yield kind, _snippet(text, *match.span())


# --- the crawl -------------------------------------------------------------------------


@dataclass
class Page:
    """A page the crawl read: its URL, status, and what the checks found on it."""

    url: str
    status: int
    problems: list[tuple[str, str]] = field(default_factory=list)


def _pattern(path: str, query: str) -> str | None:
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return None
    keys = ",".join(sorted({key for key, _ in parse_qsl(query)}))
    return f"{match.route}?{keys}"


def _internal(href: str, base: str) -> str | None:
    href = href.strip()
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
        return None
    parts = urlsplit(urljoin(base, href))
    if parts.scheme not in {"http", "https"} or parts.netloc != "testserver":
        return None
    if parts.path.startswith(SKIP_PREFIXES) or parts.path.endswith(SKIP_SUFFIXES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(
    client,
    language: str,
    english: set[str],
    usernames: Iterable[str] = (),
    per_pattern_cap: int = PER_PATTERN,
) -> list[Page]:
    """Every page reachable by GET links from ``/`` as ``client``'s user, checked."""
    seen: set[str] = set()
    per_pattern: dict[str, int] = defaultdict(int)
    queue = ["/"]
    pages: list[Page] = []
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        path, _, query = url.partition("?")
        pattern = _pattern(path, query) or url
        if per_pattern[pattern] >= per_pattern_cap:
            continue
        per_pattern[pattern] += 1
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        page = Page(url, response.status_code)
        pages.append(page)
        if response.status_code in (301, 302, 303, 307, 308):
            target = _internal(response["Location"], f"http://testserver{path}")
            if target:
                queue.append(target)
            continue
        content_type = response.get("Content-Type", "")
        if not content_type.startswith("text/html"):
            continue
        if response.status_code >= 400:
            page.problems.append(("status", f"{response.status_code} {url}"))
        html = response.content.decode(response.charset or "utf-8", errors="replace")
        lines, links = parse(html)
        page.problems.extend(findings(lines, language, english, usernames))
        for href in links:
            target = _internal(href, f"http://testserver{path}")
            if target and target not in seen:
                queue.append(target)
    return pages


def report(pages: list[Page], heading: str) -> str:
    """The failure message: problems grouped by page, at most :data:`PER_PAGE` each."""
    out = [heading]
    for page in pages:
        if not page.problems:
            continue
        unique = list(dict.fromkeys(page.problems))
        out.append(f"  {page.url}  ({len(unique)} problems)")
        for kind, snippet in unique[:PER_PAGE]:
            out.append(f"      {kind:<18} {snippet}")
        if len(unique) > PER_PAGE:
            out.append(f"      … and {len(unique) - PER_PAGE} more")
    return "\n".join(out)
