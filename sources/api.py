"""The sources API: the public documents every fact rests on, looked up by their key."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from kp_tracker.api_common import ApiFilterSet, CleanModelSerializer, Conflict, YearFilter
from kp_tracker.api_views import ApiModelViewSet
from sources.models import Source


class SourceSerializer(CleanModelSerializer):
    published_display = serializers.CharField(
        read_only=True, help_text="The publication date as precisely as it is known."
    )

    class Meta:
        model = Source
        fields = [
            "key",
            "publisher",
            "title",
            "kind",
            "published_on",
            "published_precision",
            "published_display",
            "url",
            "archive_copy",
            "note",
        ]


class SourceFilter(ApiFilterSet):
    kind = django_filters.ChoiceFilter(choices=Source.Kind.choices)
    year = YearFilter(field_name="published_on", lookup_expr="year")
    publisher = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Source
        fields = ["kind", "year", "publisher"]


@extend_schema_view(
    list=extend_schema(summary="Sources", tags=["sources"]),
    retrieve=extend_schema(summary="A source, by key", tags=["sources"]),
    create=extend_schema(summary="Add a source", tags=["sources"]),
    update=extend_schema(summary="Replace a source", tags=["sources"]),
    partial_update=extend_schema(summary="Change a source", tags=["sources"]),
    destroy=extend_schema(
        summary="Delete a source",
        description="Refused with 409 while any record cites it: facts keep their sources.",
        tags=["sources"],
    ),
)
class SourceViewSet(ApiModelViewSet):
    queryset = Source.objects.all()
    serializer_class = SourceSerializer
    lookup_field = "key"
    filterset_class = SourceFilter

    def perform_destroy(self, instance: Source) -> None:
        # Deleting a source would silently unlink it from every fact it supports (the links are
        # many-to-many, so nothing PROTECTs them): refuse while anything cites it.
        citing = sorted(
            str(relation.related_model._meta.verbose_name_plural)
            for relation in Source._meta.related_objects
            if getattr(instance, relation.get_accessor_name()).exists()
        )
        if citing:
            raise Conflict(f"Records cite this source ({', '.join(citing)}); unlink them first.")
        instance.delete()

    ordering_fields = ["published_on", "publisher", "key"]


routes = [("sources", SourceViewSet, "source")]
