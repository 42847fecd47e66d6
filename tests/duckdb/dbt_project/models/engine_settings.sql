-- what DuckDB runs with under the generated profile, written as Parquet under external_root
{{ config(materialized='external') }}
select
    current_setting('memory_limit') as memory_limit,
    current_setting('threads') as threads,
    current_setting('preserve_insertion_order') as preserve_insertion_order,
    (select count(*) from {{ ref('numbers') }}) as numbers
