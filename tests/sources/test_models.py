import datetime

import pytest

from sources.models import DatePrecision, Source, Sourced
from tests.factories import FACTORIES, SourceFactory
from tests.integrity import assert_refused

pytestmark = pytest.mark.django_db

BLANK = "This field cannot be blank."


def test_source_with_neither_url_nor_archive_copy_is_refused():
    source = SourceFactory.build(url="", archive_copy="")
    assert_refused(
        source,
        message="A source needs a URL or an archived copy, so",
        constraint="source_url_or_archive_copy",
    )


def test_source_with_only_an_archive_copy_is_accepted():
    source = SourceFactory.build(url="", archive_copy="reuters-2022-06-16.txt")
    source.full_clean()
    source.save()


def test_source_without_title_is_refused():
    assert_refused(
        SourceFactory.build(title=""), message=BLANK, constraint="source_title_not_empty"
    )


def test_source_without_publisher_is_refused():
    assert_refused(
        SourceFactory.build(publisher=""), message=BLANK, constraint="source_publisher_not_empty"
    )


def test_source_key_is_unique():
    SourceFactory(key="reuters-2022-06-16")
    assert_refused(
        SourceFactory.build(key="reuters-2022-06-16"),
        message="Source with this Key already exists.",
    )


@pytest.mark.parametrize(
    ("published_on", "precision", "shown"),
    [
        (datetime.date(2022, 6, 16), DatePrecision.DAY, "16 June 2022"),
        (datetime.date(2022, 6, 1), DatePrecision.MONTH, "June 2022"),
        (datetime.date(2022, 1, 1), DatePrecision.YEAR, "2022"),
        (None, DatePrecision.DAY, "date not known"),
    ],
)
def test_source_str_gives_the_date_only_as_precisely_as_the_source(published_on, precision, shown):
    source = Source(
        publisher="Reuters",
        title="Russia blocks Ukraine item",
        published_on=published_on,
        published_precision=precision,
    )
    assert str(source) == f"Reuters, “Russia blocks Ukraine item” ({shown})"


@pytest.mark.parametrize(
    "factory_class",
    [f for model, f in FACTORIES.items() if issubclass(model, Sourced)],
    ids=lambda f: f._meta.model.__name__,
)
def test_every_factory_built_fact_has_a_source(factory_class):
    record = factory_class()
    assert record.sources.count() == 1
