-- Ground truth for profiles/northwind.toml, run on the source (PostgreSQL) by scripts/stack-e2e-model.
-- One query per KPI, after a line "-- kpi: NAME", equal by construction to the profile's SQL:
--   * output columns: the group columns as text (null -> the profile's uncategorized, "(none)"), then one
--     column per aggregate in the profile's order; count and sum as numbers; avg(e) as the text
--     'sum(e)/count(e)', which the script divides exactly and rounds half away from zero to 9 places;
--   * `real` columns read as Debezium sends them (a JSON number with PostgreSQL's shortest text):
--     col::text::numeric, so all arithmetic is exact numeric.

-- kpi: transactions
select count(*) from orders;

-- kpi: revenue
select sum(d.unit_price::text::numeric * d.quantity * (1 - d.discount::text::numeric)) from order_details d;

-- kpi: category_sales
select coalesce(c.category_name::text, '(none)'),
       sum(d.unit_price::text::numeric * d.quantity * (1 - d.discount::text::numeric))
from order_details d
join products p on p.product_id = d.product_id
join categories c on c.category_id = p.category_id
group by c.category_name;

-- kpi: units
select sum(quantity) from order_details;

-- kpi: discounted_lines
select coalesce(c.category_name::text, '(none)'), count(*), sum(d.quantity)
from order_details d
join products p on p.product_id = d.product_id
join categories c on c.category_id = p.category_id
where d.discount::text::numeric > 0
group by c.category_name;

-- kpi: discontinued_sales
select sum(d.unit_price::text::numeric * d.quantity)
from order_details d
join products p on p.product_id = d.product_id
where p.discontinued = 1;

-- kpi: orders_by_country
select coalesce(ship_country::text, '(none)'), count(*),
       sum(freight::text::numeric)::text || '/' || count(freight)::text
from orders
group by ship_country;

-- kpi: freight_by_shipper
select coalesce(s.company_name::text, '(none)'), count(*), sum(o.freight::text::numeric),
       sum(o.freight::text::numeric)::text || '/' || count(o.freight)::text
from orders o
left join shippers s on s.shipper_id = o.ship_via
group by s.company_name;

-- kpi: open_orders
select count(*) from orders where shipped_date is null;
