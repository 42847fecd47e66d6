select order_id, customer_id, cast(amount as decimal(10, 2)) as amount
from (values (1, 1, 120.00), (2, 1, 35.50), (3, 2, 99.90), (4, 3, 12.00)) as t (order_id, customer_id, amount)
