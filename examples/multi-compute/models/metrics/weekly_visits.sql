select date_trunc('week', day) as week, sum(visits) as visits
from {{ ref('daily_visits') }}
group by 1
