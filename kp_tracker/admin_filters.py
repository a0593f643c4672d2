"""Admin list filters shared by the apps' admins (display plumbing, no domain rules)."""

from django.contrib import admin
from django.db.models import QuerySet


def year_filter(field: str, title: str = "year") -> type[admin.SimpleListFilter]:
    """A sidebar filter on the year of `field`: a date field, a path to one, or an annotation
    that the admin's `get_queryset` adds. It offers only the years that have rows, newest first,
    at the cost of one query."""

    class YearFilter(admin.SimpleListFilter):
        parameter_name = f"{field.replace('__', '_')}_year"

        def lookups(self, request, model_admin):
            days = model_admin.get_queryset(request).dates(field, "year", order="DESC")
            return [(str(day.year), str(day.year)) for day in days]

        def queryset(self, request, queryset: QuerySet) -> QuerySet:
            value = self.value()
            if value and value.isdigit():
                return queryset.filter(**{f"{field}__year": int(value)})
            return queryset

    YearFilter.title = title
    YearFilter.__name__ = YearFilter.__qualname__ = f"YearFilter_{field}"
    return YearFilter
