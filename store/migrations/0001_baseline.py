"""The schema of trident-scim 0.1.0, as Pony created it (one statement list per backend in
sql/0001_baseline.<backend>.sql). A 0.1.0 database is adopted: this is recorded, not run."""

from yoyo import step

from store.migrate import sql_step

steps = [step(sql_step("0001_baseline"))]
