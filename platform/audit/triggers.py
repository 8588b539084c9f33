"""Database-level append-only guards for the audit tables (SQLite and PostgreSQL).

They stop an application bug or a casual UPDATE from rewriting history; a determined database
administrator can drop them, which is why the log is also a signed Merkle tree.
"""

from __future__ import annotations

PROTECTED_TABLES = ("audit_auditevent", "audit_auditcheckpoint")


def create_statements(vendor: str) -> list[str]:
    if vendor == "sqlite":
        statements = []
        for table in PROTECTED_TABLES:
            for op in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
                )
        return statements
    if vendor == "postgresql":
        statements = [
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql;"
        ]
        for table in PROTECTED_TABLES:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only();",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();",
            ]
        return statements
    raise NotImplementedError(f"no append-only triggers for the {vendor} backend")


def drop_statements(vendor: str) -> list[str]:
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_{op}"
            for table in PROTECTED_TABLES
            for op in ("update", "delete")
        ]
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_{name} ON {table};"
            for table in PROTECTED_TABLES
            for name in ("append_only", "no_truncate")
        ]
    raise NotImplementedError(f"no append-only triggers for the {vendor} backend")


def install(connection) -> None:
    with connection.cursor() as cursor:
        for sql in create_statements(connection.vendor):
            cursor.execute(sql)


def remove(connection) -> None:
    with connection.cursor() as cursor:
        for sql in drop_statements(connection.vendor):
            cursor.execute(sql)
