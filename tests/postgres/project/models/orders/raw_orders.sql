select * from (values
    (1, 'alice', 12.50),
    (2, 'bob', 7.25),
    (3, 'alice', 30.00)
) as t(order_id, customer, amount)
