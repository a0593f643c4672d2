"""One assertion for every database constraint test: the rule holds in Python and in SQL."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction


def assert_refused(record: models.Model, *, message: str, constraint: str | None = None) -> None:
    """`record` breaks a rule, and nothing lets it in.

    `full_clean()` raises a ValidationError containing `message`; saving anyway raises an
    IntegrityError from the database (inside `transaction.atomic()`, so the test's transaction
    stays usable), naming `constraint` where PostgreSQL reports it; the table is unchanged.
    """
    model = type(record)
    manager = model._default_manager
    before = list(manager.order_by("pk").values())

    with pytest.raises(ValidationError) as invalid:
        record.full_clean()
    assert any(message in text for text in invalid.value.messages), invalid.value.messages

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        record.save()
    if constraint and connection.vendor == "postgresql":
        assert constraint in str(refused.value)

    assert manager.count() == len(before)
    assert list(manager.order_by("pk").values()) == before
