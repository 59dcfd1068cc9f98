-- Ground truth for profiles/sakila.toml, run on the source (MariaDB) by scripts/stack-e2e-model.
-- One query per KPI, after a line "-- kpi: NAME", equal by construction to the profile's SQL:
--   * output columns: the group columns as text (null -> the profile's uncategorized, "(no category)"),
--     then one column per aggregate in the profile's order; count and sum as numbers; avg(e) as the text
--     'sum(e)/count(e)' (MariaDB's own AVG keeps only 4 more decimals), which the script divides exactly
--     and rounds half away from zero to 9 places. DECIMAL columns are exact as they are.

-- kpi: transactions
select count(*) from payment;

-- kpi: revenue
select sum(amount) from payment;

-- kpi: category_sales
select coalesce(cast(c.name as char), '(no category)'), sum(p.amount)
from payment p
join rental r on r.rental_id = p.rental_id
join inventory i on i.inventory_id = r.inventory_id
join film_category fc on fc.film_id = i.film_id
join category c on c.category_id = fc.category_id
group by c.name;

-- kpi: store_revenue
select coalesce(cast(i.store_id as char), '(no category)'), count(*), sum(p.amount),
       concat(sum(p.amount), '/', count(p.amount))
from payment p
join rental r on r.rental_id = p.rental_id
join inventory i on i.inventory_id = r.inventory_id
group by i.store_id;

-- kpi: rentals_by_category
select coalesce(cast(c.name as char), '(no category)'), count(*)
from rental r
join inventory i on i.inventory_id = r.inventory_id
join film_category fc on fc.film_id = i.film_id
join category c on c.category_id = fc.category_id
group by c.name;

-- kpi: open_rentals
select count(*) from rental where return_date is null;

-- kpi: payments_without_rental
select count(*), sum(amount) from payment where rental_id is null;

-- kpi: big_payments
select sum(case when amount >= 5 then amount else 0 end), count(*)
from payment
where staff_id in (1, 2);

-- kpi: catalogue
select coalesce(cast(rental_rate as char), '(no category)'), count(*) from film group by rental_rate;
