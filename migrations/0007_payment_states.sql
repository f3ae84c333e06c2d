-- The box office: a reservation is paid at the till or lapses unpaid. The new states are
-- added here, in a migration of their own, because PostgreSQL lets a transaction use an enum
-- value only after the transaction that added it has committed (0008 uses them).
alter type reservation_status add value 'paid' after 'active';
alter type reservation_status add value 'lapsed';

create type payment_method as enum ('cash', 'card');
