"""Template tags of the public pages: citation marks and safe external links.

Every tag here builds HTML with `format_html`, which escapes what it interpolates, so record text
passed through them is always escaped.
"""

from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def cite(obj) -> str:
    """Numbered links from a fact to the page's list of sources (see sources.pages.Citations)."""
    cites = getattr(obj, "cites", None)
    if not cites:
        return ""
    marks = format_html_join(
        ", ",
        '<a href="#source-{0}" aria-label="Source {0}: {1}">{0}</a>',
        ((number, str(source)) for number, source in cites),
    )
    return format_html('<sup class="cite">[{}]</sup>', marks)


@register.filter
def external_url(value: str) -> str:
    """The URL if it is an http(s) link, else "": a stored URL never becomes a javascript: link."""
    value = (value or "").strip()
    return value if value.lower().startswith(("https://", "http://")) else ""


@register.filter
def minutes(value) -> str:
    """A time slot: 60 -> "1 h", 90 -> "1 h 30 min", 45 -> "45 min"."""
    if not value:
        return ""
    hours, rest = divmod(int(value), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


@register.simple_tag
def date_range(start, end) -> str:
    """20–24 June 2022, 30 June – 2 July 2022, or one day."""
    if start is None:
        return "date not known"
    if end is None or end == start:
        return f"{start.day} {start:%B %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%B %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%B} – {end.day} {end:%B %Y}"
    return f"{start.day} {start:%B %Y} – {end.day} {end:%B %Y}"


@register.filter
def day(value) -> str:
    """A full date without a leading zero: 3 April 2024."""
    return f"{value.day} {value:%B %Y}" if value else ""


_PLACEHOLDER = "kpPagesArg{}"


@lru_cache(maxsize=512)
def _url_pieces(urlconf, prefix: str, name: str, count: int) -> tuple[str, ...]:
    """A named URL split around its arguments, reversed once per name (and URLconf)."""
    placeholders = [_PLACEHOLDER.format(i) for i in range(count)]
    url = reverse(name, args=placeholders, urlconf=urlconf)
    pieces = []
    for placeholder in placeholders:
        before, url = url.split(placeholder, 1)
        pieces.append(before)
    pieces.append(url)
    return tuple(pieces)


def url_for(name: str, *args, urlconf=None, prefix=None) -> str:
    """A named URL with its arguments (codes and slugs from the record) percent-encoded into
    the pattern reversed once per name: `{% href %}` for Python code building markup."""
    if prefix is None:
        urlconf, prefix = get_urlconf(), get_script_prefix()
    pieces = _url_pieces(urlconf, prefix, name, len(args))
    url = [pieces[0]]
    for arg, piece in zip(args, pieces[1:], strict=True):
        url += [quote(str(arg), safe=""), piece]
    return "".join(url)


# Where `{% href %}` keeps the URLconf and script prefix for the rest of a rendering.
_WHERE = "kp_pages.href.where"


@register.simple_tag(takes_context=True)
def href(context, name: str, *args) -> str:
    """`{% url %}` for the links a page repeats hundreds of times: the pattern is reversed once
    and each argument (a code or slug from the record) is percent-encoded into it. A meeting
    page of a large record has some 600 links; reversing each cost a third of its rendering.
    The URLconf and script prefix are read once per rendering (two thread-local lookups)."""
    where = context.render_context.get(_WHERE)
    if where is None:
        where = context.render_context[_WHERE] = (get_urlconf(), get_script_prefix())
    return url_for(name, *args, urlconf=where[0], prefix=where[1])


@register.simple_tag
def holders(participants, observers) -> str:
    """Participants and observers linked to their pages, "Angola, Botswana; WDC (observer)", or
    "Not on record": who sponsored a proposal or proposed an agenda item. Built in one pass:
    a meeting page lists a hundred such groups."""
    participants, observers = list(participants), list(observers)
    if not participants and not observers:
        return "Not on record"
    links = format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((url_for("participants:detail", p.code), p.name) for p in participants),
    )
    observer_links = format_html_join(
        ", ",
        '<a href="{}">{}</a> (observer)',
        ((url_for("participants:observer", o.code), o.name) for o in observers),
    )
    return format_html("{}{}{}", links, "; " if participants and observers else "", observer_links)


@register.filter
def number_cells(numbers, zero=None) -> str:
    """A table row's counts as `<td>` cells, zero shown as `zero` when given: a chart's table has
    some 700 cells, and a `{% for %}` over them cost as much as the rest of its page."""
    zero = None if zero is None else escape(zero)
    return mark_safe(  # integers, and the escaped `zero`
        "".join(f"<td>{zero if zero is not None and not n else int(n)}</td>" for n in numbers)
    )
