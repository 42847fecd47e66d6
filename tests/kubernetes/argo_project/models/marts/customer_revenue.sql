select
    c.customer_id,
    c.name,
    count(o.order_id) as orders,
    coalesce(sum(o.amount), 0) as revenue
from {{ ref('raw_customers') }} as c
left join {{ ref('raw_orders') }} as o on o.customer_id = c.customer_id
group by c.customer_id, c.name
