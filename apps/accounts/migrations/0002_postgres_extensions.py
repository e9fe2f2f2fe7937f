"""PostgreSQL extensions live in `public`, created by this shared app's migration.

Created from a tenant app's migration, an extension would land in the first tenant's
schema, and dropping that tenant would silently drop every other tenant's exclusion
constraints. Tenant schemas reach these through their `search_path` (tenant, public).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;"
            "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
