select customer_id, name, country
from (
    values
        (1, 'Alice', 'DE'),
        (2, 'Bob', 'FR'),
        (3, 'Chandra', 'IN'),
        (4, 'Dana', 'US')
) as raw_customers (customer_id, name, country)
