select order_id, customer_id, cast(ordered_at as date) as ordered_at, cast(amount as decimal(10, 2)) as amount
from (
    values
        (1, 1, '2026-01-03', 120.00),
        (2, 1, '2026-01-17', 35.50),
        (3, 2, '2026-02-01', 99.90),
        (4, 3, '2026-02-11', 12.00),
        (5, 3, '2026-03-05', 250.00)
) as raw_orders (order_id, customer_id, ordered_at, amount)
