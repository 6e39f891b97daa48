"""AddIndexOnline builds an index without stopping writes: CONCURRENTLY on PostgreSQL (outside a
transaction), a plain index elsewhere; and takes it away again."""

import pytest
from django.db import connection, models, transaction
from django.db.migrations.loader import MigrationLoader

from vpnbot.core.migration_ops import AddIndexOnline

NAME = "test_online_idx"


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "shop_order"))


@pytest.mark.django_db(transaction=True)
def test_an_online_index_is_built_concurrently_on_postgresql_and_dropped_again():
    state = MigrationLoader(connection).project_state()
    operation = AddIndexOnline("order", models.Index(fields=["plan", "paid_at"], name=NAME))
    after = state.clone()
    operation.state_forwards("shop", after)
    statements: list[str] = []

    def spy(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        with connection.schema_editor(atomic=False) as editor:
            operation.database_forwards("shop", editor, state, after)
    assert NAME in _indexes()
    creates = [sql for sql in statements if NAME in sql]
    assert creates and all(("CONCURRENTLY" in sql) == (connection.vendor == "postgresql") for sql in creates)
    with connection.schema_editor(atomic=False) as editor:
        operation.database_backwards("shop", editor, after, state)
    assert NAME not in _indexes()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL builds concurrently")
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_on_postgresql_it_refuses_rather_than_fail_halfway():
    state = MigrationLoader(connection).project_state()
    operation = AddIndexOnline("order", models.Index(fields=["plan", "paid_at"], name=NAME))
    after = state.clone()
    operation.state_forwards("shop", after)
    with pytest.raises(ValueError, match="atomic = False"), transaction.atomic():
        with connection.schema_editor(atomic=False) as editor:
            operation.database_forwards("shop", editor, state, after)
    assert NAME not in _indexes()
