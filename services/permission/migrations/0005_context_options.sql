-- What a sales channel offers a storefront context, by id: its languages,
-- currencies, countries, payment and shipping methods (Shopware's
-- sales_channel_language, sales_channel_currency and friends). The shop in
-- front owns their names and details; actas keeps the ids so that a context
-- holds only what its sales channel offers. One of each kind may be the
-- channel's default.
CREATE TABLE sales_channel_option (
    sales_channel_id  TEXT NOT NULL REFERENCES sales_channel (id),
    kind              TEXT NOT NULL CHECK (kind IN ('language', 'currency', 'country', 'payment_method', 'shipping_method')),
    option_id         TEXT NOT NULL,
    is_default        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (sales_channel_id, kind, option_id)
);
