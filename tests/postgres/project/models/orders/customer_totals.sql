select customer, count(*) as orders, sum(amount) as total
from {{ ref('raw_orders') }}
group by customer
