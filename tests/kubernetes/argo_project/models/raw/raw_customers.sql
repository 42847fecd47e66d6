select customer_id, name
from (values (1, 'Alice'), (2, 'Bob'), (3, 'Chandra')) as t (customer_id, name)
