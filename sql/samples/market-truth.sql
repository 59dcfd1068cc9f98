-- Ground truth for profiles/own-schema.toml, run on the source (PostgreSQL) by scripts/stack-e2e-model.
-- One query per KPI, after a line "-- kpi: NAME", equal by construction to the profile's SQL:
--   * output columns: the group columns as text (null -> the profile's uncategorized, "(none)"), then one
--     column per aggregate in the profile's order; count and sum as numbers; avg(e) as the text
--     'sum(e)/count(e)', which the script divides exactly and rounds half away from zero to 9 places;
--   * `real` and `double precision` columns read as Debezium sends them (a JSON number with
--     PostgreSQL's shortest text): col::text::numeric, so all arithmetic is exact numeric;
--   * shipment is the partitioned table: querying the parent reads every partition.

-- kpi: transactions
select count(*) from sale where status <> 'cancelled';

-- kpi: revenue
select sum(qty * unit_price * (1 - discount::text::numeric)) from sale where status <> 'cancelled';

-- kpi: category_sales
select coalesce(d.dept_name::text, '(none)'), sum(s.qty * s.unit_price * (1 - s.discount::text::numeric))
from sale s
join item i on i.sku = s.sku
join subcategory c on c.subcat_id = i.subcat_id
join department d on d.dept_id = c.dept_id
where s.status <> 'cancelled'
group by d.dept_name;

-- kpi: region_sales
select coalesce(r.region_name::text, '(none)'), count(*), sum(s.qty * s.unit_price)
from sale s
join store_region sr on sr.store_id = s.store_id
join region r on r.region_id = sr.region_id
where s.status <> 'cancelled'
group by r.region_name;

-- kpi: subcategory_units
select coalesce(d.dept_name::text, '(none)'), coalesce(c.subcat_name::text, '(none)'), sum(s.qty)
from sale s
join item i on i.sku = s.sku
join subcategory c on c.subcat_id = i.subcat_id
join department d on d.dept_id = c.dept_id
where s.status <> 'cancelled'
group by d.dept_name, c.subcat_name;

-- kpi: shipped_weight
select sum(ship_weight_kg::text::numeric), count(ship_weight_kg) from sale where status in ('paid', 'shipped');

-- kpi: basket_mix
select sum(case when qty >= 5 then qty * unit_price else 0 end),
       sum(qty * unit_price - coalesce(coupon, 0)),
       count(gift_note)
from sale
where not (status = 'cancelled') and (coupon is null or coupon < 20);

-- kpi: premium_items
select count(*), sum(s.qty)
from sale s
join item i on i.sku = s.sku
where i.list_price >= 100 and s.status <> 'cancelled';

-- kpi: status_mix
select coalesce(status::text, '(none)'), count(*), sum(qty),
       sum(unit_price)::text || '/' || count(unit_price)::text
from sale
group by status;

-- kpi: shipments_by_carrier
select coalesce(c.carrier_name::text, '(none)'), count(*),
       sum(s.cost + 0.25 * s.distance_km::text::numeric),
       sum(s.distance_km::text::numeric)::text || '/' || count(s.distance_km)::text
from shipment s
left join carrier c on c.carrier_code = s.carrier_code
group by c.carrier_name;
