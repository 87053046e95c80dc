-- The amount and currency of transfer events, beside their type and accounts, so that a
-- subscription's amount and currency filter is applied in the events query (the dispatcher
-- then reads only the records that can match). Transfers: amount_effective when money moved,
-- else the amount asked (as the filters compare); NULL for every other record.
ALTER TABLE events ADD COLUMN amount bigint, ADD COLUMN currency char(3);

UPDATE events e
   SET amount = CASE WHEN t.amount_effective > 0 THEN t.amount_effective ELSE t.amount END,
       currency = t.currency
  FROM transfers t
 WHERE t.ts = e.ts;
