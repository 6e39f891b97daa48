"""Migration operations of the project's own.

AddIndexOnline: an index on a table that may hold millions of rows of a running shop (the
ledger, the orders) built without stopping writes to it: `CREATE INDEX CONCURRENTLY` on
PostgreSQL (the migration must say `atomic = False`), a plain `ADD INDEX` elsewhere (MariaDB's
InnoDB builds it online already; SQLite has no concurrent writers to stop). The migration's
state is AddIndex's, so `makemigrations` sees nothing to change."""

from django.db import migrations


class AddIndexOnline(migrations.AddIndex):
    def _concurrently(self, schema_editor) -> dict:
        if schema_editor.connection.vendor != "postgresql":
            return {}
        if schema_editor.connection.in_atomic_block:
            raise ValueError("AddIndexOnline needs a migration with atomic = False on PostgreSQL")
        return {"concurrently": True}

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, **self._concurrently(schema_editor))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, **self._concurrently(schema_editor))
