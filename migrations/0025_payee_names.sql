-- Verification of Payee (docs/payee-verification.md): the name of the holder of each account
-- with an IBAN, as the back office records it (PUT /v1/accounts/{id}/holder-name). Another
-- bank's name check compares the name its customer typed with it; the name itself is answered
-- only on a close match. NULL: none recorded (the check answers not_possible).
ALTER TABLE account_ibans ADD COLUMN holder_name text
  CHECK (holder_name IS NULL OR (length(holder_name) BETWEEN 1 AND 140));
