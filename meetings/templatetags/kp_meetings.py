"""Template tags of the meeting page: an agenda entry and the removal behind it.

A large meeting shows each of its agenda entries up to twice (the agenda as it ended, and its
version beside the one before) and each removal with them: some 250 fragments on the synthetic
record's biggest meeting. As `{% include %}`s they cost a third of the page's rendering; built
here with `format_html`, which escapes everything it interpolates, and kept on the entry after
the first use, they cost a tenth of that.
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from meetings.models import AgendaEntry
from sources.templatetags.kp_pages import cite, minutes, url_for

register = template.Library()


@register.simple_tag
def agenda_entry(entry: AgendaEntry) -> SafeString:
    """The entry's title (struck through when removed, else linked to the item), its status,
    time slot and note."""
    html = getattr(entry, "_entry_html", None)
    if html is None:
        item = entry.item
        if entry.status == AgendaEntry.Status.REMOVED:
            title = format_html("<del>{}</del>", item.title)
        else:
            title = format_html('<a href="#item-{}">{}</a>', item.pk, item.title)
        slot = (
            format_html(' <span class="slot">· time slot {}</span>', minutes(entry.slot))
            if entry.slot
            else ""
        )
        note = format_html('<p class="note">{}</p>', entry.note) if entry.note else ""
        html = entry._entry_html = format_html(
            '{}\n<span class="status status--{}">{}</span>{}\n{}\n',
            title,
            entry.status,
            entry.get_status_display(),
            slot,
            note,
        )
    return html


@register.simple_tag
def agenda_removal(entry: AgendaEntry) -> SafeString:
    """Who objected to a removed entry (with their letters), the decision that removed it and
    the letters behind that decision; `entry.decision` is set by `meetings.selectors`."""
    html = getattr(entry, "_removal_html", None)
    if html is None:
        html = entry._removal_html = _removal(entry.decision)
    return html


def _removal(decision) -> SafeString:
    if decision is None:
        return format_html(
            "<p><strong>Removed</strong>; the decision that removed it is recorded with another "
            "meeting.</p>\n"
        )
    objectors = ""
    if decision.objectors:
        objectors = format_html(
            " after objections by\n  {}",
            format_html_join(
                ", ",
                '<a href="{}">{}</a>{}{}',
                (
                    (
                        url_for("participants:detail", position.participant.code),
                        position.participant.name,
                        format_html(
                            ' (<a href="{}">letter</a>)',
                            url_for("proposals:letter_detail", position.letter.slug),
                        )
                        if position.letter
                        else "",
                        cite(position),
                    )
                    for position in decision.objectors
                ),
            ),
        )
    reported = ""
    if decision.reported_outcome != decision.outcome:
        reported = format_html(
            "; sources report it {}", decision.get_reported_outcome_display().lower()
        )
    letters = ""
    if decision.letter_list:
        letters = format_html(
            '\n  <p>Letters behind it:</p>\n  <ul class="compact">\n    {}\n  </ul>\n  ',
            format_html_join(
                "",
                '<li><a href="{}">{}</a> ({})</li>',
                (
                    (
                        url_for("proposals:letter_detail", letter.slug),
                        letter.subject,
                        letter.date_display,
                    )
                    for letter in decision.letter_list
                ),
            ),
        )
    return format_html(
        '\n<div class="removal">\n  <p><strong>Removed</strong>{}.</p>\n'
        '  <p>Decision: <a href="{}">{}</a> — {} under the KP consensus rule{}.</p>\n'
        "  {}\n</div>\n\n",
        objectors,
        url_for("proposals:decision_detail", decision.slug),
        decision.title,
        decision.get_outcome_display().lower(),
        reported,
        letters,
    )
