"""Optimistic locking: a record saved from an older revision than the database holds is refused.

Every record model carries `lock_version`, raised by one on each save. The save is a conditional
``UPDATE ... SET lock_version = N + 1 WHERE id = ... AND lock_version = N``: if another writer
saved in between, no row matches and `RecordChanged` is raised instead of overwriting their work.
This holds for every path that saves a model instance (admin, API, services, shell); queryset
``update()`` and the bulk helpers are the writer's own responsibility (the services that use
them lock the rows first).

Plumbing only, no domain rules: the admin's side (hidden revision, the diff shown on a
conflict) is in `kp_tracker/admin_locking.py`.
"""

from __future__ import annotations

from django.db import models


class RecordChanged(Exception):
    """The row was saved by someone else since this instance was read."""

    def __init__(self, instance: models.Model, current_version: int):
        self.instance = instance
        self.current_version = current_version
        super().__init__(
            f"{instance._meta.verbose_name} {instance.pk} was changed meanwhile: revision "
            f"{instance.lock_version} was read, the database holds revision {current_version}."
        )


class Versioned(models.Model):
    """Abstract base: a revision number checked and raised by every save of an instance."""

    lock_version = models.PositiveIntegerField(
        "revision",
        default=1,
        editable=False,
        help_text="Raised by one on every save; a save from an older revision is refused.",
    )

    class Meta:
        abstract = True

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update, *args):
        field = self._meta.get_field("lock_version")
        expected = self.lock_version
        values = [value for value in values if value[0] is not field]
        values.append((field, None, expected + 1))
        updated = super()._do_update(
            base_qs.filter(lock_version=expected),
            using,
            pk_val,
            values,
            update_fields,
            forced_update,
            *args,
        )
        if updated:
            self.lock_version = expected + 1
            return updated
        current = base_qs.filter(pk=pk_val).values_list("lock_version", flat=True).first()
        if current is not None:
            raise RecordChanged(self, current)
        return updated  # no such row: Django inserts it, as for any model
