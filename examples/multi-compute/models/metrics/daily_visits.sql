-- Runs on DuckDB (compute lake, the default): range() and date arithmetic are DuckDB SQL.
select
    date '2026-01-01' + cast(i as integer) as day,
    (i * 7) % 11 + 1 as visits
from range(0, 14) as t(i)
