-- Runs on PostgreSQL (compute pg): generate_series and ::numeric are Postgres SQL.
select
    n as order_id,
    case when n % 3 = 0 then 'alice' when n % 3 = 1 then 'bob' else 'carol' end as customer,
    (n * 2.5)::numeric(10, 2) as amount
from generate_series(1, 12) as n
