"""The charts' data for templates: `{% chart_drawing chart as g %}` and
`{% spark days as s %}` (see `dashboard.incidents.drawing`; the markup is the templates')."""

from __future__ import annotations

from django import template

from dashboard.incidents.drawing import Drawing, Spark
from dashboard.incidents.drawing import chart_drawing as draw
from dashboard.incidents.drawing import spark as spark_of

register = template.Library()


@register.simple_tag(takes_context=True)
def chart_drawing(context, chart) -> Drawing:
    """On a domain's page (`domain` in the context) the links stay on that domain; editors get
    'Restore', leads the audit entry."""
    return draw(
        chart,
        domain=context.get("domain"),
        can_edit=bool(context.get("can_edit")),
        user_is_lead=bool(context.get("user_is_lead")),
    )


@register.simple_tag
def spark(days: list | None) -> Spark:
    return spark_of(days)
