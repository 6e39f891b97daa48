from django.db import migrations


def unlogged(apps, schema_editor):
    """The recompute's scratch table needs no WAL on PostgreSQL (its rows live for one run)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE crm_profilestage SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE crm_profilestage SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [migrations.RunPython(unlogged, logged)]
