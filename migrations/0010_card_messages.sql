-- The merchant of each card message (ISO 8583 DE18, DE43, DE19/DE43 country, the channel from
-- DE22/DE25), written by the journal writer in the transaction of the message's first transfer
-- (same ts). Not ledger state: recovery does not read it; the event feed and webhook filters
-- (mccs, channel) do. Text is printable ASCII, trimmed.
CREATE TABLE card_messages (
  ts bigint PRIMARY KEY,                 -- the transfer's timestamp
  transfer_id uuid NOT NULL,
  mcc smallint NOT NULL,                 -- 0: not sent
  merchant_name text NOT NULL,
  merchant_city text NOT NULL,
  country text NOT NULL,                 -- alpha-2 from DE43, or DE19 numeric; "" when unknown
  channel smallint NOT NULL              -- 0 unknown, 1 card present, 2 online, 3 ATM, 4 contactless
);
