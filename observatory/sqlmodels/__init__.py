"""SQL models: one SELECT per `.sql` file in `dbt_like_sql/`, run on polars' SQL engine."""
