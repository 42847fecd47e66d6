select * from (values
    (1, 'ada', 10.0),
    (2, 'ada', 5.5),
    (3, 'grace', 7.25),
    (4, 'linus', 1.0),
    (5, 'grace', 2.75)
) as orders(order_id, customer, amount)
union all
-- enough rows that DuckLake writes Parquet files instead of inlining them in its metadata
select 100 + i, 'bulk', 1.0 from range(1000) as r(i)
