-- A card shows and keeps at most the first six digits of its number (PCI DSS), with the last
-- four. Cards issued by earlier versions kept eight leading digits of 16-digit and longer
-- numbers; those are cut to six here, in the current state and in the card history alike.
-- (Numbers shorter than 16 digits now keep fewer leading digits; earlier ones keep their six:
-- their length was never stored.)
UPDATE cards SET bin = left(bin, 6) WHERE length(bin) > 6;
UPDATE card_events SET bin = left(bin, 6) WHERE length(bin) > 6;
