-- Selling online: a reservation paid by card through the payment provider. A value of its own
-- migration: a new enum value cannot be used in the transaction that adds it.
alter type payment_method add value 'online';
