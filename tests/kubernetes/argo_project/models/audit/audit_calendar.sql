-- independent of the other steps: runs beside the raw step
select cast(d as date) as day from range(date '2026-01-01', date '2026-01-08', interval 1 day) as t (d)
