-- A pass by its code (GET /passes/{code}), with the same columns as the check-in's answer.
select code as "code!", reservation_status as "reservation_status!: Status", admitted_at,
       false as "admitted_now!", now() >= starts_at - make_interval(mins => $2) and now() < ends_at as "open!",
       starts_at - make_interval(mins => $2) as "opens_at!", ends_at as "closes_at!",
       row_number as "row_number!", seat_number as "seat_number!",
       screening_id as "screening_id!", starts_at as "starts_at!",
       film_id as "film_id!", film_title as "film_title!", hall_id as "hall_id!", hall_name as "hall_name!"
from pass_details where code = $1
